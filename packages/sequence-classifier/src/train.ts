// The training protocol of paper section 3.3: Adam, class weights, a validation split drawn
// again every few epochs, and the weights of the best validation loss kept.
import {
  type LongTaskOptions,
  assert,
  createLogger,
  createRandom,
  throwIfAborted,
} from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-core';

import { type SequenceBatch, type SequenceClassifier, sequenceTensor } from './models';

const log = createLogger('lesionenc.sequence-classifier.train');

/** Per-class loss weights. */
export interface ClassWeights {
  negative: number;
  positive: number;
}

/** Configuration of {@link trainSequenceClassifier}. */
export interface TrainingConfig {
  /** @defaultValue 100 */
  epochs?: number;
  /** @defaultValue 32 */
  batchSize?: number;
  /** Adam's learning rate. @defaultValue 1e-3 */
  learningRate?: number;
  /** @defaultValue `{ negative: 0.2, positive: 1.8 }` */
  classWeights?: ClassWeights;
  /** Fraction of the scans held out for validation (stratified by label). @defaultValue 0.2 */
  validationFraction?: number;
  /** The validation scans are drawn again every this many epochs. @defaultValue 20 */
  reselectEvery?: number;
  /** Seed of the splits and of the batch order. @defaultValue 0 */
  seed?: number;
}

/** The protocol's defaults. */
export const DEFAULT_TRAINING = Object.freeze({
  epochs: 100,
  batchSize: 32,
  learningRate: 1e-3,
  classWeights: Object.freeze({ negative: 0.2, positive: 1.8 }),
  validationFraction: 0.2,
  reselectEvery: 20,
  seed: 0,
});

/** Sequences with a 0/1 label each. */
export interface LabelledSequences extends SequenceBatch {
  labels: ArrayLike<number>;
  /**
   * The group of each sequence (the patient, when a patient has several scans): the validation
   * split then takes or leaves whole groups, so no patient sits on both sides. Without it every
   * sequence is its own group.
   */
  groups?: ArrayLike<string | number>;
}

/** One line of the training log. */
export interface EpochLog {
  epoch: number;
  /** Class-weighted binary cross-entropy over the training batches. */
  loss: number;
  /** Unweighted binary cross-entropy on the validation scans (NaN without validation). */
  validationLoss: number;
  /** Whether the validation scans were drawn again before this epoch. */
  resampled: boolean;
  /** Whether this epoch gave the best validation loss so far. */
  best: boolean;
}

/** What {@link trainSequenceClassifier} returns; the model holds the best weights. */
export interface TrainingResult {
  log: EpochLog[];
  bestEpoch: number;
  bestValidationLoss: number;
}

const EPSILON = 1e-7;

/**
 * Trains a classifier in place with the paper's protocol and leaves it with the weights of the
 * epoch of lowest validation loss (of the last epoch when `validationFraction` is 0).
 *
 * @param classifier - From `createSequenceClassifier` or a loaded one.
 * @param data - Sequences and labels.
 * @param config - See {@link TrainingConfig}.
 * @param options - `onProgress` (stage `train`, one event per epoch) and `signal` (checked
 *   between batches).
 * @returns The training log and the best epoch.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for bad labels or settings, `ABORTED`.
 */
