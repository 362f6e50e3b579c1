import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';

import { createInferenceUnet, encodeSliceImages } from '../encode';
import { createLesionUnet } from '../unet';
import { foldBatchNorm } from './fold-batch-norm';
import { inferenceModelsOf, releaseInferenceModels } from './inference-models';

function maxRelativeDifference(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  return worst / scale;
}

// Batch-norm statistics far from their initial values, so folding has something to do.
function randomiseNormStatistics(model: tfl.LayersModel, seed: number): void {
  let s = seed;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const weights = layer.getWeights();
    const next = weights.map((w, i) =>
      // gamma, beta, moving mean, moving variance (positive)
      i === weights.length - 1
        ? tf.randomUniform(w.shape, 0.5, 2, 'float32', s++)
        : tf.randomNormal(w.shape, i === 0 ? 1 : 0, 0.3, 'float32', s++),
    );
    layer.setWeights(next);
    tf.dispose(next);
  }
}

describe('foldBatchNorm', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('folds conv, depthwise and biased conv and keeps the outputs', () => {
    const input = tfl.input({ shape: [9, 9, 3] });
    let x = tfl.layers
      .conv2d({ filters: 5, kernelSize: 3, useBias: false, padding: 'same' })
      .apply(input);
    x = tfl.layers.batchNormalization({ name: 'n1' }).apply(x);
    x = tfl.layers.activation({ activation: 'relu' }).apply(x);
    x = tfl.layers
      .depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, useBias: false, padding: 'same' })
      .apply(x);
    x = tfl.layers.batchNormalization({ name: 'n2', center: false }).apply(x);
    const branch = tfl.layers.conv2d({ filters: 4, kernelSize: 1, useBias: true }).apply(x);
    // Used twice: this normalisation's convolution output has another consumer, so it stays.
    const shared = tfl.layers.conv2d({ filters: 4, kernelSize: 1, useBias: false }).apply(x);
    const kept = tfl.layers.batchNormalization({ name: 'n3', scale: false }).apply(shared);
    const out = tfl.layers
      .add()
      .apply([
        tfl.layers.batchNormalization({ name: 'n4' }).apply(branch) as tfl.SymbolicTensor,
        kept as tfl.SymbolicTensor,
        shared as tfl.SymbolicTensor,
      ]);
    const model = tfl.model({ inputs: input, outputs: out as tfl.SymbolicTensor });
    randomiseNormStatistics(model, 3);
    const { model: folded, folded: count } = foldBatchNorm(model);
    expect(count).toBe(3);
    expect(folded.layers.map((l) => l.name)).not.toContain('n1');
    expect(folded.layers.map((l) => l.name)).toContain('n3');
    const probe = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 11);
    const a = folded.predict(probe) as tf.Tensor;
    const b = model.predict(probe) as tf.Tensor;
    expect(maxRelativeDifference(a, b)).toBeLessThan(1e-5);
    tf.dispose([probe, a, b]);
    folded.dispose();
    model.dispose();
  });

  it('gives the lesion U-Net outputs of the unfolded network and is remade after training', () => {
    const unet = createLesionUnet({ inputSizePx: [64, 64], variant: 'b0' });
    randomiseNormStatistics(unet.model, 5);
    const probe = tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 12);
    const before = tf.memory().numTensors;
    const first = inferenceModelsOf(unet.model, 'avg_pool');
    expect(inferenceModelsOf(unet.model, 'avg_pool')).toBe(first);
    const [mask, features] = first.full.predict(probe) as tf.Tensor[];
    const [refMask, refFeatures] = unet.model.predict(probe) as tf.Tensor[];
    expect(maxRelativeDifference(mask!, refMask!)).toBeLessThan(1e-4);
    expect(maxRelativeDifference(features!, refFeatures!)).toBeLessThan(1e-4);
    const onlyFeatures = first.features.predict(probe) as tf.Tensor;
    expect(maxRelativeDifference(onlyFeatures, refFeatures!)).toBeLessThan(1e-4);
    tf.dispose([mask!, features!, refMask!, refFeatures!, onlyFeatures]);

    // New weights (as an optimizer step assigns them) make a new folded copy.
    const layer = unet.model.getLayer('stem_conv');
    const changed = layer.getWeights().map((w) => tf.mul(w, 2));
    layer.setWeights(changed);
    tf.dispose(changed);
    expect(inferenceModelsOf(unet.model, 'avg_pool')).not.toBe(first);

    releaseInferenceModels(unet.model);
    expect(tf.memory().numTensors).toBe(before);
    unet.dispose();
    probe.dispose();
  });

  it('createInferenceUnet keeps outputs, makes no copy when encoding, frees all', async () => {
    const baseline = tf.memory().numTensors;
    const unet = createLesionUnet({ inputSizePx: [64, 64] });
    randomiseNormStatistics(unet.model, 8);
    const probe = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 13);
    const [refMask, refFeatures] = unet.model.predict(probe) as tf.Tensor[];
    const twin = createInferenceUnet(unet);
    expect(twin.model.layers.some((l) => l.getClassName() === 'BatchNormalization')).toBe(false);
    const [mask, features] = twin.model.predict(probe) as tf.Tensor[];
    expect(maxRelativeDifference(mask!, refMask!)).toBeLessThan(1e-4);
    expect(maxRelativeDifference(features!, refFeatures!)).toBeLessThan(1e-4);
    tf.dispose([probe, refMask!, refFeatures!, mask!, features!]);

    const before = tf.memory().numTensors;
    const images = new Float32Array(3 * 64 * 64).fill(0.5);
    for (let i = 0; i < 2; i++) {
      await encodeSliceImages(twin, images, 3, { outputSizePx: [64, 64], batchSize: 2 });
    }
    expect(tf.memory().numTensors).toBe(before);
    twin.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });
});
