// The gradient of FusedBatchNorm with broadcasting instead of the full-size tiles tfjs-core builds,
// which cost more than the convolutions of an EfficientNet step on wasm.
import * as tf from '@tensorflow/tfjs-core';

/**
 * Gradient of `FusedBatchNorm` (`y = (x - mean) / sqrt(variance + epsilon) * scale + offset`)
 * with respect to all five inputs. The statistics broadcast against `x`; every per-channel
 * quantity is computed once at the size of the statistics, so only three full-size products and
 * two full-size reductions remain.
 */
export const fusedBatchNormGradient: tf.GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy, saved, attrs) => {
    const gradient = Array.isArray(dy) ? dy[0]! : dy;
    const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor?];
    const { varianceEpsilon } = attrs as unknown as tf.FusedBatchNormAttrs;
    const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const reduce = (t: tf.Tensor) => tf.reshape(axes.length > 0 ? tf.sum(t, axes) : t, mean.shape);

    const inverseStd = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const gain = scale === undefined ? inverseStd : tf.mul(inverseStd, scale);
    const offsetGrad = reduce(gradient);
    const centeredDot = reduce(tf.mul(gradient, tf.sub(x, mean)));

    return {
      x: () => tf.mul(gradient, gain),
      offset: () => offsetGrad,
      mean: () => tf.neg(tf.mul(offsetGrad, gain)),
      scale: () => tf.mul(centeredDot, inverseStd),
      variance: () =>
        tf.mul(centeredDot, tf.mul(tf.mul(gain, tf.square(inverseStd)), tf.scalar(-0.5))),
    };
  },
};