export async function trainSequenceClassifier(
  classifier: SequenceClassifier,
  data: LabelledSequences,
  config: TrainingConfig = {},
  options: LongTaskOptions = {},
): Promise<TrainingResult> {
  const settings = { ...DEFAULT_TRAINING, ...config };
  const n = data.shape[0];
  const labels = checkLabels(data.labels, n);
  checkSettings(settings);
  assert(
    data.groups === undefined || data.groups.length === n,
    'SHAPE_MISMATCH',
    () => `training groups: expected ${n} (one per sequence), got ${data.groups?.length}`,
  );
  const random = createRandom(settings.seed);
  const model = classifier.model;

  const all = sequenceTensor(data, classifier.config.featureSize);
  const labelTensor = tf.tensor1d(labels);
  const weightTensor = tf.tensor1d(
    Array.from(labels, (y) =>
      y === 1 ? settings.classWeights.positive : settings.classWeights.negative,
    ),
  );
  const optimizer = tf.train.adam(settings.learningRate);
  let best: tf.Tensor[] | undefined;
  let bestValidationLoss = Infinity;
  let bestEpoch = -1;
  const history: EpochLog[] = [];
  let split = { train: [] as number[], validation: [] as number[] };
  options.onProgress?.({ stage: 'train', status: 'start', fraction: 0, total: settings.epochs });
  try {
    for (let epoch = 0; epoch < settings.epochs; epoch++) {
      const resampled = epoch % settings.reselectEvery === 0;
      if (resampled) {
        split = splitStratified(labels, settings.validationFraction, random, data.groups);
      }
      const order = random.shuffle([...split.train]);
      let lossSum = 0;
      for (let from = 0; from < order.length; from += settings.batchSize) {
        throwIfAborted(options.signal, 'trainSequenceClassifier');
        const indices = tf.tensor1d(order.slice(from, from + settings.batchSize), 'int32');
        try {
          const loss = optimizer.minimize(() => {
            const x = tf.gather(all, indices);
            const y = tf.gather(labelTensor, indices);
            const w = tf.gather(weightTensor, indices);
            const p = model.apply(x, { training: true }) as tf.Tensor;
            return tf.mean(tf.mul(w, crossEntropy(tf.reshape(p, [-1]), y))) as tf.Scalar;
          }, true);
          if (loss !== null) {
            lossSum += (await loss.data())[0] as number;
            loss.dispose();
          }
        } finally {
          indices.dispose();
        }
      }
      const batches = Math.max(1, Math.ceil(order.length / settings.batchSize));
      const validationLoss =
        split.validation.length === 0
          ? Number.NaN
          : await meanLoss(classifier, all, labelTensor, split.validation, settings.batchSize);
      const score = split.validation.length === 0 ? -epoch : validationLoss;
      const isBest = score < bestValidationLoss;
      if (isBest) {
        bestValidationLoss = score;
        bestEpoch = epoch;
        best?.forEach((t) => t.dispose());
        best = model.getWeights().map((t) => t.clone());
      }
      const entry = { epoch, loss: lossSum / batches, validationLoss, resampled, best: isBest };
      history.push(entry);
      log.info(`epoch ${epoch + 1}/${settings.epochs}`, { ...entry });
      options.onProgress?.({
        stage: 'train',
        status: 'progress',
        fraction: (epoch + 1) / settings.epochs,
        completed: epoch + 1,
        total: settings.epochs,
        message: `loss ${entry.loss.toFixed(4)} val ${validationLoss.toFixed(4)}`,
      });
      // Let timers (and so an abort) run between epochs.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (best !== undefined) model.setWeights(best);
  } finally {
    best?.forEach((t) => t.dispose());
    optimizer.dispose();
    all.dispose();
    labelTensor.dispose();
    weightTensor.dispose();
  }
  options.onProgress?.({ stage: 'train', status: 'done', fraction: 1 });
  return {
    log: history,
    bestEpoch,
    bestValidationLoss: split.validation.length === 0 ? Number.NaN : bestValidationLoss,
  };
}

function crossEntropy(p: tf.Tensor, y: tf.Tensor): tf.Tensor {
  const clipped = tf.clipByValue(p, EPSILON, 1 - EPSILON);
  return tf.neg(
    tf.add(tf.mul(y, tf.log(clipped)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, clipped)))),
  );
}

async function meanLoss(
  classifier: SequenceClassifier,
  all: tf.Tensor3D,
  labels: tf.Tensor1D,
  rows: number[],
  batchSize: number,
): Promise<number> {
  let sum = 0;
  for (let from = 0; from < rows.length; from += batchSize) {
    const part = tf.tidy(() => {
      const indices = tf.tensor1d(rows.slice(from, from + batchSize), 'int32');
      const p = classifier.model.apply(tf.gather(all, indices), { training: false }) as tf.Tensor;
      return tf.sum(crossEntropy(tf.reshape(p, [-1]), tf.gather(labels, indices)));
    });
    sum += (await part.data())[0] as number;
    part.dispose();
  }
  return sum / rows.length;
}

