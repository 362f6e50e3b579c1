// X^T X split over worker threads in Node (the samples divided between threads, partial Gram
// matrices summed); elsewhere, or for small inputs, on the calling thread. Every thread runs the
// WebAssembly SIMD kernel (./native-linalg) when it can, else the TypeScript kernel of ./linalg.
import { createLogger } from '@lesionenc/base';

import { type Matrix, gramOfColumns, gramPanelKernel } from './linalg';
import {
  GRAM_WASM_BASE64,
  accumulateGramNative,
  gramOfColumnsNative,
  loadGramKernel,
} from './native-linalg';

const log = createLogger('lesionenc.ica');

/** Below this many multiply-adds a worker's start-up costs more than it saves. */
const PARALLEL_MIN_MACS = 2e9;

interface WorkerThreads {
  Worker: new (
    code: string,
    options: { eval: true; workerData: unknown },
  ) => {
    terminate(): Promise<number>;
    unref(): void;
    on(event: string, fn: (e: unknown) => void): void;
  };
}

interface NodeProcess {
  getBuiltinModule?: (name: string) => unknown;
}

function workerThreads(): WorkerThreads | undefined {
  const proc = (globalThis as { process?: NodeProcess }).process;
  try {
    return proc?.getBuiltinModule?.('node:worker_threads') as WorkerThreads | undefined;
  } catch {
    return undefined;
  }
}

/**
 * The number of threads a fit uses by default: the processors Node reports, else 1.
 *
 * @returns At least 1.
 */
export function defaultThreadCount(): number {
  const proc = (globalThis as { process?: NodeProcess }).process;
  try {
    const os = proc?.getBuiltinModule?.('node:os') as
      { availableParallelism?: () => number } | undefined;
    return Math.max(1, Math.min(8, os?.availableParallelism?.() ?? 1));
  } catch {
    return 1;
  }
}

/**
 * Allocates a matrix whose storage worker threads can share when parallel work is possible.
 *
 * @param rows - Row count.
 * @param cols - Column count.
 * @param threads - Threads that will read it.
 * @returns A zero matrix.
 */
export function sharedZeros(rows: number, cols: number, threads: number): Matrix {
  const shared =
    threads > 1 && typeof SharedArrayBuffer !== 'undefined' && workerThreads() !== undefined;
  const bytes = rows * cols * 8;
  return {
    rows,
    cols,
    data: new Float64Array(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes)),
  };
}

// The worker: with the module's base64 (`wasm`) it instantiates its own copy of the gram kernel
// and runs it over its share of the samples; without it, or should that fail, it packs its share
// into panels for the TypeScript kernel (the same function the main thread uses). Either way it
// leaves the upper triangle of its partial Gram matrix in `out`, notes in the flag's second
// slot whether the WebAssembly kernel did the work, and raises the first.
const WORKER_SOURCE = (kernel: string, native: string, panelSamples: number, prelude: string) => `
const { workerData } = require('node:worker_threads');
const failFlags = new Int32Array(workerData.flag);
try {
${prelude}
const kernel = (${kernel});
const accumulateNative = (${native});
const { data, out, flag, from, to, d, wasm, layout } = workerData;
const x = new Float64Array(data);
const c = new Float64Array(out);
let done = false;
if (wasm !== undefined) {
  try {
    const compiled = new WebAssembly.Module(Buffer.from(wasm, 'base64'));
    const instance = new WebAssembly.Instance(compiled, {});
    const gram = { exports: instance.exports, memory: instance.exports.memory };
    accumulateNative(gram, layout, x, from, to, c);
    done = true;
  } catch {
    c.fill(0);
  }
}
if (!done) {
  const kc = ${panelSamples};
  const panel = new Float64Array(d * kc);
  for (let s0 = from; s0 < to; s0 += kc) {
    const len = Math.min(kc, to - s0);
    for (let s = 0; s < len; s++) {
      const row = (s0 + s) * d;
      for (let f = 0; f < d; f++) panel[f * kc + s] = x[row + f];
    }
    kernel(panel, kc, len, d, c);
  }
}
const flags = new Int32Array(flag);
Atomics.store(flags, 1, done ? 1 : 0);
Atomics.store(flags, 0, 1);
Atomics.notify(flags, 0);
} catch {
  // Reported through the flag: the waiting thread cannot receive events while it waits.
  Atomics.store(failFlags, 0, 2);
  Atomics.notify(failFlags, 0);
}
`;

