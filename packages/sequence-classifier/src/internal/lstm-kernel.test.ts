// lstmRecurrence against the LSTM written out step by step in tfjs ops, forward and gradients,
// at a size where the wasm backend takes the per-step product (heap reads, reused left operand),
// with the gate arithmetic in the WebAssembly kernels and in TypeScript.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { lstmRecurrence, setWasmGateKernels } from './lstm-kernel';

/** Agreement asked of the fused LSTM (as in layers.test.ts). */
const PARITY_TOLERANCE = 1e-4;

// batch * units * 4 units = 2^16 multiply-adds, above the threshold for the backend product.
const BATCH = 4;
const STEPS = 9;
const UNITS = 64;
/** True lengths; the rest of each sequence is padding. */
const LENGTHS = [9, 5, 1, 7];

function inputs() {
  return tf.tidy(() => ({
    projected: tf.randomNormal([BATCH, STEPS, 4 * UNITS], 0, 1, 'float32', 11) as tf.Tensor3D,
    kernel: tf.randomNormal([UNITS, 4 * UNITS], 0, 0.2, 'float32', 12) as tf.Tensor2D,
    mask: tf.tensor2d(
      LENGTHS.flatMap((length) => Array.from({ length: STEPS }, (_, t) => (t < length ? 1 : 0))),
      [BATCH, STEPS],
    ),
    weights: tf.randomNormal([BATCH, STEPS, UNITS], 0, 1, 'float32', 13) as tf.Tensor3D,
  }));
}

// Keras' LSTM step with gate order i, f, g, o; a masked step keeps the previous state.
function referenceRecurrence(
  projected: tf.Tensor3D,
  kernel: tf.Tensor2D,
  mask: tf.Tensor2D,
  goBackwards: boolean,
): tf.Tensor3D {
  let h = tf.zeros([BATCH, UNITS]) as tf.Tensor2D;
  let c = tf.zeros([BATCH, UNITS]) as tf.Tensor2D;
  const outputs: tf.Tensor2D[] = new Array<tf.Tensor2D>(STEPS);
  for (let s = 0; s < STEPS; s++) {
    const t = goBackwards ? STEPS - 1 - s : s;
    const z = tf.add(
      tf.reshape(tf.slice(projected, [0, t, 0], [BATCH, 1, 4 * UNITS]), [BATCH, 4 * UNITS]),
      tf.matMul(h, kernel),
    );
    const [i, f, g, o] = tf.split(z, 4, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const cNew = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
    const hNew = tf.mul(tf.sigmoid(o), tf.tanh(cNew));
    const m = tf.slice(mask, [0, t], [BATCH, 1]);
    c = tf.add(tf.mul(m, cNew), tf.mul(tf.sub(1, m), c));
    h = tf.add(tf.mul(m, hNew), tf.mul(tf.sub(1, m), h));
    outputs[t] = h;
  }
  return tf.stack(outputs, 1) as tf.Tensor3D;
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

describe.each([
  ['cpu', 'wasm kernels'],
  ['wasm', 'wasm kernels'],
  ['cpu', 'TypeScript'],
  ['wasm', 'TypeScript'],
])('lstmRecurrence on %s, gates in %s', (backend, gates) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
    setWasmGateKernels(gates === 'wasm kernels');
  });
  afterAll(() => {
    setWasmGateKernels(true);
  });

  it.each([false, true])('matches the step-by-step LSTM (goBackwards %s)', (goBackwards) => {
    const { projected, kernel, mask, weights } = inputs();
    const ours = tf.tidy(() => lstmRecurrence(projected, kernel, mask, goBackwards));
    const theirs = tf.tidy(() => referenceRecurrence(projected, kernel, mask, goBackwards));
    expect(maxAbsDiff(ours, theirs)).toBeLessThan(PARITY_TOLERANCE);

    // Gradients of a weighted sum of all outputs, with respect to the projections and U.
    const loss =
      (run: typeof lstmRecurrence) =>
      (p: tf.Tensor, u: tf.Tensor): tf.Scalar =>
        tf.sum(tf.mul(run(p as tf.Tensor3D, u as tf.Tensor2D, mask, goBackwards), weights));
    const oursGrads = tf.grads(loss(lstmRecurrence))([projected, kernel]);
    const theirsGrads = tf.grads(loss(referenceRecurrence))([projected, kernel]);
    oursGrads.forEach((g, k) =>
      expect(maxAbsDiff(g, theirsGrads[k] as tf.Tensor)).toBeLessThan(PARITY_TOLERANCE),
    );
    tf.dispose([projected, kernel, mask, weights, ours, theirs, ...oursGrads, ...theirsGrads]);
  });

  it('leaves no tensors behind, forward or backward', () => {
    const { projected, kernel, mask, weights } = inputs();
    const step = () =>
      tf.grads((p: tf.Tensor, u: tf.Tensor) =>
        tf.sum(tf.mul(lstmRecurrence(p as tf.Tensor3D, u as tf.Tensor2D, mask, false), weights)),
      )([projected, kernel]);
    tf.dispose(step());
    const before = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) tf.dispose(step());
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([projected, kernel, mask, weights]);
  });
});
