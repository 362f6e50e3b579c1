// The LSTM recurrence over a whole sequence as one operation with a hand-written gradient.
// tfjs-layers' LSTM dispatches about a dozen ops per timestep, each of them recorded for the
// gradient; here each step is one backend matMul (h U) plus the gate arithmetic in plain code,
// and the backward pass is one matMul per step plus a single matMul for dU over all steps.
import * as tf from '@tensorflow/tfjs-core';

import { sigmoidInPlace, tanhInPlace } from './activations';

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

/**
 * `a K` for a row-major [rows, cols] block `a` and a fixed kernel K. The returned array is owned by
 * the product and overwritten by its next call.
 */
type KernelProduct = (a: Float32Array, rows: number, cols: number) => Float32Array;

/** The one method of tfjs' wasm backend used here; not in tfjs' public types. */
interface HeapBackend {
  typedArrayFromHeap(tensor: tf.TensorInfo): Float32Array;
}

/**
 * Below this many multiply-adds per step a plain loop beats a wasm matMul. Measured for [b, u] x
 * [u, 4u] on 2 cores: 1k MACs 4 us plain against 10 us wasm, 8k MACs 38 us against 8 us, 512k
 * MACs 1.8 ms against 42 us; plain code runs at about 0.3 GMAC/s.
 */
const WASM_PRODUCT_MIN_MACS = 1 << 11;

/** The same for other backends except cpu; not re-measured (webgl pays a read-back per step). */
const BACKEND_PRODUCT_MIN_MACS = 1 << 16;

// The cpu backend's matMul is itself plain code with a per-call overhead; other backends win
// once a step's product is large enough.
function prefersBackendProduct(rows: number, cols: number, width: number): boolean {
  const backend = tf.getBackend();
  if (backend === 'cpu') return false;
  const threshold = backend === 'wasm' ? WASM_PRODUCT_MIN_MACS : BACKEND_PRODUCT_MIN_MACS;
  return rows * cols * width >= threshold;
}

// The per-step product with `kernel` ([cols, width]) for blocks of `rows` rows, and its cleanup.
// On wasm the left operand is one tensor whose heap memory is rewritten each step and the result
// is read from the heap in place, which saves a tensor upload and a copy-out per step.
function createKernelProduct(
  kernel: tf.Tensor2D,
  rows: number,
): { product: KernelProduct; dispose: () => void } {
  const [cols, width] = kernel.shape;
  if (!prefersBackendProduct(rows, cols, width)) {
    const kernelData = kernel.dataSync() as Float32Array;
    return { product: (a) => multiplyPlain(a, rows, cols, kernelData, width), dispose: () => {} };
  }

  const backend = tf.backend() as Partial<HeapBackend>;
  if (tf.getBackend() === 'wasm' && typeof backend.typedArrayFromHeap === 'function') {
    const heap = backend as HeapBackend;
    const left = tf.tensor2d(new Float32Array(rows * cols), [rows, cols]);
    const out = new Float32Array(rows * width);
    return {
      product: (a) => {
        // A fresh view each time: heap growth detaches earlier ones.
        heap.typedArrayFromHeap(left).set(a);
        const result = tf.matMul(left, kernel);
        out.set(heap.typedArrayFromHeap(result));
        result.dispose();
        return out;
      },
      dispose: () => left.dispose(),
    };
  }

  return {
    product: (a) => {
      const left = tf.tensor2d(ownBuffer(a), [rows, cols]);
      const result = tf.matMul(left, kernel);
      const values = result.dataSync() as Float32Array;
      left.dispose();
      result.dispose();
      return values;
    },
    dispose: () => {},
  };
}

// a [rows, cols] times b [cols, width], row by row as scaled row sums of b.
function multiplyPlain(
  a: Float32Array,
  rows: number,
  cols: number,
  b: Float32Array,
  width: number,
): Float32Array {
  const out = new Float32Array(rows * width);
  const acc = new Float64Array(width);
  for (let r = 0; r < rows; r++) {
    acc.fill(0);
    for (let k = 0; k < cols; k++) {
      const x = a[r * cols + k] as number;
      if (x === 0) continue;
      const row = k * width;
      for (let q = 0; q < width; q++) acc[q] = (acc[q] as number) + x * (b[row + q] as number);
    }
    out.set(acc, r * width);
  }
  return out;
}

/** The smallest normal float32; gradients below it are flushed to zero. */
const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

// Gradients decay over long sequences into float32 subnormals, which wasm (IEEE without
// flush-to-zero) multiplies many times slower on x86: the products for dU and for the input
// projection's gradients took three times as long. Values below 1.2e-38 become 0, a change no
// float32 sum of normal numbers can resolve.
function normalOrZero(v: number): number {
  return v < FLOAT32_MIN_NORMAL && v > -FLOAT32_MIN_NORMAL ? 0 : v;
}

