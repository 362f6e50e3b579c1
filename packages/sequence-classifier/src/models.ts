// The scan-level sequence classifiers of paper section 3.3: a BiLSTM network and a pooling one.
import { LesionEncError, assert } from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import { FusedBidirectionalLstm, MaskedSequencePooling, SeededDropout } from './layers';

/** Which network: `rnn` (two bidirectional LSTM layers) or `pooling` (max and mean pooling). */
export type SequenceModelKind = 'rnn' | 'pooling';

/** Configuration of {@link createSequenceClassifier}. */
export interface SequenceClassifierConfig {
  kind: SequenceModelKind;
  /** Features per step (64 after ICA). */
  featureSize: number;
  /** Units of each direction of the two bidirectional LSTM layers (`rnn`). @defaultValue [64, 64] */
  lstmUnits?: readonly [number, number];
  /** Units of the hidden dense layer. @defaultValue 64 */
  denseUnits?: number;
  /** Dropout after the dense layer (`rnn`). @defaultValue 0.5 */
  dropout?: number;
  /** Seed of the initialisers and of dropout. @defaultValue 0 */
  seed?: number;
  /**
   * The slice spacing (mm) the training sequences were brought to with `resampleSequence`, so
   * that scans at other spacings are brought to it before prediction; null when the sequences
   * were used as they came. @defaultValue null
   */
  sliceSpacingMm?: number | null;
  /**
   * When the last steps' features are the per-slice shares of the lung each lesion class covers
   * (appended after the ICA sources), the training mean and standard deviation that standardise
   * them: `featureSize - mean.length` ICA sources come first. Null when the steps hold ICA
   * sources only. @defaultValue null
   */
  lesionShares?: LesionShareScaling | null;
}

