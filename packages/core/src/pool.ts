// A pool of worker threads, each with its own tfjs backend and copy of the lesion U-Net, so the
// slices of a scan are encoded on every core (tfjs-wasm runs single-threaded under Node).
import { type ErrorCode, LesionEncError, createLogger, throwIfAborted } from '@lesionenc/base';
import type { EncodedSliceImages, LesionUnetConfig } from '@lesionenc/lesion-encoder';

import type { PoolRequest, PoolResponse, PoolWorkerData } from './internal/pool-protocol';

const log = createLogger('lesionenc.core.pool');

/** Chunks of slices each worker gets in a call, at least, for balance. */
const CHUNKS_PER_WORKER = 3;

/** Construction of {@link createLesionEncoderPool}. */
export interface LesionEncoderPoolConfig {
  /** Worker threads. @defaultValue the processors Node reports, at most 8 */
  workers?: number;
  /** Network configuration (a weights folder's own configuration wins). */
  unet?: Partial<LesionUnetConfig>;
  /** Folder with `weights.json` + `weights.bin`; the seeded initialisation when omitted. */
  weightsPath?: string;
  /** The backend each worker starts. @defaultValue `wasm` */
  backend?: 'wasm' | 'cpu';
}

/** Options of {@link LesionEncoderPool.encode}. */
export interface PoolEncodeOptions {
  outputSizePx: readonly [number, number];
  /** Slices per forward pass in a worker, and per message. */
  batchSize: number;
  /** Encoder only: features without lesion labels (zeros). @defaultValue false */
  featuresOnly?: boolean;
  signal?: AbortSignal;
  onSlices?: (done: number) => void;
}

/** Worker threads holding the lesion U-Net. Call `dispose()` when done: it stops the threads. */
export interface LesionEncoderPool {
  /** The network's configuration, as the workers built it. */
  readonly config: Readonly<LesionUnetConfig>;
  readonly featureSize: number;
  readonly workerCount: number;
  /**
   * Encodes slices prepared for the network (as `encodeSliceImages` takes them), spread over the
   * workers in batches. The result is the same as on one thread, in the same order.
   *
   * @throws {@link LesionEncError} `ABORTED` when the signal fires, `INTERNAL` when a worker
   * stopped, or the worker's own error.
   */
  encode(
    images: Float32Array,
    count: number,
    options: PoolEncodeOptions,
  ): Promise<EncodedSliceImages>;
  dispose(): Promise<void>;
}

