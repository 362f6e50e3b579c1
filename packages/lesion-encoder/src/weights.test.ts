// Tests of weight loading by layer name and of the package's float32 / float16 weight files.
import '@tensorflow/tfjs-backend-cpu';
import { isLesionEncError } from '@lesionenc/base';
import * as tfc from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { createLesionUnet } from './unet';
import {
  applyNamedWeights,
  canonicalWeightName,
  decodeEncodedWeights,
  decodeWeightsManifest,
  encodeModelWeights,
} from './weights';

// float16 keeps 11 significant bits (relative error at most 2^-11) down to 2^-14; below that
// its subnormal step is 2^-24, so the absolute error stays within half of it.
const FLOAT16_RELATIVE_TOLERANCE = 2 ** -11;
const FLOAT16_ABSOLUTE_TOLERANCE = 2 ** -25;
const OUTPUT_TOLERANCE = 1e-5;

describe('weights by name', () => {
  beforeAll(async () => {
    await tfc.setBackend('cpu');
  });

  it('reduces converter names to layer/weight', () => {
    expect(canonicalWeightName('efficientnetb0/block1a_dwconv/depthwise_kernel:0')).toBe(
      'block1a_dwconv/depthwise_kernel',
    );
    expect(canonicalWeightName('stem_bn/moving_mean')).toBe('stem_bn/moving_mean');
  });

  it('copies every weight from a differently seeded model and reproduces its outputs', async () => {
    const source = createLesionUnet({ inputSizePx: [32, 32], seed: 1 });
    const target = createLesionUnet({ inputSizePx: [32, 32], seed: 2 });
    const encoded = await encodeModelWeights(source.model, 'float32');
    // Prefix names as tensorflowjs_converter does for a nested Keras model.
    const manifest = [
      {
        paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'],
        weights: encoded.specs.map((spec) => ({ ...spec, name: `efficientnetb0/${spec.name}:0` })),
      },
    ];
    const half = Math.floor(encoded.data.byteLength / 2);
    const shards: Record<string, Uint8Array> = {
      'group1-shard1of2.bin': encoded.data.slice(0, half),
      'group1-shard2of2.bin': encoded.data.slice(half),
    };
    const weights = await decodeWeightsManifest(manifest, async (path) => shards[path]!);
    const report = applyNamedWeights(target.model, weights, { strict: true });
    expect(report.missing).toEqual([]);
    expect(report.unused).toEqual([]);
    expect(report.loaded.length).toBe(encoded.specs.length);

    const input = tfc.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 9);
    const [a] = source.model.predict(input) as tfc.Tensor[];
    const [b] = target.model.predict(input) as tfc.Tensor[];
    expect(tfc.max(tfc.abs(tfc.sub(a!, b!))).dataSync()[0]).toBeLessThan(OUTPUT_TOLERANCE);
    tfc.dispose([input, a!, b!, ...Object.values(weights)]);
    source.dispose();
    target.dispose();
  });

  it('sums a 3-channel stem kernel into a 1-channel stem', () => {
    const target = createLesionUnet({ inputSizePx: [32, 32], inputChannels: 1 });
    const kernel = tfc.randomNormal([3, 3, 3, 32], 0, 1, 'float32', 4);
    const report = applyNamedWeights(target.model, { 'stem_conv/kernel': kernel });
    expect(report.loaded).toEqual(['stem_conv/kernel']);
    const written = target.model.getLayer('stem_conv').getWeights()[0]!;
    const expected = tfc.sum(kernel, 2, true);
    expect(tfc.max(tfc.abs(tfc.sub(written, expected))).dataSync()[0]).toBeLessThan(1e-6);
    tfc.dispose([kernel, expected]);
    target.dispose();
  });

  it('reports mismatched shapes and throws MODEL_FORMAT in strict mode', () => {
    const target = createLesionUnet({ inputSizePx: [32, 32] });
    const wrong = tfc.zeros([3, 3, 3, 7]);
    const report = applyNamedWeights(target.model, { 'final_conv/kernel': wrong });
    expect(report.mismatched.map((m) => m.name)).toEqual(['final_conv/kernel']);
    let caught: unknown;
    try {
      applyNamedWeights(target.model, { 'final_conv/kernel': wrong }, { strict: true });
    } catch (error) {
      caught = error;
    }
    expect(isLesionEncError(caught, 'MODEL_FORMAT')).toBe(true);
    wrong.dispose();
    target.dispose();
  });

  it('round-trips float16 weights within half precision', async () => {
    const source = createLesionUnet({ inputSizePx: [32, 32], seed: 3 });
    const encoded = await encodeModelWeights(source.model, 'float16');
    const full = await encodeModelWeights(source.model, 'float32');
    expect(encoded.data.byteLength * 2).toBe(full.data.byteLength);
    const decoded = decodeEncodedWeights(encoded);
    const kernel = source.model.getLayer('top_conv').getWeights()[0]!;
    const restored = decoded['top_conv/kernel']!;
    const excess = tfc.tidy(() =>
      tfc.max(
        tfc.sub(
          tfc.abs(tfc.sub(kernel, restored)),
          tfc.mul(tfc.abs(kernel), FLOAT16_RELATIVE_TOLERANCE),
        ),
      ),
    );
    expect(excess.dataSync()[0]).toBeLessThanOrEqual(FLOAT16_ABSOLUTE_TOLERANCE);
    tfc.dispose([excess, ...Object.values(decoded)]);
    source.dispose();
  });
});
