// The replacement FusedBatchNorm gradient against automatic differentiation of the same formula
// written with elementwise ops.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// tfjs-layers registers the gradient functions of every op.
import '@tensorflow/tfjs-layers';

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { fusedBatchNormGradient } from './batch-norm-gradient';
import { registerWasmTrainingKernels } from './register';

// Largest |ours - reference| allowed, relative to the largest |reference| value.
const RELATIVE_TOLERANCE = 1e-4;
const EPSILON = 1e-3;

function relativeError(actual: tf.Tensor, expected: tf.Tensor): number {
  const a = actual.dataSync();
  const e = expected.dataSync();
  expect(actual.shape).toEqual(expected.shape);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < e.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - e[i]!));
    scale = Math.max(scale, Math.abs(e[i]!));
  }
  return worst / scale;
}

describe('fusedBatchNormGradient', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    registerWasmTrainingKernels();
  });

  it('is the registered gradient of FusedBatchNorm', () => {
    expect(tf.getGradient('FusedBatchNorm')?.gradFunc).toBe(fusedBatchNormGradient.gradFunc);
  });

  it.each([
    ['cpu', 'statistics as inputs'],
    ['cpu', 'statistics from the batch (training mode)'],
    ['wasm', 'statistics as inputs'],
    ['wasm', 'statistics from the batch (training mode)'],
  ] as const)(
    'on %s, with %s, equals autodiff of the elementwise formula',
    async (backend, mode) => {
      await tf.setBackend(backend);
      tf.tidy(() => {
        const x = tf.randomNormal([2, 5, 4, 3], 1, 2, 'float32', 1) as tf.Tensor4D;
        const dy = tf.randomNormal([2, 5, 4, 3], 0, 1, 'float32', 2);
        const mean0 = tf.randomNormal([3], 0, 1, 'float32', 3) as tf.Tensor1D;
        const variance0 = tf.randomUniform([3], 0.5, 2, 'float32', 4) as tf.Tensor1D;
        const scale = tf.randomNormal([3], 1, 0.3, 'float32', 5) as tf.Tensor1D;
        const offset = tf.randomNormal([3], 0, 0.3, 'float32', 6) as tf.Tensor1D;
        const stats = (input: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor) => {
          if (mode === 'statistics as inputs') return { mean, variance };
          const moments = tf.moments(input, [0, 1, 2]);
          return { mean: moments.mean, variance: moments.variance };
        };
        const fused = (
          input: tf.Tensor,
          m: tf.Tensor,
          v: tf.Tensor,
          g: tf.Tensor,
          b: tf.Tensor,
        ) => {
          const s = stats(input, m, v);
          const y = tf.batchNorm(input, s.mean, s.variance, b, g, EPSILON);
          return tf.sum(tf.mul(y, dy));
        };
        const elementwise = (
          input: tf.Tensor,
          m: tf.Tensor,
          v: tf.Tensor,
          g: tf.Tensor,
          b: tf.Tensor,
        ) => {
          const s = stats(input, m, v);
          const normalised = tf.mul(tf.sub(input, s.mean), tf.rsqrt(tf.add(s.variance, EPSILON)));
          return tf.sum(tf.mul(tf.add(tf.mul(normalised, g), b), dy));
        };
        // In training mode the statistics come from x, so only x, scale and offset are inputs.
        const withStats = mode === 'statistics as inputs';
        const inputs = withStats ? [x, mean0, variance0, scale, offset] : [x, scale, offset];
        const spread =
          (f: typeof fused) =>
          (...t: tf.Tensor[]) =>
            withStats
              ? f(t[0]!, t[1]!, t[2]!, t[3]!, t[4]!)
              : f(t[0]!, mean0, variance0, t[1]!, t[2]!);
        const ours = tf.grads(spread(fused))(inputs);
        const reference = tf.grads(spread(elementwise))(inputs);
        expect(ours).toHaveLength(inputs.length);
        ours.forEach((g, k) => {
          expect(relativeError(g, reference[k]!)).toBeLessThan(RELATIVE_TOLERANCE);
        });
      });
    },
  );
});