interface WorkerLike {
  postMessage(message: PoolRequest, transfer?: ArrayBuffer[]): void;
  on(event: 'message', listener: (message: PoolResponse) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  on(event: 'exit', listener: (code: number) => void): void;
  terminate(): Promise<number>;
}

// The worker script sits beside the built module; from the sources (tests), in the package's dist.
async function workerScript(): Promise<string> {
  const { existsSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
  const extension = here.endsWith('.cjs') ? '.cjs' : '.js';
  const candidates = [
    join(dirname(here), `encode-worker${extension}`),
    join(dirname(here), '..', 'dist', 'encode-worker.js'),
  ];
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) {
    throw new LesionEncError(
      'BACKEND_UNAVAILABLE',
      `lesion encoder pool: expected the worker script at ${candidates.join(' or ')}, found none (build @lesionenc/core first)`,
    );
  }
  return found;
}

function defaultWorkers(os: {
  availableParallelism?: () => number;
  cpus: () => unknown[];
}): number {
  return Math.max(1, Math.min(8, os.availableParallelism?.() ?? os.cpus().length));
}

/**
 * Starts worker threads (Node only), each with its own backend and copy of the lesion U-Net, and
 * waits until every one has built its network.
 *
 * @param config - Worker count, network configuration and weights, backend.
 * @returns The pool.
 * @throws {@link LesionEncError} `BACKEND_UNAVAILABLE` outside Node or without the worker
 * script, `INVALID_ARGUMENT` for a bad worker count, or a worker's error while loading (for
 * example `MODEL_FORMAT` for weights that do not fit).
 * @example
 * ```ts
 * const pool = await createLesionEncoderPool({ unet: { inputSizePx: [256, 256] } });
 * const scan = await analyseScan(volume, { pool });
 * await pool.dispose();
 * ```
 */
export async function createLesionEncoderPool(
  config: LesionEncoderPoolConfig = {},
): Promise<LesionEncoderPool> {
  if (typeof process === 'undefined' || process.versions?.node === undefined) {
    throw new LesionEncError(
      'BACKEND_UNAVAILABLE',
      'lesion encoder pool: expected Node.js (worker threads), got another platform',
    );
  }
  const os = await import('node:os');
  const workerCount = config.workers ?? defaultWorkers(os);
  if (!Number.isInteger(workerCount) || workerCount < 1) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `lesion encoder pool workers: expected a positive integer, got ${config.workers}`,
    );
  }
  const { Worker } = await import('node:worker_threads');
  const script = await workerScript();
  const data: PoolWorkerData = {
    backend: config.backend ?? 'wasm',
    unet: config.unet ?? {},
    weightsPath: config.weightsPath ?? null,
  };

  const workers: WorkerLike[] = [];
  const handlers = new Map<WorkerLike, (message: PoolResponse) => void>();
  const failures = new Map<WorkerLike, (error: Error) => void>();
  let ready: { config: LesionUnetConfig; featureSize: number } | undefined;
  try {
    await Promise.all(
      Array.from({ length: workerCount }, () => {
        const worker = new Worker(script, {
          workerData: data,
          // The worker runs a file: flags for the parent's inline source must not reach it.
          execArgv: process.execArgv.filter((flag) => !flag.startsWith('--input-type')),
        }) as unknown as WorkerLike;
        workers.push(worker);
        return new Promise<void>((resolve, reject) => {
          handlers.set(worker, (message) => {
            if (message.type === 'ready') {
              ready = { config: message.config, featureSize: message.featureSize };
              resolve();
            } else if (message.type === 'error') {
              reject(new LesionEncError(message.code as ErrorCode, message.message));
            }
          });
          failures.set(worker, reject);
          worker.on('message', (message) => handlers.get(worker)?.(message));
          worker.on('error', (error) => failures.get(worker)?.(error));
          worker.on('exit', (code) =>
            failures.get(worker)?.(
              new LesionEncError(
                'INTERNAL',
                `lesion encoder worker: stopped with exit code ${code}`,
              ),
            ),
          );
        });
      }),
    );
  } catch (error) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw error;
  }
  log.info(`lesion encoder pool: ${workerCount} ${data.backend} workers`);

  let nextId = 0;
  let disposed = false;
  const encode = async (
    images: Float32Array,
    count: number,
    options: PoolEncodeOptions,
  ): Promise<EncodedSliceImages> => {
    if (disposed) {
      throw new LesionEncError('INVALID_ARGUMENT', 'lesion encoder pool: used after dispose()');
    }
    const [rows, columns] = options.outputSizePx;
    const [netRows, netColumns] = ready!.config.inputSizePx ?? [rows, columns];
    const netPlane = netRows * netColumns;
    if (images.length !== count * netPlane) {
      throw new LesionEncError(
        'SHAPE_MISMATCH',
        `slice images: expected ${count} x ${netRows} x ${netColumns} = ${count * netPlane} values, got ${images.length}`,
      );
    }
    const plane = rows * columns;
    const featureSize = ready!.featureSize;
    const labels = new Uint8Array(count * plane);
    const features = new Float32Array(count * featureSize);
    // Several chunks per worker, so a worker that finishes early takes the remainder.
    const chunk = Math.max(
      1,
      Math.min(options.batchSize, Math.ceil(count / (workers.length * CHUNKS_PER_WORKER))),
    );
    let nextStart = 0;
    let done = 0;

    // Each worker takes the next chunk when it finishes one, until none is left.
    const run = (worker: WorkerLike) =>
      new Promise<void>((resolve, reject) => {
        let pending: { id: number; start: number } | undefined;
        const dispatch = () => {
          if (options.signal?.aborted === true || nextStart >= count) {
            pending = undefined;
            resolve();
            return;
          }
          const start = nextStart;
          const n = Math.min(chunk, count - start);
          nextStart += n;
          pending = { id: nextId++, start };
          const part = images.slice(start * netPlane, (start + n) * netPlane);
          worker.postMessage(
            {
              type: 'encode',
              id: pending.id,
              images: part,
              count: n,
              outputSizePx: [rows, columns],
              batchSize: options.batchSize,
              featuresOnly: options.featuresOnly === true,
            },
            [part.buffer],
          );
        };
        handlers.set(worker, (message) => {
          if (pending === undefined || message.type === 'ready' || message.id !== pending.id)
            return;
          if (message.type === 'error') {
            reject(new LesionEncError(message.code as ErrorCode, message.message));
            return;
          }
          const n = message.features.length / featureSize;
          labels.set(message.labels, pending.start * plane);
          features.set(message.features, pending.start * featureSize);
          done += n;
          options.onSlices?.(done);
          dispatch();
        });
        failures.set(worker, reject);
        dispatch();
      });

    await Promise.all(workers.map(run));
    throwIfAborted(options.signal, 'lesion encoder pool');
    return { labels, features, featureSize };
  };

  return {
    config: Object.freeze(ready!.config),
    featureSize: ready!.featureSize,
    workerCount,
    encode,
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      for (const worker of workers) failures.delete(worker);
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
