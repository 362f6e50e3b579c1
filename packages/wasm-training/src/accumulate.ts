// Gradient accumulation: one optimizer update from a batch processed in micro-batches, so the
// activations of only one micro-batch are alive at a time.
import { LesionEncError } from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** A loss over one (micro-)batch: the mean over its samples, as a scalar. */
export type BatchLoss = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar;

/** Construction of {@link createAccumulatingTrainer}. */
export interface AccumulatingTrainerConfig {
  /** The model whose trainable weights are updated. Not disposed by the trainer. */
  model: tfl.LayersModel;
  /** The optimizer that applies one update per step. Not disposed by the trainer. */
  optimizer: tf.Optimizer;
  /**
   * Mean loss over the samples of a batch. Micro-batch losses are weighted by their share of the
   * batch, so the accumulated gradient is the gradient of this loss over the whole batch.
   */
  loss: BatchLoss;
  /** Samples per forward and backward pass; the last micro-batch may be smaller. */
  microBatchSize: number;
  /**
   * Whether layers run in training mode (dropout active, batch normalisation with the statistics
   * of each micro-batch, moving averages updated once per micro-batch).
   * @defaultValue {@link DEFAULT_ACCUMULATING_TRAINER}.training
   */
  training?: boolean;
}

/** Defaults of {@link AccumulatingTrainerConfig}. */
export const DEFAULT_ACCUMULATING_TRAINER: Readonly<{ training: boolean }> = Object.freeze({
  training: true,
});

/** What one {@link AccumulatingTrainer.step} did. */
export interface AccumulatedStepResult {
  /** The loss of the whole batch before the update (weighted mean of the micro-batch losses). */
  loss: number;
  /** How many forward and backward passes the batch took. */
  microBatches: number;
}

/** A trainer that applies one optimizer update per batch from micro-batch gradients. */
export interface AccumulatingTrainer {
  /**
   * Runs forward and backward over `x`, `y` in micro-batches, sums their gradients and applies
   * one update. The caller keeps ownership of `x` and `y`.
   *
   * @throws LesionEncError `SHAPE_MISMATCH` when `x` and `y` differ in batch size.
   */
  step(x: tf.Tensor, y: tf.Tensor): Promise<AccumulatedStepResult>;
  /** Releases the trainer's own state (it holds no tensors between steps). */
  dispose(): void;
}

/**
 * Creates a trainer that computes the gradient of a batch as the weighted sum of the gradients of
 * its micro-batches and applies it in one optimizer step. Without batch normalisation in
 * training mode (or with `training: false`), the update equals the one the whole batch gives in
 * a single pass, up to float rounding. With batch normalisation in training mode each
 * micro-batch is normalised with its own statistics, as gradient accumulation does in other
 * frameworks; the update then differs from the full-batch one.
 *
 * @param config - Model, optimizer, loss and micro-batch size.
 * @returns The trainer.
 * @throws LesionEncError `INVALID_ARGUMENT` when `microBatchSize` is not a positive integer.
 * @example
 * ```ts
 * const trainer = createAccumulatingTrainer({ model, optimizer: tf.train.adam(1e-3),
 *   loss: (y, p) => tf.losses.softmaxCrossEntropy(y, p), microBatchSize: 1 });
 * const { loss } = await trainer.step(images, masks); // batch 4 in four passes
 * ```
 */
export function createAccumulatingTrainer(config: AccumulatingTrainerConfig): AccumulatingTrainer {
  const { model, optimizer, loss, microBatchSize } = config;
  const training = config.training ?? DEFAULT_ACCUMULATING_TRAINER.training;
  if (!Number.isInteger(microBatchSize) || microBatchSize < 1) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `microBatchSize: expected a positive integer, got ${String(microBatchSize)}`,
    );
  }
  let disposed = false;

  const step = async (x: tf.Tensor, y: tf.Tensor): Promise<AccumulatedStepResult> => {
    if (disposed) {
      throw new LesionEncError('INVALID_ARGUMENT', 'accumulating trainer: used after dispose()');
    }
    const batch = x.shape[0] ?? 0;
    if (y.shape[0] !== batch || batch < 1) {
      throw new LesionEncError(
        'SHAPE_MISMATCH',
        `training batch: expected x and y with the same batch size >= 1, got ${batch} and ${String(y.shape[0])}`,
      );
    }
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const sums: Record<string, tf.Tensor> = {};
    let lossSum: tf.Tensor | undefined;
    let passes = 0;

    try {
      for (let start = 0; start < batch; start += microBatchSize) {
        const size = Math.min(microBatchSize, batch - start);
        const share = size / batch;
        const { value, grads } = tf.variableGrads(() => {
          const xs = tf.slice(x, start, size);
          const ys = tf.slice(y, start, size);
          const predicted = model.apply(xs, { training }) as tf.Tensor;
          return tf.mul(loss(ys, predicted), share) as tf.Scalar;
        }, variables);
        passes++;

        for (const [name, grad] of Object.entries(grads)) {
          const previous = sums[name];
          if (previous === undefined) {
            sums[name] = grad;
          } else {
            sums[name] = tf.add(previous, grad);
            previous.dispose();
            grad.dispose();
          }
        }
        const previousLoss = lossSum;
        lossSum = previousLoss === undefined ? value : tf.add(previousLoss, value);
        if (previousLoss !== undefined) {
          previousLoss.dispose();
          value.dispose();
        }
        // Let the event loop breathe between passes of a long step.
        await Promise.resolve();
      }

      optimizer.applyGradients(sums);
      const lossValue = (await lossSum!.data())[0]!;
      if (!Number.isFinite(lossValue)) {
        throw new LesionEncError(
          'NOT_CONVERGED',
          `training loss: expected finite, got ${lossValue}`,
        );
      }
      return { loss: lossValue, microBatches: passes };
    } finally {
      tf.dispose(Object.values(sums));
      lossSum?.dispose();
    }
  };

  return {
    step,
    dispose: () => {
      disposed = true;
    },
  };
}
