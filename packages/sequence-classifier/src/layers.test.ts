// The fused bidirectional LSTM against tfjs-layers' own Bidirectional(LSTM), forward and
// gradients, with masks; and masked pooling against a direct computation. On cpu and wasm.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// tfjs-layers' orthogonal initialiser (used by its LSTM) needs the chained tensor methods.
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';

import { FusedBidirectionalLstm, MaskedSequencePooling } from './layers';

/** Agreement with tfjs-layers' LSTM the issue asks for. */
const PARITY_TOLERANCE = 1e-4;

const BATCH = 3;
const STEPS = 7;
const FEATURES = 5;
const UNITS = 4;
/** True lengths of the three sequences; the rest is zero padding. */
const LENGTHS = [7, 4, 1];

function paddedInput(): tf.Tensor3D {
  return tf.tidy(() => {
    const values = tf
      .randomNormal([BATCH, STEPS, FEATURES], 0, 1, 'float32', 3)
      .arraySync() as number[][][];
    values.forEach((sequence, b) =>
      sequence.forEach((step, t) => {
        if (t >= (LENGTHS[b] as number)) step.fill(0);
      }),
    );
    return tf.tensor3d(values);
  });
}

function maskedInput() {
  const input = tfl.input({ shape: [STEPS, FEATURES] });
  return { input, masked: tfl.layers.masking({ maskValue: 0 }).apply(input) as tfl.SymbolicTensor };
}

function buildPair(returnSequences: boolean) {
  let { input, masked } = maskedInput();
  const fusedLayer = new FusedBidirectionalLstm({ units: UNITS, returnSequences, seed: 1 });
  const fused = tfl.model({
    inputs: input,
    outputs: fusedLayer.apply(masked) as tfl.SymbolicTensor,
  });
  ({ input, masked } = maskedInput());
  const referenceLayer = tfl.layers.bidirectional({
    layer: tfl.layers.lstm({
      units: UNITS,
      recurrentActivation: 'sigmoid',
      returnSequences,
    }) as tfl.RNN,
    mergeMode: 'concat',
  });
  const reference = tfl.model({
    inputs: input,
    outputs: referenceLayer.apply(masked) as tfl.SymbolicTensor,
  });
  // Same weights in both: forward kernel, recurrent kernel, bias, then the backward ones.
  reference.setWeights(fused.getWeights());
  return { fused, reference, fusedLayer, referenceLayer };
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

describe.each(['cpu', 'wasm'])('FusedBidirectionalLstm on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
  });

  it.each([true, false])('matches tfjs-layers forward (returnSequences %s)', (returnSequences) => {
    const { fused, reference } = buildPair(returnSequences);
    const x = paddedInput();
    const ours = fused.predict(x) as tf.Tensor;
    const theirs = reference.predict(x) as tf.Tensor;
    expect(ours.shape).toEqual(theirs.shape);
    if (returnSequences) {
      // Compare real steps only: padded outputs are unspecified beyond "the mask hides them".
      const mask = tf.tensor3d(
        LENGTHS.flatMap((length) => Array.from({ length: STEPS }, (_, t) => (t < length ? 1 : 0))),
        [BATCH, STEPS, 1],
      );
      expect(maxAbsDiff(tf.mul(ours, mask), tf.mul(theirs, mask))).toBeLessThan(PARITY_TOLERANCE);
      mask.dispose();
    } else {
      expect(maxAbsDiff(ours, theirs)).toBeLessThan(PARITY_TOLERANCE);
    }
    tf.dispose([x, ours, theirs]);
    fused.dispose();
    reference.dispose();
  });

  it('matches tfjs-layers gradients of every weight', () => {
    const { fused, reference } = buildPair(false);
    const x = paddedInput();
    const target = tf.randomNormal([BATCH, 2 * UNITS], 0, 1, 'float32', 9);
    const gradients = (model: tfl.LayersModel) =>
      tf.variableGrads(
        () => tf.sum(tf.mul(model.apply(x, { training: true }) as tf.Tensor, target)) as tf.Scalar,
        model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val),
      );
    const ours = gradients(fused);
    const theirs = gradients(reference);
    const oursList = fused.trainableWeights.map((w) => ours.grads[w.name] as tf.Tensor);
    const theirsList = reference.trainableWeights.map((w) => theirs.grads[w.name] as tf.Tensor);
    expect(oursList).toHaveLength(6);
    oursList.forEach((g, i) => {
      expect(g.shape).toEqual((theirsList[i] as tf.Tensor).shape);
      expect(maxAbsDiff(g, theirsList[i] as tf.Tensor)).toBeLessThan(PARITY_TOLERANCE);
    });
    tf.dispose([
      x,
      target,
      ours.value,
      theirs.value,
      ...Object.values(ours.grads),
      ...Object.values(theirs.grads),
    ]);
    fused.dispose();
    reference.dispose();
  });

  it('pools the max and the mean of real steps only', () => {
    const input = tfl.input({ shape: [STEPS, FEATURES] });
    const masked = tfl.layers.masking({ maskValue: 0 }).apply(input) as tfl.SymbolicTensor;
    const model = tfl.model({
      inputs: input,
      outputs: new MaskedSequencePooling().apply(masked) as tfl.SymbolicTensor,
    });
    const x = paddedInput(); // normal values, negative ones included
    const out = (model.predict(x) as tf.Tensor).arraySync() as number[][];
    const values = x.arraySync() as number[][][];
    values.forEach((sequence, b) => {
      const real = sequence.slice(0, LENGTHS[b]);
      for (let f = 0; f < FEATURES; f++) {
        const column = real.map((step) => step[f] as number);
        expect(out[b]?.[f]).toBeCloseTo(Math.max(...column), 5);
        expect(out[b]?.[FEATURES + f]).toBeCloseTo(
          column.reduce((s, v) => s + v, 0) / column.length,
          5,
        );
      }
    });
    x.dispose();
    model.dispose();
  });
});
