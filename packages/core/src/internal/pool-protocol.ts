// Messages between the lesion-encoder pool and its worker threads.
import type { LesionUnetConfig } from '@lesionenc/lesion-encoder';

/** What each worker is started with. */
export interface PoolWorkerData {
  backend: 'wasm' | 'cpu';
  unet: Partial<LesionUnetConfig>;
  weightsPath: string | null;
}

/** From the pool to a worker. */
export type PoolRequest =
  | {
      type: 'encode';
      id: number;
      images: Float32Array;
      count: number;
      outputSizePx: [number, number];
      batchSize: number;
      featuresOnly: boolean;
    }
  | { type: 'close' };

/** From a worker to the pool. */
export type PoolResponse =
  | { type: 'ready'; config: LesionUnetConfig; featureSize: number }
  | { type: 'result'; id: number; labels: Uint8Array; features: Float32Array }
  | { type: 'error'; id: number | null; code: string; message: string };
