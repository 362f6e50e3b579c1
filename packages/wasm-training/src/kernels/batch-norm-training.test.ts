import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';

import { batchNormTraining, patchBatchNormalizationTraining } from './batch-norm-training';

function relativeError(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(
    () =>
      tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! /
      Math.max(tf.max(tf.abs(b)).dataSync()[0]!, 1e-30),
  );
}

// The reference: what tfjs-layers computes in training, moments then batchNorm, differentiated
// op by op.
function reference(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number) {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  return tf.batchNorm(x as tf.Tensor4D, mean, variance, beta, gamma, epsilon);
}

describe('batchNormTraining', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each([[[2, 5, 6, 7]], [[3, 4, 9]], [[11, 5]]])(
    'gives the output and gradients of moments + batchNorm for %j',
    (shape) => {
      const x = tf.randomNormal(shape, 2, 3, 'float32', 1);
      const weights = tf.randomNormal(shape, 0, 1, 'float32', 2);
      const channels = shape[shape.length - 1]!;
      const gamma = tf.randomNormal([channels], 1, 0.3, 'float32', 3) as tf.Tensor1D;
      const beta = tf.randomNormal([channels], 0, 0.3, 'float32', 4) as tf.Tensor1D;
      const loss = (f: typeof reference) => (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(f(a, g as tf.Tensor1D, b as tf.Tensor1D, 1e-3), weights));
      const fused = (a: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D, e: number) => {
        const result = batchNormTraining(a, g, b, e);
        tf.dispose([result.mean, result.variance]);
        return result.y;
      };
      const expected = tf.grads(loss(reference))([x, gamma, beta]);
      const actual = tf.grads(loss(fused))([x, gamma, beta]);
      for (let i = 0; i < 3; i++)
        expect(relativeError(actual[i]!, expected[i]!)).toBeLessThan(1e-4);
      const { y, mean, variance } = batchNormTraining(x, gamma, beta, 1e-3);
      const yRef = reference(x, gamma, beta, 1e-3);
      expect(relativeError(y, yRef)).toBeLessThan(1e-5);
      const moments = tf.moments(
        x,
        shape.slice(0, -1).map((_, i) => i),
      );
      expect(relativeError(mean, moments.mean)).toBeLessThan(1e-6);
      expect(relativeError(variance, moments.variance)).toBeLessThan(1e-6);
      tf.dispose([x, weights, gamma, beta, ...expected, ...actual, y, mean, variance, yRef]);
      tf.dispose([moments.mean, moments.variance]);
    },
  );

  it('patched layers train like the library: outputs, moving statistics, no leaks', async () => {
    const backends = ['cpu', 'wasm'] as const;
    const x = tf.randomNormal([4, 6, 6, 5], 1, 2, 'float32', 5);
    const make = () => {
      const layer = tfl.layers.batchNormalization({ momentum: 0.9 });
      layer.build(x.shape);
      return layer;
    };
    const run = (layer: tfl.layers.Layer) => {
      const y = layer.apply(x, { training: true }) as tf.Tensor;
      const [, , mean, variance] = layer.getWeights();
      return { y, mean: tf.clone(mean!), variance: tf.clone(variance!) };
    };
    // The library's own code first, on both backends, then the patched layer.
    const plain: Record<string, ReturnType<typeof run>> = {};
    for (const backend of backends) {
      await tf.setBackend(backend);
      plain[backend] = run(make());
    }
    expect(patchBatchNormalizationTraining()).toBe(true);
    for (const backend of backends) {
      await tf.setBackend(backend);
      const layer = make();
      const before = tf.memory().numTensors;
      const y = layer.apply(x, { training: true }) as tf.Tensor;
      // Only the output is new: statistics and intermediates are released.
      expect(tf.memory().numTensors).toBe(before + 1);
      const reference = plain[backend]!;
      expect(relativeError(y, reference.y)).toBeLessThan(1e-5);
      // A fresh layer's moving statistics after one training call equal the library's.
      const second = run(make());
      second.y.dispose();
      expect(relativeError(second.mean, reference.mean)).toBeLessThan(1e-6);
      expect(relativeError(second.variance, reference.variance)).toBeLessThan(1e-6);
      // Inference still uses the moving statistics.
      const inference = layer.apply(x, { training: false }) as tf.Tensor;
      expect(relativeError(inference, y)).toBeGreaterThan(1e-3);
      tf.dispose([y, second.mean, second.variance]);
      tf.dispose(inference);
    }
    expect(patchBatchNormalizationTraining()).toBe(false);
  });
});
