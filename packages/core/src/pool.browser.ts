// The browser stand-in for the encoder pool: worker threads are a Node feature. A browser app runs
// the pipeline in a Web Worker instead, where the wasm backend can use threads of its own.
import { LesionEncError } from '@lesionenc/base';

import type { LesionEncoderPool, LesionEncoderPoolConfig } from './pool';

export type { LesionEncoderPool, LesionEncoderPoolConfig, PoolEncodeOptions } from './pool';

/**
 * @throws {@link LesionEncError} `BACKEND_UNAVAILABLE`: the pool needs Node's worker threads.
 */
export async function createLesionEncoderPool(
  _config: LesionEncoderPoolConfig = {},
): Promise<LesionEncoderPool> {
  throw new LesionEncError(
    'BACKEND_UNAVAILABLE',
    'lesion encoder pool: expected Node.js (worker threads), got a browser; use workers: 1',
  );
}