/**
 * Splits indices into training and validation parts, stratified by label: each class gives
 * `round(fraction * count)` of its members to validation (at least one when it has two or more
 * and the fraction is positive). With `groups`, the members are the groups (labelled positive
 * when any of their sequences is) and a group's sequences go to one side together.
 *
 * @param labels - 0/1 labels.
 * @param fraction - Validation fraction in [0, 1).
 * @param random - The stream that picks the members.
 * @param groups - Optional group of each index (a patient id, say).
 * @returns Both index lists, ascending.
 */
export function splitStratified(
  labels: ArrayLike<number>,
  fraction: number,
  random: { shuffle<T>(items: T[]): T[] },
  groups?: ArrayLike<string | number>,
): { train: number[]; validation: number[] } {
  // Members: lists of indices that go to one side together.
  const units: { label: number; indices: number[] }[] = [];
  if (groups === undefined) {
    for (let i = 0; i < labels.length; i++) units.push({ label: labels[i]!, indices: [i] });
  } else {
    const byGroup = new Map<string | number, { label: number; indices: number[] }>();
    for (let i = 0; i < labels.length; i++) {
      const key = groups[i]!;
      const unit = byGroup.get(key);
      if (unit === undefined) {
        const created = { label: labels[i]!, indices: [i] };
        byGroup.set(key, created);
        units.push(created);
      } else {
        unit.indices.push(i);
        unit.label = Math.max(unit.label, labels[i]!);
      }
    }
  }
  const validation: number[] = [];
  const train: number[] = [];
  for (const cls of [0, 1]) {
    const members = units.filter((u) => u.label === cls);
    random.shuffle(members);
    let take = Math.round(fraction * members.length);
    if (fraction > 0 && take === 0 && members.length >= 2) take = 1;
    members.slice(0, take).forEach((u) => validation.push(...u.indices));
    members.slice(take).forEach((u) => train.push(...u.indices));
  }
  return { train: train.sort((a, b) => a - b), validation: validation.sort((a, b) => a - b) };
}

function checkLabels(labels: ArrayLike<number>, n: number): Float32Array {
  assert(
    labels.length === n,
    'SHAPE_MISMATCH',
    () => `training labels: expected ${n} (one per sequence), got ${labels.length}`,
  );
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    assert(
      y === 0 || y === 1,
      'INVALID_ARGUMENT',
      () => `training labels[${i}]: expected 0 or 1, got ${String(y)}`,
    );
    out[i] = y;
  }
  return out;
}

function checkSettings(s: Required<TrainingConfig>): void {
  const positiveInteger = (name: string, v: number) =>
    assert(
      Number.isInteger(v) && v >= 1,
      'INVALID_ARGUMENT',
      () => `training ${name}: expected a positive integer, got ${v}`,
    );
  positiveInteger('epochs', s.epochs);
  positiveInteger('batchSize', s.batchSize);
  positiveInteger('reselectEvery', s.reselectEvery);
  assert(
    s.learningRate > 0,
    'INVALID_ARGUMENT',
    () => `training learningRate: expected a positive number, got ${s.learningRate}`,
  );
  assert(
    s.validationFraction >= 0 && s.validationFraction < 1,
    'INVALID_ARGUMENT',
    () => `training validationFraction: expected a fraction in [0, 1), got ${s.validationFraction}`,
  );
  assert(
    s.classWeights.negative >= 0 && s.classWeights.positive >= 0,
    'INVALID_ARGUMENT',
    () =>
      `training classWeights: expected non-negative weights, got ${s.classWeights.negative}, ` +
      `${s.classWeights.positive}`,
  );
}