// Backends may copy a view's whole underlying buffer when a tensor is made from it: give them a
// buffer of exactly the view's size.
function ownBuffer(a: Float32Array): Float32Array {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice();
}

// Runs the recurrence given the input projections of every step ([batch, steps, 4 units]);
// gate order is Keras' (input, forget, cell, output); a step whose mask is 0 leaves state and
// output as they were (Keras' masking). Outputs come back in original step order.
function forward(
  projected: Float32Array,
  product: KernelProduct,
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
  const h = new Float32Array(batch * units);
  const c = new Float32Array(batch * units);

  for (let s = 0; s < steps; s++) {
    const t = goBackwards ? steps - 1 - s : s;
    const stepState = s * batch * units;
    cellBefore.set(c, stepState);
    hiddenBefore.set(h, stepState);
    const recurrent = product(h, batch, units);
    for (let r = 0; r < batch; r++) {
      const stateOffset = r * units;
      const out = (r * steps + t) * units;
      if ((mask[r * steps + t] as number) === 0) {
        for (let j = 0; j < units; j++) outputs[out + j] = h[stateOffset + j] as number;
        continue;
      }

      // Pre-activations of all four gates first, then one tight loop per activation.
      const p = (r * steps + t) * four;
      const zr = r * four;
      const g = (s * batch + r) * four;
      for (let q = 0; q < four; q++) {
        gates[g + q] = (projected[p + q] as number) + (recurrent[zr + q] as number);
      }
      sigmoidInPlace(gates, g, g + 2 * units);
      tanhInPlace(gates, g + 2 * units, g + 3 * units);
      sigmoidInPlace(gates, g + 3 * units, g + four);

      // The new cell state goes into tanhCell first and becomes its tanh in place.
      const saveOffset = stepState + stateOffset;
      for (let j = 0; j < units; j++) {
        const cell =
          (gates[g + units + j] as number) * (c[stateOffset + j] as number) +
          (gates[g + j] as number) * (gates[g + 2 * units + j] as number);
        c[stateOffset + j] = cell;
        tanhCell[saveOffset + j] = cell;
      }
      tanhInPlace(tanhCell, saveOffset, saveOffset + units);
      for (let j = 0; j < units; j++) {
        const hj = (gates[g + 3 * units + j] as number) * (tanhCell[saveOffset + j] as number);
        h[stateOffset + j] = hj;
        outputs[out + j] = hj;
      }
    }
  }
  return { outputs, saved: { ...dims, gates, tanhCell, cellBefore, hiddenBefore, mask } };
}

// Back-propagation through time for `forward`: gradients of the projections
// ([batch, steps, 4 units]) and, in step-major order, of the gate pre-activations, from which the
// caller forms dU = H_before^T dZ in one product.
function backward(
  dOutputs: Float32Array,
  product: KernelProduct,
  saved: Saved,
  goBackwards: boolean,
): { dProjected: Float32Array; dGates: Float32Array } {
  const { batch, steps, units, gates, tanhCell, cellBefore, mask } = saved;
  const four = 4 * units;
  const dProjected = new Float32Array(batch * steps * four);
  const dGates = new Float32Array(steps * batch * four);
  const dh = new Float32Array(batch * units);
  const dc = new Float32Array(batch * units);

  for (let s = steps - 1; s >= 0; s--) {
    const t = goBackwards ? steps - 1 - s : s;
    const dz = dGates.subarray(s * batch * four, (s + 1) * batch * four);
    let anyReal = false;
    for (let r = 0; r < batch; r++) {
      const stateOffset = r * units;
      const out = (r * steps + t) * units;
      for (let j = 0; j < units; j++) {
        dh[stateOffset + j] = (dh[stateOffset + j] as number) + (dOutputs[out + j] as number);
      }
      // A masked step passed the state through unchanged, and so does its gradient.
      if ((mask[r * steps + t] as number) === 0) continue;
      anyReal = true;
      const g = (s * batch + r) * four;
      const saveOffset = (s * batch + r) * units;
      const zr = r * four;
      for (let j = 0; j < units; j++) {
        const i = gates[g + j] as number;
        const f = gates[g + units + j] as number;
        const cand = gates[g + 2 * units + j] as number;
        const o = gates[g + 3 * units + j] as number;
        const tc = tanhCell[saveOffset + j] as number;
        const dhj = dh[stateOffset + j] as number;
        const dcell = (dc[stateOffset + j] as number) + dhj * o * (1 - tc * tc);
        dz[zr + j] = normalOrZero(dcell * cand * i * (1 - i));
        dz[zr + units + j] = normalOrZero(
          dcell * (cellBefore[saveOffset + j] as number) * f * (1 - f),
        );
        dz[zr + 2 * units + j] = normalOrZero(dcell * i * (1 - cand * cand));
        dz[zr + 3 * units + j] = normalOrZero(dhj * tc * o * (1 - o));
        dc[stateOffset + j] = dcell * f;
      }
      dProjected.set(dz.subarray(zr, zr + four), (r * steps + t) * four);
    }
    if (!anyReal) continue;
    // dh_before = dz U^T for real rows; masked rows keep their carried gradient.
    const dhBefore = product(dz, batch, four);
    for (let r = 0; r < batch; r++) {
      if ((mask[r * steps + t] as number) === 0) continue;
      dh.set(dhBefore.subarray(r * units, (r + 1) * units), r * units);
    }
  }
  return { dProjected, dGates };
}

