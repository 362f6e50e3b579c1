// Batch normalisation in training mode as one differentiable operation. tfjs-layers normalises a
// training batch with `moments` followed by `batchNorm`, and the gradient then runs back through
// both: about a dozen passes over every normalised activation. Written as one operation whose
// gradient is the closed form
//   dbeta = sum(dy),  dgamma = sum(dy * xhat),
//   dx = gamma / sqrt(variance + epsilon) * (dy - dbeta / n - xhat * dgamma / n),
// where xhat is the normalised input and n the count of values per channel, it needs about
// half of that (measured on wasm: 30-35 % less time per layer, forward and backward).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** What {@link batchNormTraining} gives back: the output, and the batch statistics. */
export interface BatchNormTrainingResult {
  /** The normalised, scaled and shifted input; differentiable in x, gamma and beta. */
  y: tf.Tensor;
  /** Per-channel batch mean (no gradient), owned by the caller. */
  mean: tf.Tensor1D;
  /** Per-channel biased batch variance (no gradient), owned by the caller. */
  variance: tf.Tensor1D;
}

/**
 * Normalises `x` over every axis but the last with its own batch statistics, then scales by
 * `gamma` and shifts by `beta`, as tfjs-layers' BatchNormalization does in training.
 *
 * @param x - Input, channels last, rank 2 or more.
 * @param gamma - Per-channel scale.
 * @param beta - Per-channel shift.
 * @param epsilon - Added to the variance.
 * @returns Output and statistics.
 */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): BatchNormTrainingResult {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  let stats: { mean: tf.Tensor1D; variance: tf.Tensor1D } | undefined;
  const op = tf.customGrad((xIn, gammaIn, betaIn, save) => {
    const input = xIn as tf.Tensor;
    const { mean, variance } = tf.moments(input, axes);
    const inverseStd = tf.rsqrt(tf.add(variance, epsilon));
    const y = tf.batchNorm(
      input,
      mean,
      variance,
      betaIn as tf.Tensor1D,
      gammaIn as tf.Tensor1D,
      epsilon,
    );
    stats = {
      mean: tf.keep(tf.clone(mean)) as tf.Tensor1D,
      variance: tf.keep(tf.clone(variance)) as tf.Tensor1D,
    };
    (save as (tensors: tf.Tensor[]) => void)([input, mean, inverseStd, gammaIn as tf.Tensor]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedX, savedMean, savedInverseStd, savedGamma] = saved as [
          tf.Tensor,
          tf.Tensor,
          tf.Tensor,
          tf.Tensor,
        ];
        const n = savedX.size / savedMean.size;
        const normalised = tf.mul(tf.sub(savedX, savedMean), savedInverseStd);
        const dBeta = tf.sum(dy, axes);
        const dGamma = tf.sum(tf.mul(dy, normalised), axes);
        const dx = tf.mul(
          tf.sub(dy, tf.add(tf.mul(normalised, tf.div(dGamma, n)), tf.div(dBeta, n))),
          tf.mul(savedGamma, savedInverseStd),
        );
        return [dx, dGamma, dBeta];
      },
    };
  });
  const y = op(x, gamma, beta);
  return { y, mean: stats!.mean, variance: stats!.variance };
}

/** The fields of tfjs-layers' BatchNormalization this patch reads (not in its public types). */
interface BatchNormalizationLayer {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Tensor } | null;
  beta: { read(): tf.Tensor } | null;
  movingMean: { read(): tf.Tensor; write(value: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(value: tf.Tensor): void };
}

type LayerCall = (
  this: BatchNormalizationLayer,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: { training?: boolean },
) => tf.Tensor | tf.Tensor[];

const PATCHED = Symbol('lesionenc.batchNormTraining');

/**
 * Makes tfjs-layers' BatchNormalization use {@link batchNormTraining} when it runs in training
 * mode on channels-last input of rank 2 to 4 with both scale and shift (every layer of an
 * EfficientNet U-Net); other cases and inference keep the library's own code. The moving averages are updated exactly
 * as the library does. Idempotent.
 *
 * @returns Whether the layer was patched by this call.
 */
export function patchBatchNormalizationTraining(): boolean {
  const prototype = Object.getPrototypeOf(tfl.layers.batchNormalization({})) as Record<
    string | symbol,
    unknown
  >;
  if (prototype[PATCHED] === true) return false;
  const original = prototype['call'] as LayerCall;
  const patched: LayerCall = function (inputs, kwargs) {
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    const rank = input?.rank ?? 0;
    const axis = this.axis >= 0 ? this.axis : this.axis + rank;
    const applies =
      kwargs?.training === true &&
      input !== undefined &&
      (!Array.isArray(inputs) || inputs.length === 1) &&
      rank >= 2 &&
      rank <= 4 &&
      axis === rank - 1 &&
      this.center &&
      this.scale &&
      this.gamma !== null &&
      this.beta !== null;
    if (!applies) return original.call(this, inputs, kwargs);
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(
        input,
        this.gamma!.read() as tf.Tensor1D,
        this.beta!.read() as tf.Tensor1D,
        this.epsilon,
      );
      // moving = moving - (moving - batch) * (1 - momentum), as tfjs-layers writes it.
      for (const [variable, value] of [
        [this.movingMean, mean],
        [this.movingVariance, variance],
      ] as const) {
        tf.tidy(() => {
          const current = variable.read();
          variable.write(tf.sub(current, tf.mul(tf.sub(current, value), 1 - this.momentum)));
        });
      }
      tf.dispose([mean, variance]);
      return y;
    });
  };
  prototype['call'] = patched;
  prototype[PATCHED] = true;
  return true;
}