/** How the per-slice lesion shares appended to each step were standardised. */
export interface LesionShareScaling {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** Defaults of {@link SequenceClassifierConfig} besides `kind` and `featureSize`. */
export const DEFAULT_SEQUENCE_CLASSIFIER = Object.freeze({
  lstmUnits: Object.freeze([64, 64] as const),
  denseUnits: 64,
  dropout: 0.5,
  seed: 0,
  sliceSpacingMm: null,
  lesionShares: null,
});

/** A configuration with every default filled in. */
export type ResolvedSequenceClassifierConfig = Required<SequenceClassifierConfig>;

/**
 * A batch of zero-padded sequences: `features` is [count, steps, featureSize] row-major, and
 * `lengths[i]` the true number of steps of sequence i (steps beyond it are padding, ignored).
 * Without `lengths`, every step is taken as real unless it is all zeros.
 */
export interface SequenceBatch {
  features: Float32Array;
  shape: readonly [number, number, number];
  lengths?: ArrayLike<number> | undefined;
}

/** A scan-level classifier: a tfjs-layers model and how it was built. */
export interface SequenceClassifier {
  readonly config: ResolvedSequenceClassifierConfig;
  /** The network: input [batch, steps, featureSize], output [batch, 1] probabilities. */
  readonly model: tfl.LayersModel;
  /**
   * Probability of the positive class for each sequence.
   *
   * @param batch - The sequences.
   * @param batchSize - Sequences per forward pass. @defaultValue 32
   */
  predict(batch: SequenceBatch, batchSize?: number): Promise<Float32Array>;
  dispose(): void;
}

/**
 * Fills in defaults and checks a configuration.
 *
 * @param config - Partial configuration.
 * @returns The full configuration.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for a bad value.
 */
export function resolveSequenceClassifierConfig(
  config: SequenceClassifierConfig,
): ResolvedSequenceClassifierConfig {
  const resolved: ResolvedSequenceClassifierConfig = {
    kind: config.kind,
    featureSize: config.featureSize,
    lstmUnits: config.lstmUnits ?? DEFAULT_SEQUENCE_CLASSIFIER.lstmUnits,
    denseUnits: config.denseUnits ?? DEFAULT_SEQUENCE_CLASSIFIER.denseUnits,
    dropout: config.dropout ?? DEFAULT_SEQUENCE_CLASSIFIER.dropout,
    seed: config.seed ?? DEFAULT_SEQUENCE_CLASSIFIER.seed,
    sliceSpacingMm: config.sliceSpacingMm ?? DEFAULT_SEQUENCE_CLASSIFIER.sliceSpacingMm,
    lesionShares: config.lesionShares ?? DEFAULT_SEQUENCE_CLASSIFIER.lesionShares,
  };
  assert(
    ['rnn', 'pooling'].includes(resolved.kind),
    'INVALID_ARGUMENT',
    () => `sequence classifier kind: expected 'rnn' or 'pooling', got '${String(resolved.kind)}'`,
  );
  const positive = (name: string, v: number) =>
    assert(
      Number.isInteger(v) && v >= 1,
      'INVALID_ARGUMENT',
      () => `sequence classifier ${name}: expected a positive integer, got ${v}`,
    );
  positive('featureSize', resolved.featureSize);
  positive('denseUnits', resolved.denseUnits);
  assert(
    resolved.lstmUnits.length === 2,
    'INVALID_ARGUMENT',
    () => `sequence classifier lstmUnits: expected 2 sizes, got ${resolved.lstmUnits.length}`,
  );
  resolved.lstmUnits.forEach((u) => positive('lstmUnits', u));
  assert(
    resolved.dropout >= 0 && resolved.dropout < 1,
    'INVALID_ARGUMENT',
    () => `sequence classifier dropout: expected a rate in [0, 1), got ${resolved.dropout}`,
  );
  assert(
    Number.isInteger(resolved.seed),
    'INVALID_ARGUMENT',
    () => `sequence classifier seed: expected an integer, got ${resolved.seed}`,
  );
  assert(
    resolved.sliceSpacingMm === null ||
      (Number.isFinite(resolved.sliceSpacingMm) && resolved.sliceSpacingMm > 0),
    'INVALID_ARGUMENT',
    () =>
      `sequence classifier sliceSpacingMm: expected a positive spacing or null, got ${String(resolved.sliceSpacingMm)}`,
  );
  const shares = resolved.lesionShares;
  assert(
    shares === null ||
      (shares.mean.length >= 1 &&
        shares.mean.length === shares.std.length &&
        shares.mean.length < resolved.featureSize &&
        shares.mean.every(Number.isFinite) &&
        shares.std.every((v) => Number.isFinite(v) && v > 0)),
    'INVALID_ARGUMENT',
    () =>
      `sequence classifier lesionShares: expected finite means and positive deviations of equal, ` +
      `non-zero length below featureSize ${resolved.featureSize}, got ${JSON.stringify(shares)}`,
  );
  return resolved;
}

/**
 * Builds the network of a configuration (layer names are stable, so weights load by name).
 *
 * `rnn`: Masking -> BiLSTM(lstmUnits[0], sequences) -> BiLSTM(lstmUnits[1]) -> Dense(relu) ->
 * Dropout -> Dense(1, sigmoid). `pooling`: Masking -> [max, mean] over real steps ->
 * Dense(relu) -> Dense(1, sigmoid).
 *
 * @param config - A resolved configuration.
 * @returns An uncompiled model.
 */
export function buildSequenceNetwork(config: ResolvedSequenceClassifierConfig): tfl.LayersModel {
  const { featureSize, seed } = config;
  const input = tfl.input({ shape: [null, featureSize], name: 'sequence' });
  const masked = tfl.layers
    .masking({ maskValue: 0, name: 'masking' })
    .apply(input) as tfl.SymbolicTensor;
  let hidden: tfl.SymbolicTensor;
  if (config.kind === 'rnn') {
    const first = new FusedBidirectionalLstm({
      units: config.lstmUnits[0],
      returnSequences: true,
      seed: seed * 16 + 1,
      name: 'bilstm_1',
    }).apply(masked) as tfl.SymbolicTensor;
    const second = new FusedBidirectionalLstm({
      units: config.lstmUnits[1],
      returnSequences: false,
      seed: seed * 16 + 5,
      name: 'bilstm_2',
    }).apply(first) as tfl.SymbolicTensor;
    const dense = tfl.layers
      .dense({
        units: config.denseUnits,
        activation: 'relu',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed * 16 + 9 }),
        name: 'dense',
      })
      .apply(second) as tfl.SymbolicTensor;
    hidden = new SeededDropout({
      rate: config.dropout,
      seed: seed * 16 + 10,
      name: 'dropout',
    }).apply(dense) as tfl.SymbolicTensor;
  } else {
    const pooled = new MaskedSequencePooling({ name: 'pooling' }).apply(
      masked,
    ) as tfl.SymbolicTensor;
    hidden = tfl.layers
      .dense({
        units: config.denseUnits,
        activation: 'relu',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed * 16 + 9 }),
        name: 'dense',
      })
      .apply(pooled) as tfl.SymbolicTensor;
  }
  const output = tfl.layers
    .dense({
      units: 1,
      activation: 'sigmoid',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: seed * 16 + 11 }),
      name: 'output',
    })
    .apply(hidden) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: output, name: `lesionenc_${config.kind}` });
}