/**
 * The LSTM recurrence as one differentiable tfjs operation on any backend: the input
 * projection stays outside (one large matMul), the steps run here with one backend matMul each.
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
  const maskData = Float32Array.from(mask.dataSync());
  const run = tf.customGrad((p, u, save) => {
    const kernel = u as tf.Tensor2D;
    const dims = { batch, steps, units };
    const projectedData = (p as tf.Tensor).dataSync() as Float32Array;
    const forwardProduct = createKernelProduct(kernel, batch);
    let result: ReturnType<typeof forward>;
    try {
      result = forward(projectedData, forwardProduct.product, maskData, dims, goBackwards);
    } finally {
      forwardProduct.dispose();
    }
    const { outputs, saved } = result;
    (save as (tensors: tf.Tensor[]) => void)([kernel]);
    return {
      value: tf.tensor3d(outputs, [batch, steps, units]),
      gradFunc: (dy: tf.Tensor, savedTensors: tf.Tensor[]) => {
        // Transposes made once, so every product is a plain one (wasm's transposed matMul is slow).
        const kernelT = tf.transpose(savedTensors[0] as tf.Tensor2D);
        const backProduct = createKernelProduct(kernelT, batch);
        let dProjected: Float32Array;
        let dGates: Float32Array;
        try {
          ({ dProjected, dGates } = backward(
            dy.dataSync() as Float32Array,
            backProduct.product,
            saved,
            goBackwards,
          ));
        } finally {
          backProduct.dispose();
          kernelT.dispose();
        }

        // dU = H_before^T dZ, formed as (dZ^T H_before)^T: the wasm backend repacks a product's
        // right operand whenever it is a new tensor, and H_before (units wide) is four times
        // cheaper to repack than dZ; the transposes are cheap next to that.
        const rows = steps * batch;
        const dRecurrent = tf.tidy(() =>
          tf.transpose(
            tf.matMul(
              tf.transpose(tf.tensor2d(dGates, [rows, four])),
              tf.tensor2d(saved.hiddenBefore, [rows, units]),
            ),
          ),
        );
        return [tf.tensor3d(dProjected, [batch, steps, four]), dRecurrent];
      },
    };
  });
  return run(projected, recurrentKernel) as tf.Tensor3D;
}

/**
 * `x W + b` for x [rows, features], with a gradient whose products are all untransposed
 * (tfjs' own matMul gradient uses transposed products, which are slow on wasm).
 *
 * @param x - [rows, features]; not disposed.
 * @param kernel - W, [features, outputs]; not disposed.
 * @param bias - b, [outputs]; not disposed.
 * @returns [rows, outputs] (owned by the caller).
 */
export function projectInput(x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
  const run = tf.customGrad((xIn, wIn, bIn, save) => {
    const xs = xIn as tf.Tensor2D;
    const w = wIn as tf.Tensor2D;
    (save as (tensors: tf.Tensor[]) => void)([xs, w]);
    return {
      value: tf.add(tf.matMul(xs, w), bIn as tf.Tensor1D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedX, savedW] = saved as [tf.Tensor2D, tf.Tensor2D];
        const d = dy as tf.Tensor2D;
        return tf.tidy(() => {
          // dW = x^T d formed as (d^T x)^T for the same reason as dU in lstmRecurrence; the bias
          // gradient sums the rows of d^T, which on wasm avoids the transpose a column sum makes.
          const dT = tf.transpose(d);
          return [
            tf.matMul(d, tf.transpose(savedW)),
            tf.transpose(tf.matMul(dT, savedX)),
            tf.sum(dT, 1),
          ];
        });
      },
    };
  });
  return run(x, kernel, bias) as tf.Tensor2D;
}
