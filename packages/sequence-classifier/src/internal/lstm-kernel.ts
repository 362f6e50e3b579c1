// The LSTM recurrence over a whole sequence as one operation with a hand-written gradient:
// per-timestep op dispatch is what makes tfjs-layers' LSTM slow, so the loop runs in plain code.
import * as tf from '@tensorflow/tfjs-core';

/** Shape facts of one recurrence call. */
interface Dims {
  batch: number;
  steps: number;
  units: number;
}

/** Everything the backward pass needs from the forward pass of one call. */
interface Saved extends Dims {
  /** Gates after their activations, [step][batch][4 units] in order i, f, g, o. */
  gates: Float32Array;
  /** tanh of the new cell state, [step][batch][units]. */
  tanhCell: Float32Array;
  /** Cell and hidden state before each step, [step][batch][units]. */
  cellBefore: Float32Array;
  hiddenBefore: Float32Array;
  mask: Float32Array;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * Runs the LSTM recurrence given the input projections of every step.
 *
 * Gate order is Keras' (input, forget, cell, output) with sigmoid gates and tanh activations;
 * a step whose mask is 0 leaves state and output as they were (Keras' masking).
 *
 * @param projected - `x W + b` for every step, [batch, steps, 4 units] (row-major).
 * @param recurrent - The recurrent kernel U, [units, 4 units].
 * @param mask - 1 for real steps, 0 for padding, [batch, steps].
 * @param dims - Sizes.
 * @param goBackwards - Process steps from last to first.
 * @returns Outputs in original step order, [batch, steps, units], and what backward needs.
 */
function forward(
  projected: Float32Array,
  recurrent: Float32Array,
  mask: Float32Array,
  dims: Dims,
  goBackwards: boolean,
): { outputs: Float32Array; saved: Saved } {
  const { batch, steps, units } = dims;
  const four = 4 * units;
  const outputs = new Float32Array(batch * steps * units);
  const gates = new Float32Array(steps * batch * four);
  const tanhCell = new Float32Array(steps * batch * units);
  const cellBefore = new Float32Array(steps * batch * units);
  const hiddenBefore = new Float32Array(steps * batch * units);
  const h = new Float64Array(batch * units);
  const c = new Float64Array(batch * units);
  const z = new Float64Array(four);

  for (let s = 0; s < steps; s++) {
    const t = goBackwards ? steps - 1 - s : s;
    for (let r = 0; r < batch; r++) {
      const stateOffset = r * units;
      const saveOffset = (s * batch + r) * units;
      for (let j = 0; j < units; j++) {
        cellBefore[saveOffset + j] = c[stateOffset + j] as number;
        hiddenBefore[saveOffset + j] = h[stateOffset + j] as number;
      }
      const m = mask[r * steps + t] as number;
      if (m !== 0) {
        // z = projected[r, t] + h[r] U
        const p = (r * steps + t) * four;
        for (let q = 0; q < four; q++) z[q] = projected[p + q] as number;
        for (let k = 0; k < units; k++) {
          const hk = h[stateOffset + k] as number;
          if (hk === 0) continue;
          const u = k * four;
          for (let q = 0; q < four; q++)
            z[q] = (z[q] as number) + hk * (recurrent[u + q] as number);
        }
        const g = (s * batch + r) * four;
        for (let j = 0; j < units; j++) {
          const i = sigmoid(z[j] as number);
          const f = sigmoid(z[units + j] as number);
          const cand = Math.tanh(z[2 * units + j] as number);
          const o = sigmoid(z[3 * units + j] as number);
          gates[g + j] = i;
          gates[g + units + j] = f;
          gates[g + 2 * units + j] = cand;
          gates[g + 3 * units + j] = o;
          const cell = f * (c[stateOffset + j] as number) + i * cand;
          const tc = Math.tanh(cell);
          tanhCell[saveOffset + j] = tc;
          c[stateOffset + j] = cell;
          h[stateOffset + j] = o * tc;
        }
      }
      const out = (r * steps + t) * units;
      for (let j = 0; j < units; j++) outputs[out + j] = h[stateOffset + j] as number;
    }
  }
  return { outputs, saved: { ...dims, gates, tanhCell, cellBefore, hiddenBefore, mask } };
}

/**
 * Back-propagation through time for {@link forward}.
 *
 * @param dOutputs - Gradient of the loss with respect to the outputs, [batch, steps, units].
 * @param recurrent - U, [units, 4 units].
 * @param saved - From the forward pass.
 * @param goBackwards - As in the forward pass.
 * @returns Gradients of the projections [batch, steps, 4 units] and of U [units, 4 units].
 */
function backward(
  dOutputs: Float32Array,
  recurrent: Float32Array,
  saved: Saved,
  goBackwards: boolean,
): { dProjected: Float32Array; dRecurrent: Float32Array } {
  const { batch, steps, units, gates, tanhCell, cellBefore, hiddenBefore, mask } = saved;
  const four = 4 * units;
  const dProjected = new Float32Array(batch * steps * four);
  const dRecurrent = new Float64Array(units * four);
  const dh = new Float64Array(batch * units);
  const dc = new Float64Array(batch * units);
  const dz = new Float64Array(four);

  for (let s = steps - 1; s >= 0; s--) {
    const t = goBackwards ? steps - 1 - s : s;
    for (let r = 0; r < batch; r++) {
      const stateOffset = r * units;
      const out = (r * steps + t) * units;
      for (let j = 0; j < units; j++)
        dh[stateOffset + j] = (dh[stateOffset + j] as number) + (dOutputs[out + j] as number);
      // A masked step passed state through unchanged, and so does its gradient.
      if ((mask[r * steps + t] as number) === 0) continue;

      const g = (s * batch + r) * four;
      const saveOffset = (s * batch + r) * units;
      for (let j = 0; j < units; j++) {
        const i = gates[g + j] as number;
        const f = gates[g + units + j] as number;
        const cand = gates[g + 2 * units + j] as number;
        const o = gates[g + 3 * units + j] as number;
        const tc = tanhCell[saveOffset + j] as number;
        const dhj = dh[stateOffset + j] as number;
        const dcell = (dc[stateOffset + j] as number) + dhj * o * (1 - tc * tc);
        dz[j] = dcell * cand * i * (1 - i);
        dz[units + j] = dcell * (cellBefore[saveOffset + j] as number) * f * (1 - f);
        dz[2 * units + j] = dcell * i * (1 - cand * cand);
        dz[3 * units + j] = dhj * tc * o * (1 - o);
        dc[stateOffset + j] = dcell * f;
      }
      const p = (r * steps + t) * four;
      for (let q = 0; q < four; q++) dProjected[p + q] = dz[q] as number;
      // dh_prev = dz U^T; dU += h_prev^T dz.
      for (let k = 0; k < units; k++) {
        const u = k * four;
        let sum = 0;
        for (let q = 0; q < four; q++) sum += (dz[q] as number) * (recurrent[u + q] as number);
        dh[stateOffset + k] = sum;
        const hk = hiddenBefore[saveOffset + k] as number;
        if (hk === 0) continue;
        for (let q = 0; q < four; q++)
          dRecurrent[u + q] = (dRecurrent[u + q] as number) + hk * (dz[q] as number);
      }
    }
  }
  return { dProjected, dRecurrent: Float32Array.from(dRecurrent) };
}

/**
 * The LSTM recurrence as one differentiable tfjs operation on any backend: the input
 * projection stays a tfjs matMul (fast on every backend), the step loop and its gradient run in
 * plain code over the downloaded values.
 *
 * @param projected - `x W + b`, [batch, steps, 4 units]; not disposed.
 * @param recurrentKernel - U, [units, 4 units]; not disposed.
 * @param mask - 1 for real steps and 0 for padding, [batch, steps] float32; not disposed.
 * @param goBackwards - Process the sequence from its end.
 * @returns Hidden states for every step in original order, [batch, steps, units] (owned by the
 *   caller). Padding steps repeat the state of the last real step processed.
 */
export function lstmRecurrence(
  projected: tf.Tensor3D,
  recurrentKernel: tf.Tensor2D,
  mask: tf.Tensor2D,
  goBackwards: boolean,
): tf.Tensor3D {
  const [batch, steps, four] = projected.shape;
  const units = four / 4;
  // The mask is read as plain data and kept off the tape: it has no gradient, and the ops that
  // made it (not-equal, any) have none either.
  const mData = Float32Array.from(mask.dataSync());
  const run = tf.customGrad((p, u, save) => {
    const pData = (p as tf.Tensor).dataSync() as Float32Array;
    const uData = (u as tf.Tensor).dataSync() as Float32Array;
    const dims = { batch, steps, units };
    const { outputs, saved } = forward(pData, uData, mData, dims, goBackwards);
    (save as (tensors: tf.Tensor[]) => void)([]);
    return {
      value: tf.tensor3d(outputs, [batch, steps, units]),
      gradFunc: (dy: tf.Tensor) => {
        const { dProjected, dRecurrent } = backward(
          dy.dataSync() as Float32Array,
          uData,
          saved,
          goBackwards,
        );
        return [
          tf.tensor3d(dProjected, [batch, steps, four]),
          tf.tensor2d(dRecurrent, [units, four]),
        ];
      },
    };
  });
  return run(projected, recurrentKernel) as tf.Tensor3D;
}
