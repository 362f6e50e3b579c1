// Reads the wasm heap and the peak of live tensor bytes, to see whether a training step fits in
// the 4 GiB a 32-bit wasm module can address.
import * as tf from '@tensorflow/tfjs-core';

/** A reading of tfjs memory. */
export interface WasmMemoryReading {
  /**
   * Size of the wasm module's linear memory in bytes, or undefined when the active backend is not
   * wasm. Wasm memory never shrinks, so this is the high-water mark since the backend started.
   */
  heapBytes: number | undefined;
  /** Bytes held by live tensors now (`tf.memory().numBytes`). */
  tensorBytes: number;
  /** Live tensors now. */
  numTensors: number;
}

/** What {@link measurePeakMemory} saw. */
export interface PeakMemory<T> extends WasmMemoryReading {
  result: T;
  /** The largest `tensorBytes` seen after any kernel while the work ran. */
  peakTensorBytes: number;
}

interface WasmBackendShape {
  wasm?: { HEAPU8?: Uint8Array };
}

/**
 * Reads the wasm heap size and the live tensor bytes of the active backend.
 *
 * @returns The reading; `heapBytes` is undefined on backends other than wasm.
 */
export function readWasmMemory(): WasmMemoryReading {
  const backend = tf.backend() as unknown as WasmBackendShape;
  const memory = tf.memory();
  return {
    heapBytes: backend.wasm?.HEAPU8?.buffer.byteLength,
    tensorBytes: memory.numBytes,
    numTensors: memory.numTensors,
  };
}

/**
 * Runs `work` and records the largest number of bytes held by live tensors after any kernel it
 * dispatched, and the wasm heap size at the end.
 *
 * @param work - The work to measure, sync or async.
 * @returns Its result with the peak tensor bytes and a memory reading taken at the end.
 */
export async function measurePeakMemory<T>(work: () => T | Promise<T>): Promise<PeakMemory<T>> {
  const engine = tf.engine();
  const original = engine.runKernel;
  let peakTensorBytes = tf.memory().numBytes;
  engine.runKernel = function (this: typeof engine, kernelName, inputs, attrs) {
    const out = original.call(this, kernelName, inputs, attrs);
    peakTensorBytes = Math.max(peakTensorBytes, engine.state.numBytes);
    return out;
  } as typeof engine.runKernel;
  let result: T;
  try {
    result = await work();
  } finally {
    engine.runKernel = original;
  }
  return { result, peakTensorBytes, ...readWasmMemory() };
}