/**
 * `x^T x` for a row-major n x d matrix, on `threads` threads when `x` lives in shared memory
 * and the work is large enough; synchronous either way (the calling thread takes a share and
 * then waits for the others).
 *
 * @param x - n x d (from {@link sharedZeros} for parallel work).
 * @param threads - Threads to use, the calling one included.
 * @param minMacs - Work (multiply-adds) below which one thread is used.
 * @param testing - For tests only: code run first in each worker, and the wait before a
 *   worker's share is taken over (by default 20 times the calling thread's own share, at least
 *   a minute).
 * @returns d x d, symmetric.
 */
export function gramOfColumnsParallel(
  x: Matrix,
  threads: number,
  minMacs = PARALLEL_MIN_MACS,
  testing: { workerPrelude?: string; deadlineMs?: number } = {},
): Matrix {
  const n = x.rows;
  const d = x.cols;
  const wt = workerThreads();
  const shared = x.data.buffer instanceof SharedArrayBuffer;
  if (threads <= 1 || wt === undefined || !shared || (n * d * d) / 2 < minMacs) {
    return gramOfColumnsNative(x) ?? gramOfColumns(x);
  }
  const panelSamples = 128;
  const bounds = Array.from({ length: threads + 1 }, (_, t) => Math.round((t * n) / threads));
  // Workers get the kernel only when it runs here (so LESIONENC_WASM_KERNELS=off reaches them).
  const native = loadGramKernel(d, n);
  const source = WORKER_SOURCE(
    gramPanelKernel.toString(),
    accumulateGramNative.toString(),
    panelSamples,
    testing.workerPrelude ?? '',
  );
  const helpers = Array.from({ length: threads - 1 }, (_, t) => {
    const out = new SharedArrayBuffer(d * d * 8);
    const flag = new SharedArrayBuffer(8);
    const worker = new wt.Worker(source, {
      eval: true,
      workerData: {
        data: x.data.buffer,
        out,
        flag,
        from: bounds[t + 1],
        to: bounds[t + 2],
        d,
        wasm: native === undefined ? undefined : GRAM_WASM_BASE64,
        layout: native?.layout,
      },
    });
    // Failures reach the calling thread through the flag or the deadline below: it cannot
    // receive events while it waits. The listener keeps an error from being re-thrown.
    worker.on('error', () => {});
    return { worker, out, flag };
  });

  // The calling thread takes the first share (only the upper triangle counts until the end).
  const ownRows = bounds[1] as number;
  const ownStarted = performance.now();
  let own: Matrix;
  if (native === undefined) {
    own = gramOfColumns({ rows: ownRows, cols: d, data: x.data.subarray(0, ownRows * d) });
  } else {
    own = { rows: d, cols: d, data: new Float64Array(d * d) };
    accumulateGramNative(native.kernel, native.layout, x.data, 0, ownRows, own.data);
  }
  const c = own.data;
  // A worker has as much to do as this thread had: one that has not finished long after that
  // (or that reported a failure) is given up on, and its share is computed here instead, so a
  // worker that died can never leave the fit waiting.
  const deadline =
    performance.now() +
    (testing.deadlineMs ?? Math.max(60_000, 20 * (performance.now() - ownStarted)));
  helpers.forEach((helper, t) => {
    const flags = new Int32Array(helper.flag);
    while (Atomics.load(flags, 0) === 0 && performance.now() < deadline) {
      Atomics.wait(flags, 0, 0, Math.max(1, Math.min(1000, deadline - performance.now())));
    }
    if (Atomics.load(flags, 0) !== 1) {
      void helper.worker.terminate();
      log.warnOnce(
        'ica-gram-worker-failed',
        'parallel Gram matrix: a worker failed or stopped answering; its share was computed on ' +
          'the calling thread',
      );
      const from = bounds[t + 1] as number;
      const to = bounds[t + 2] as number;
      const part = gramOfColumns({
        rows: to - from,
        cols: d,
        data: x.data.subarray(from * d, to * d),
      }).data;
      for (let i = 0; i < d * d; i++) c[i] = (c[i] as number) + (part[i] as number);
      return;
    }
    if (native !== undefined && Atomics.load(flags, 1) !== 1) {
      log.warnOnce(
        'ica-gram-worker-fallback',
        'parallel Gram matrix: a worker could not run the WebAssembly kernel and used the ' +
          'slower TypeScript one',
      );
    }
    const part = new Float64Array(helper.out);
    // Workers fill the upper triangle only; mirror after summing.
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++)
        c[i * d + j] = (c[i * d + j] as number) + (part[i * d + j] as number);
    }
    helper.worker.unref();
    void helper.worker.terminate();
  });
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) c[i * d + j] = c[j * d + i] as number;
  }
  return own;
}
