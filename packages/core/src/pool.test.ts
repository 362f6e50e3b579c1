// The worker-thread pool gives what one thread gives, in the same order, and fails with typed
// codes. Uses the built worker script (npm test builds before it runs the tests).
import { isLesionEncError } from '@lesionenc/base';
import { type LesionUnet, createLesionUnet, encodeSliceImages } from '@lesionenc/lesion-encoder';
import { DISEASE_PRESETS, createChestPhantom } from '@lesionenc/phantom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { analyseScan } from './analyse';
import { initBackend } from './backend';
import { type LesionEncoderPool, createLesionEncoderPool } from './pool';

/** Features from another thread's copy of the same network, same backend. */
const FEATURE_TOLERANCE = 1e-5;
const UNET = { inputSizePx: [64, 64] as [number, number], dropConnectRate: 0 };

describe('createLesionEncoderPool', () => {
  let pool: LesionEncoderPool;
  let unet: LesionUnet;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    unet = createLesionUnet(UNET);
    pool = await createLesionEncoderPool({ workers: 2, unet: UNET });
  });
  afterAll(async () => {
    unet.dispose();
    await pool.dispose();
  });

  it('encodes like one thread, in order, over two workers', async () => {
    expect(pool.workerCount).toBe(2);
    expect(pool.featureSize).toBe(1280);
    const count = 7;
    const images = new Float32Array(count * 64 * 64);
    for (let i = 0; i < images.length; i++) images[i] = ((i * 7919) % 1000) / 1000;
    const options = { outputSizePx: [80, 80] as [number, number], batchSize: 2 };
    const done: number[] = [];
    const parallel = await pool.encode(images, count, {
      ...options,
      onSlices: (d) => done.push(d),
    });
    const single = await encodeSliceImages(unet, images, count, options);
    expect(parallel.labels).toEqual(single.labels);
    let worst = 0;
    for (let i = 0; i < single.features.length; i++) {
      worst = Math.max(worst, Math.abs(parallel.features[i]! - single.features[i]!));
    }
    expect(worst).toBeLessThan(FEATURE_TOLERANCE);
    expect(done.at(-1)).toBe(count);
  });

  it('gives the same features without the decoder, on one thread and over the workers', async () => {
    const count = 5;
    const images = new Float32Array(count * 64 * 64);
    for (let i = 0; i < images.length; i++) images[i] = ((i * 104729) % 997) / 997;
    const options = { outputSizePx: [64, 64] as [number, number], batchSize: 2 };
    const full = await encodeSliceImages(unet, images, count, options);
    const single = await encodeSliceImages(unet, images, count, { ...options, featuresOnly: true });
    const parallel = await pool.encode(images, count, { ...options, featuresOnly: true });
    // The full pass labels some pixels as lesion; the features-only pass labels none.
    expect(full.labels.some((v) => v !== 0)).toBe(true);
    expect(single.labels.every((v) => v === 0)).toBe(true);
    expect(parallel.labels.every((v) => v === 0)).toBe(true);
    for (const other of [single, parallel]) {
      expect(other.features).toHaveLength(full.features.length);
      let worst = 0;
      for (let i = 0; i < full.features.length; i++) {
        worst = Math.max(worst, Math.abs(other.features[i]! - full.features[i]!));
      }
      expect(worst).toBeLessThan(FEATURE_TOLERANCE);
    }
  });

  it('runs analyseScan with the same result as one thread', async () => {
    const phantom = createChestPhantom({
      seed: 11,
      matrix: 64,
      slices: 10,
      disease: DISEASE_PRESETS.severe,
    });
    const a = await analyseScan(phantom.volume, { pool });
    const b = await analyseScan(phantom.volume, { unet });
    expect(a.keptSlices).toEqual(b.keptSlices);
    expect(a.lesions.data).toEqual(b.lesions.data);
    expect(a.volumetrics).toEqual(b.volumetrics);
  });

  it('rejects a wrong slice count, use after dispose, and missing weights with typed codes', async () => {
    const code = async (run: () => Promise<unknown>) => {
      try {
        await run();
      } catch (error) {
        return isLesionEncError(error) ? error.code : 'not a LesionEncError';
      }
      return undefined;
    };
    expect(
      await code(() =>
        pool.encode(new Float32Array(10), 1, { outputSizePx: [64, 64], batchSize: 1 }),
      ),
    ).toBe('SHAPE_MISMATCH');
    expect(
      await code(() =>
        createLesionEncoderPool({ workers: 1, unet: UNET, weightsPath: '/nonexistent/weights' }),
      ),
    ).toBe('FILE_NOT_FOUND');
    expect(await code(() => createLesionEncoderPool({ workers: 0 }))).toBe('INVALID_ARGUMENT');
    const other = await createLesionEncoderPool({ workers: 1, unet: UNET });
    await other.dispose();
    expect(
      await code(() =>
        other.encode(new Float32Array(64 * 64), 1, { outputSizePx: [64, 64], batchSize: 1 }),
      ),
    ).toBe('INVALID_ARGUMENT');
  });
});
