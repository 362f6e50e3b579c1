// Records which kernels a piece of tfjs work dispatches, to find what a backend must provide.
import * as tf from '@tensorflow/tfjs-core';

/** What {@link traceKernels} saw. */
export interface KernelTrace<T> {
  /** The value `work` returned (or resolved to). */
  result: T;
  /** Names of the kernels dispatched, sorted, each once. */
  kernels: string[];
  /** Those of `kernels` that are not registered for `backendName`. */
  missing: string[];
}

/**
 * Runs `work` and records every kernel it dispatches through the engine (forward ops, the
 * gradient functions of a backward pass, optimizer updates), then compares with a backend's
 * kernel registry. Run it on a backend that has all kernels (cpu) to list what another lacks.
 *
 * @param work - The work to trace, sync or async.
 * @param backendName - The backend whose registry the kernels are compared with.
 * @returns The result, the kernels seen and those `backendName` does not register.
 * @example
 * ```ts
 * const { missing } = await traceKernels(() => optimizer.minimize(loss), 'wasm');
 * ```
 */
export async function traceKernels<T>(
  work: () => T | Promise<T>,
  backendName = 'wasm',
): Promise<KernelTrace<T>> {
  const engine = tf.engine();
  const seen = new Set<string>();
  const original = engine.runKernel;
  engine.runKernel = function (this: typeof engine, kernelName, inputs, attrs) {
    seen.add(kernelName);
    return original.call(this, kernelName, inputs, attrs);
  } as typeof engine.runKernel;
  let result: T;
  try {
    result = await work();
  } finally {
    engine.runKernel = original;
  }
  const kernels = [...seen].sort();
  const missing = kernels.filter((name) => tf.getKernel(name, backendName) === undefined);
  return { result, kernels, missing };
}