/**
 * Checks a batch and makes its input tensor, zeroing every step beyond each true length.
 *
 * @param batch - The sequences.
 * @param featureSize - Features per step the model expects.
 * @param from - First sequence to take.
 * @param count - How many sequences to take.
 * @returns [count, steps, featureSize] (owned by the caller).
 * @throws {@link LesionEncError} `SHAPE_MISMATCH` for inconsistent shapes or lengths.
 */
export function sequenceTensor(
  batch: SequenceBatch,
  featureSize: number,
  from = 0,
  count = batch.shape[0] - from,
): tf.Tensor3D {
  const [n, steps, d] = batch.shape;
  assert(
    d === featureSize,
    'SHAPE_MISMATCH',
    () => `sequence features: expected ${featureSize} per step, got ${d}`,
  );
  assert(
    batch.features.length === n * steps * d,
    'SHAPE_MISMATCH',
    () =>
      `sequence features: expected ${n} x ${steps} x ${d} = ${n * steps * d} values, got ${batch.features.length}`,
  );
  const lengths = batch.lengths;
  if (lengths !== undefined) {
    assert(
      lengths.length === n,
      'SHAPE_MISMATCH',
      () => `sequence lengths: expected ${n}, got ${lengths.length}`,
    );
  }
  const values = batch.features.slice(from * steps * d, (from + count) * steps * d);
  for (let i = 0; i < count; i++) {
    const length = lengths === undefined ? steps : (lengths[from + i] as number);
    if (!Number.isInteger(length) || length < 0 || length > steps) {
      throw new LesionEncError(
        'SHAPE_MISMATCH',
        `sequence lengths[${from + i}]: expected an integer in [0, ${steps}], got ${length}`,
      );
    }
    values.fill(0, (i * steps + length) * d, (i + 1) * steps * d);
  }
  return tf.tensor3d(values, [count, steps, d]);
}

/**
 * Creates a scan-level classifier with fresh, seeded weights.
 *
 * @param config - Kind, feature size and sizes; see {@link SequenceClassifierConfig}.
 * @returns The classifier; call `dispose()` when done.
 * @example
 * ```ts
 * const classifier = createSequenceClassifier({ kind: 'rnn', featureSize: 64 });
 * const scores = await classifier.predict({ features, shape: [n, 300, 64], lengths });
 * classifier.dispose();
 * ```
 */
export function createSequenceClassifier(config: SequenceClassifierConfig): SequenceClassifier {
  const resolved = resolveSequenceClassifierConfig(config);
  return wrapModel(resolved, buildSequenceNetwork(resolved));
}

/**
 * Wraps a built or loaded model.
 *
 * @param config - Its configuration.
 * @param model - The network (the classifier takes ownership).
 * @returns The classifier.
 */
export function wrapModel(
  config: ResolvedSequenceClassifierConfig,
  model: tfl.LayersModel,
): SequenceClassifier {
  let disposed = false;
  return {
    config,
    model,
    predict: async (batch, batchSize = 32) => {
      assert(!disposed, 'INVALID_ARGUMENT', () => 'sequence classifier: used after dispose()');
      const n = batch.shape[0];
      const scores = new Float32Array(n);
      for (let from = 0; from < n; from += batchSize) {
        const count = Math.min(batchSize, n - from);
        const probabilities = tf.tidy(() => {
          const x = sequenceTensor(batch, config.featureSize, from, count);
          return model.predict(x) as tf.Tensor;
        });
        try {
          scores.set(await probabilities.data(), from);
        } finally {
          probabilities.dispose();
        }
      }
      return scores;
    },
    dispose: () => {
      if (disposed) return;
      disposed = true;
      model.dispose();
    },
  };
}
