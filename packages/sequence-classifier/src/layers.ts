// Custom tfjs-layers layers: a bidirectional LSTM on the fused recurrence, and masked pooling.
// Both honour the mask of a Masking layer, so padded steps never change an output.
import { type Random, createRandom } from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import { lstmRecurrence, projectInput } from './internal/lstm-kernel';

type Kwargs = Record<string, unknown>;
type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;

/** Configuration of {@link FusedBidirectionalLstm}. */
export interface FusedBidirectionalLstmArgs {
  /** Units of each direction; the output has twice as many features. */
  units: number;
  /** Output every step ([batch, steps, 2 units]) or only the final states ([batch, 2 units]). */
  returnSequences?: boolean;
  /** Seed of the weight initialisers. */
  seed?: number;
  name?: string;
  inputShape?: (number | null)[];
}

function maskOf(inputs: tf.Tensor, kwargs: Kwargs): tf.Tensor2D {
  const mask = kwargs.mask as tf.Tensor | undefined;
  const [batch, steps] = inputs.shape as [number, number, number];
  return mask === undefined || mask === null
    ? tf.ones([batch, steps])
    : (tf.cast(mask, 'float32') as tf.Tensor2D);
}

// A rows x cols matrix (rows <= cols) with orthonormal rows, by Gram-Schmidt on Gaussian rows
// (what Keras' orthogonal initialiser gives, from the project's seeded generator).
function orthogonalRows(rows: number, cols: number, random: Random): Float32Array {
  const m = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = m.subarray(r * cols, (r + 1) * cols);
    for (let c = 0; c < cols; c++) row[c] = random.normal();
    for (let attempt = 0; attempt < 2; attempt++) {
      for (let q = 0; q < r; q++) {
        const prev = m.subarray(q * cols, (q + 1) * cols);
        let dot = 0;
        for (let c = 0; c < cols; c++) dot += (row[c] as number) * (prev[c] as number);
        for (let c = 0; c < cols; c++) row[c] = (row[c] as number) - dot * (prev[c] as number);
      }
    }
    let norm = 0;
    for (let c = 0; c < cols; c++) norm += (row[c] as number) ** 2;
    const scale = 1 / Math.sqrt(norm);
    for (let c = 0; c < cols; c++) row[c] = (row[c] as number) * scale;
  }
  return Float32Array.from(m);
}

/**
 * Keras' `Bidirectional(LSTM(units))` (merge mode concat, sigmoid gates, unit forget bias,
 * Glorot-uniform kernels, orthogonal recurrent kernels), with the recurrence of each direction
 * run as one fused operation with its own gradient. Agrees with tfjs-layers' LSTM of
 * `recurrentActivation: 'sigmoid'` to float32 rounding, and is several times faster.
 */
export class FusedBidirectionalLstm extends tfl.layers.Layer {
  /** @internal The tfjs serialisation name. */
  static readonly className = 'LesionencFusedBidirectionalLstm';
  readonly units: number;
  readonly returnSequences: boolean;
  private readonly seed: number | undefined;
  private weightsOf: Record<'forward' | 'backward', tfl.LayerVariable[]> = {
    forward: [],
    backward: [],
  };

  /** @param args - Units, whether to return sequences, seed, name. */
  constructor(args: FusedBidirectionalLstmArgs) {
    super(args as LayerArgs & FusedBidirectionalLstmArgs);
    this.units = args.units;
    this.returnSequences = args.returnSequences ?? false;
    this.seed = args.seed;
    this.supportsMasking = true;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const features = shape[shape.length - 1] as number;
    const four = 4 * this.units;
    const seedOf = (offset: number) => (this.seed === undefined ? undefined : this.seed + offset);
    (['forward', 'backward'] as const).forEach((direction, d) => {
      this.weightsOf[direction] = [
        this.addWeight(
          `${direction}_kernel`,
          [features, four],
          'float32',
          tfl.initializers.glorotUniform({ seed: seedOf(3 * d) }),
        ),
        this.addWeight(
          `${direction}_recurrent_kernel`,
          [this.units, four],
          'float32',
          tfl.initializers.zeros(),
        ),
        this.addWeight(`${direction}_bias`, [four], 'float32', tfl.initializers.zeros()),
      ];
      const orthogonal = tf.tensor2d(
        orthogonalRows(this.units, four, createRandom(seedOf(3 * d + 1) ?? Date.now())),
        [this.units, four],
      );
      this.weightsOf[direction][1]?.write(orthogonal);
      orthogonal.dispose();
      // Keras' unit forget bias: the forget gate starts open.
      const bias = new Float32Array(four).fill(1, this.units, 2 * this.units);
      const initial = tf.tensor1d(bias);
      this.weightsOf[direction][2]?.write(initial);
      initial.dispose();
    });
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return this.returnSequences
      ? [shape[0] ?? null, shape[1] ?? null, 2 * this.units]
      : [shape[0] ?? null, 2 * this.units];
  }

  override computeMask(
    _inputs: tf.Tensor | tf.Tensor[],
    mask?: tf.Tensor | tf.Tensor[],
  ): tf.Tensor {
    // tfjs types the mask as always present; a null mask means "no mask" at run time.
    return (this.returnSequences && mask !== undefined ? mask : null) as unknown as tf.Tensor;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const [batch, steps, features] = x.shape;
      const mask = maskOf(x, kwargs);
      const flat = tf.reshape(x, [batch * steps, features]) as tf.Tensor2D;
      const run = (direction: 'forward' | 'backward') => {
        const [kernel, recurrent, bias] = this.weightsOf[direction].map((w) => w.read()) as [
          tf.Tensor2D,
          tf.Tensor2D,
          tf.Tensor1D,
        ];
        const projected = tf.reshape(projectInput(flat, kernel, bias), [
          batch,
          steps,
          4 * this.units,
        ]) as tf.Tensor3D;
        return lstmRecurrence(projected, recurrent, mask, direction === 'backward');
      };
      const forwardOut = run('forward');
      const backwardOut = run('backward');
      if (this.returnSequences) return tf.concat([forwardOut, backwardOut], 2);
      // The forward direction ends at the last step, the backward one at the first.
      const last = tf.reshape(tf.slice(forwardOut, [0, steps - 1, 0], [batch, 1, this.units]), [
        batch,
        this.units,
      ]);
      const first = tf.reshape(tf.slice(backwardOut, [0, 0, 0], [batch, 1, this.units]), [
        batch,
        this.units,
      ]);
      return tf.concat([last, first], 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      returnSequences: this.returnSequences,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}

/**
 * Max and mean over the real (unmasked) steps of a sequence, concatenated: [batch, 2 features].
 * A sequence with no real step gives zeros.
 */
export class MaskedSequencePooling extends tfl.layers.Layer {
  /** @internal The tfjs serialisation name. */
  static readonly className = 'LesionencMaskedSequencePooling';

  /** @param args - Name and input shape, as for any layer. */
  constructor(args: LayerArgs = {}) {
    super(args);
    this.supportsMasking = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [shape[0] ?? null, 2 * (shape[shape.length - 1] as number)];
  }

  override computeMask(): tf.Tensor {
    return null as unknown as tf.Tensor;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const mask = tf.expandDims(maskOf(x, kwargs), 2);
      const count = tf.maximum(tf.sum(mask, 1), 1);
      const mean = tf.div(tf.sum(tf.mul(x, mask), 1), count);
      const hasSteps = tf.greater(tf.sum(mask, 1), 0);
      const lowest = tf.fill(x.shape, -3.4e38);
      const max = tf.max(tf.where(tf.cast(tf.broadcastTo(mask, x.shape), 'bool'), x, lowest), 1);
      const safeMax = tf.where(tf.broadcastTo(hasSteps, max.shape), max, tf.zerosLike(max));
      return tf.concat([safeMax, mean], 1);
    });
  }
}

/** Configuration of {@link SeededDropout}. */
export interface SeededDropoutArgs {
  rate: number;
  /** Seed of the stream of masks; each training call draws the next mask. */
  seed?: number;
  name?: string;
}

/**
 * Dropout whose masks come from a seeded stream: reproducible like a seeded Keras run, yet a
 * new mask at every training step (tfjs' own Dropout with a seed repeats one mask forever).
 */
export class SeededDropout extends tfl.layers.Layer {
  /** @internal The tfjs serialisation name. */
  static readonly className = 'LesionencSeededDropout';
  readonly rate: number;
  private readonly seed: number;
  private readonly random: Random;

  /** @param args - Rate, seed and name. */
  constructor(args: SeededDropoutArgs) {
    super(args);
    this.rate = args.rate;
    this.seed = args.seed ?? 0;
    this.random = createRandom(this.seed);
    this.supportsMasking = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor;
    if (kwargs.training !== true || this.rate === 0) return tf.clone(x);
    return tf.dropout(x, this.rate, undefined, this.random.nextInt(2147483647));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}

tf.serialization.registerClass(FusedBidirectionalLstm);
tf.serialization.registerClass(SeededDropout);
tf.serialization.registerClass(MaskedSequencePooling);
