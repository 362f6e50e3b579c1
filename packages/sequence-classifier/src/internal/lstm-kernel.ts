// The LSTM recurrence over a whole sequence as one operation with a hand-written gradient.
// tfjs-layers' LSTM dispatches about a dozen ops per timestep, each of them recorded for the
// gradient; here each step is one backend matMul (h U) plus the gate arithmetic, and the
// backward pass is one matMul per step plus a single matMul for dU over all steps. The gate
// arithmetic runs in a small WebAssembly SIMD kernel (native/lstm-gates.c) wherever that loads,
// and otherwise in the plain TypeScript below, which computes the same values.
import { WasmWorkspace, loadWasmKernels } from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-core';

import { sigmoidInPlace, tanhInPlace } from './activations';
import { WASM_BASE64 } from './lstm-gates-wasm';

/** Shape facts of one recurrence call. */
interface Dims {
  batch: number;
  steps: number;
  units: number;
}

/** Everything the backward pass needs from the forward pass of one call. */
interface Saved extends Dims {
  /**
   * Gates after their activations, [step][batch][4 units] in order i, f, g, o (steps in
   * processing order); rows of masked steps are unspecified.
   */
  gates: Float32Array;
  /** Cell state after each step, [step][batch][units]; a masked step has the carried one. */
  cells: Float32Array;
  /** The outputs, [batch][steps][units] in original step order. */
  outputs: Float32Array;
  mask: Float32Array;
}

/**
 * Writes `a K` for a row-major [rows, cols] block `a` and a fixed kernel K ([cols, width]) into
 * `out` ([rows, width]).
 */
type KernelProduct = (a: Float32Array, out: Float32Array) => void;

/** The one method of tfjs' wasm backend used here; not in tfjs' public types. */
interface HeapBackend {
  typedArrayFromHeap(tensor: tf.TensorInfo): Float32Array;
}

/** Exports of native/lstm-gates.c; pointers are byte offsets into the module's memory. */
interface GateExports {
  lstm_forward_step(
    projected: number,
    recurrent: number,
    mask: number,
    h: number,
    c: number,
    gates: number,
    cells: number,
    outputs: number,
    batch: number,
    steps: number,
    units: number,
    s: number,
    t: number,
  ): void;
  lstm_backward_step(
    dOutputs: number,
    mask: number,
    gates: number,
    cells: number,
    dh: number,
    dc: number,
    dz: number,
    dProjected: number,
    batch: number,
    steps: number,
    units: number,
    s: number,
    t: number,
  ): number;
  lstm_take_hidden_grad(
    dhBefore: number,
    mask: number,
    dh: number,
    batch: number,
    steps: number,
    units: number,
    t: number,
  ): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
}

interface GateKernels {
  exports: GateExports;
  workspace: WasmWorkspace;
}

/** The loaded gate kernels: undefined before the first try, null where they cannot run. */
let gateModule: GateKernels | null | undefined;

/** Cleared by tests to run the TypeScript gate arithmetic. */
let wasmGatesAllowed = true;

function gateKernels(): GateKernels | undefined {
  if (!wasmGatesAllowed) return undefined;
  if (gateModule === undefined) {
    const module = loadWasmKernels<GateExports>(WASM_BASE64);
    gateModule = module ? { exports: module.exports, workspace: new WasmWorkspace(module) } : null;
  }
  return gateModule ?? undefined;
}

/**
 * Allows or forbids the WebAssembly gate kernels for later calls (internal, for tests that
 * compare them with the TypeScript path).
 *
 * @param allowed - False to force the TypeScript gate arithmetic.
 * @returns Whether the WebAssembly kernels will run.
 */
export function setWasmGateKernels(allowed: boolean): boolean {
  wasmGatesAllowed = allowed;
  return gateKernels() !== undefined;
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

/** The wasm backend when it is the current one, for reading and writing its heap in place. */
function heapBackend(): HeapBackend | undefined {
  const backend = tf.backend() as Partial<HeapBackend>;
  return tf.getBackend() === 'wasm' && typeof backend.typedArrayFromHeap === 'function'
    ? (backend as HeapBackend)
    : undefined;
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
    const acc = new Float64Array(width);
    return {
      product: (a, out) => multiplyPlain(a, rows, cols, kernelData, width, acc, out),
      dispose: () => {},
    };
  }

  const heap = heapBackend();
  if (heap !== undefined) {
    const left = tf.tensor2d(new Float32Array(rows * cols), [rows, cols]);
    return {
      product: (a, out) => {
        // Fresh views each time: heap growth detaches earlier ones.
        heap.typedArrayFromHeap(left).set(a);
        const result = tf.matMul(left, kernel);
        out.set(heap.typedArrayFromHeap(result));
        result.dispose();
      },
      dispose: () => left.dispose(),
    };
  }

  return {
    product: (a, out) => {
      const left = tf.tensor2d(a.slice(), [rows, cols]);
      const result = tf.matMul(left, kernel);
      out.set(result.dataSync() as Float32Array);
      left.dispose();
      result.dispose();
    },
    dispose: () => {},
  };
}

// a [rows, cols] times b [cols, width] into out, row by row as scaled row sums of b, summed in
// acc (width long).
function multiplyPlain(
  a: Float32Array,
  rows: number,
  cols: number,
  b: Float32Array,
  width: number,
  acc: Float64Array,
  out: Float32Array,
): void {
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
}

// Copies a float32 tensor's values into `target`, straight from the heap on wasm.
function readInto(tensor: tf.Tensor, target: Float32Array): void {
  const heap = heapBackend();
  target.set(
    heap !== undefined ? heap.typedArrayFromHeap(tensor) : (tensor.dataSync() as Float32Array),
  );
}

// A tensor with a copy of `values`, which may be a view of kernel memory. The wasm backend copies
// values into its heap when it makes a tensor; other backends keep the array they are given.
function tensorCopy<R extends tf.Rank>(values: Float32Array, shape: tf.ShapeMap[R]): tf.Tensor<R> {
  return tf.tensor(heapBackend() !== undefined ? values : values.slice(), shape) as tf.Tensor<R>;
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

// Runs the recurrence given the input projections of every step ([batch, steps, 4 units]);
// gate order is Keras' (input, forget, cell, output); a step whose mask is 0 leaves state and
// output as they were (Keras' masking). Outputs come back in original step order.
function forward(
  projected: Float32Array,
  product: KernelProduct,
  mask: Float32Array,
  dims: Dims,
  goBackwards: boolean,
): Saved {
  const { batch, steps, units } = dims;
  const four = 4 * units;
  const outputs = new Float32Array(batch * steps * units);
  const gates = new Float32Array(steps * batch * four);
  const cells = new Float32Array(steps * batch * units);
  const h = new Float32Array(batch * units);
  const c = new Float32Array(batch * units);
  const recurrent = new Float32Array(batch * four);
  const tanhCell = new Float32Array(units);

  for (let s = 0; s < steps; s++) {
    const t = goBackwards ? steps - 1 - s : s;
    product(h, recurrent);
    for (let r = 0; r < batch; r++) {
      const stateOffset = r * units;
      const out = (r * steps + t) * units;
      const cellOffset = (s * batch + r) * units;
      if ((mask[r * steps + t] as number) === 0) {
        for (let j = 0; j < units; j++) {
          outputs[out + j] = h[stateOffset + j] as number;
          cells[cellOffset + j] = c[stateOffset + j] as number;
        }
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
      for (let j = 0; j < units; j++) {
        const cell =
          (gates[g + units + j] as number) * (c[stateOffset + j] as number) +
          (gates[g + j] as number) * (gates[g + 2 * units + j] as number);
        c[stateOffset + j] = cell;
        cells[cellOffset + j] = cell;
        tanhCell[j] = cell;
      }
      tanhInPlace(tanhCell, 0, units);
      for (let j = 0; j < units; j++) {
        const hj = (gates[g + 3 * units + j] as number) * (tanhCell[j] as number);
        h[stateOffset + j] = hj;
        outputs[out + j] = hj;
      }
    }
  }
  return { ...dims, gates, cells, outputs, mask };
}

// Back-propagation through time for `forward`: the gradients of the gate pre-activations, which
// are those of the projections, [batch, steps, 4 units].
function backward(
  dOutputs: Float32Array,
  product: KernelProduct,
  saved: Saved,
  goBackwards: boolean,
): Float32Array {
  const { batch, steps, units, gates, cells, mask } = saved;
  const four = 4 * units;
  const dProjected = new Float32Array(batch * steps * four);
  const dz = new Float32Array(batch * four);
  const dhBefore = new Float32Array(batch * units);
  const dh = new Float32Array(batch * units);
  const dc = new Float32Array(batch * units);
  const tanhCell = new Float32Array(units);

  for (let s = steps - 1; s >= 0; s--) {
    const t = goBackwards ? steps - 1 - s : s;
    let anyReal = false;
    for (let r = 0; r < batch; r++) {
      const stateOffset = r * units;
      const out = (r * steps + t) * units;
      for (let j = 0; j < units; j++) {
        dh[stateOffset + j] = (dh[stateOffset + j] as number) + (dOutputs[out + j] as number);
      }
      const zr = r * four;
      // A masked step passed the state through unchanged, and so does its gradient.
      if ((mask[r * steps + t] as number) === 0) {
        dz.fill(0, zr, zr + four);
        continue;
      }
      anyReal = true;
      const g = (s * batch + r) * four;
      const cellOffset = (s * batch + r) * units;
      const before = cellOffset - batch * units;
      tanhCell.set(cells.subarray(cellOffset, cellOffset + units));
      tanhInPlace(tanhCell, 0, units);
      for (let j = 0; j < units; j++) {
        const i = gates[g + j] as number;
        const f = gates[g + units + j] as number;
        const cand = gates[g + 2 * units + j] as number;
        const o = gates[g + 3 * units + j] as number;
        const tc = tanhCell[j] as number;
        const cellBefore = s > 0 ? (cells[before + j] as number) : 0;
        const dhj = dh[stateOffset + j] as number;
        const dcell = (dc[stateOffset + j] as number) + dhj * o * (1 - tc * tc);
        dz[zr + j] = normalOrZero(dcell * cand * i * (1 - i));
        dz[zr + units + j] = normalOrZero(dcell * cellBefore * f * (1 - f));
        dz[zr + 2 * units + j] = normalOrZero(dcell * i * (1 - cand * cand));
        dz[zr + 3 * units + j] = normalOrZero(dhj * tc * o * (1 - o));
        dc[stateOffset + j] = dcell * f;
      }
      dProjected.set(dz.subarray(zr, zr + four), (r * steps + t) * four);
    }
    // The gradient for the state before the first step is not needed.
    if (!anyReal || s === 0) continue;
    // dh_before = dz U^T for real rows; masked rows keep their carried gradient.
    product(dz, dhBefore);
    for (let r = 0; r < batch; r++) {
      if ((mask[r * steps + t] as number) === 0) continue;
      dh.set(dhBefore.subarray(r * units, (r + 1) * units), r * units);
    }
  }
  return dProjected;
}

// `forward` with the gate arithmetic in the wasm kernel. The whole state of the call lives in
// the kernel's memory; per step only h goes out to the product and the product comes back. The
// saved state is copied out only when a gradient may be asked for (`keep`).
function forwardWasm(
  kernels: GateKernels,
  projected: tf.Tensor3D,
  product: KernelProduct,
  mask: Float32Array,
  dims: Dims,
  goBackwards: boolean,
  keep: boolean,
): { value: tf.Tensor3D; saved: Saved | undefined } {
  const { batch, steps, units } = dims;
  const four = 4 * units;
  const { exports: kernel, workspace } = kernels;
  const at = workspace.layout({
    projected: ['f32', batch * steps * four],
    recurrent: ['f32', batch * four],
    mask: ['f32', batch * steps],
    h: ['f32', batch * units],
    c: ['f32', batch * units],
    gates: ['f32', steps * batch * four],
    cells: ['f32', steps * batch * units],
    outputs: ['f32', batch * steps * units],
  });
  readInto(projected, workspace.f32(at.projected, batch * steps * four));
  workspace.f32(at.mask, batch * steps).set(mask);
  const h = workspace.f32(at.h, batch * units);
  h.fill(0);
  workspace.f32(at.c, batch * units).fill(0);
  const recurrent = workspace.f32(at.recurrent, batch * four);

  for (let s = 0; s < steps; s++) {
    const t = goBackwards ? steps - 1 - s : s;
    product(h, recurrent);
    kernel.lstm_forward_step(
      at.projected,
      at.recurrent,
      at.mask,
      at.h,
      at.c,
      at.gates,
      at.cells,
      at.outputs,
      batch,
      steps,
      units,
      s,
      t,
    );
  }

  const outputs = workspace.f32(at.outputs, batch * steps * units);
  const value = tensorCopy<tf.Rank.R3>(outputs, [batch, steps, units]);
  const saved = keep
    ? {
        ...dims,
        gates: workspace.f32(at.gates, steps * batch * four).slice(),
        cells: workspace.f32(at.cells, steps * batch * units).slice(),
        outputs: outputs.slice(),
        mask,
      }
    : undefined;
  return { value, saved };
}

// `backward` with the gate arithmetic in the wasm kernel; returns dProjected as a tensor, both
// as [batch, steps, 4 units] and transposed to [4 units, batch * steps] for the products over
// all steps.
function backwardWasm(
  kernels: GateKernels,
  dOutputs: tf.Tensor,
  product: KernelProduct,
  saved: Saved,
  goBackwards: boolean,
): { dProjected: tf.Tensor3D; dProjectedT: tf.Tensor2D } {
  const { batch, steps, units } = saved;
  const four = 4 * units;
  const { exports: kernel, workspace } = kernels;
  const at = workspace.layout({
    dOutputs: ['f32', batch * steps * units],
    mask: ['f32', batch * steps],
    gates: ['f32', steps * batch * four],
    cells: ['f32', steps * batch * units],
    dh: ['f32', batch * units],
    dc: ['f32', batch * units],
    dz: ['f32', batch * four],
    dhBefore: ['f32', batch * units],
    dProjected: ['f32', batch * steps * four],
  });
  readInto(dOutputs, workspace.f32(at.dOutputs, batch * steps * units));
  workspace.f32(at.mask, batch * steps).set(saved.mask);
  workspace.f32(at.gates, steps * batch * four).set(saved.gates);
  workspace.f32(at.cells, steps * batch * units).set(saved.cells);
  workspace.f32(at.dh, batch * units).fill(0);
  workspace.f32(at.dc, batch * units).fill(0);
  const dz = workspace.f32(at.dz, batch * four);
  const dhBefore = workspace.f32(at.dhBefore, batch * units);

  for (let s = steps - 1; s >= 0; s--) {
    const t = goBackwards ? steps - 1 - s : s;
    const anyReal = kernel.lstm_backward_step(
      at.dOutputs,
      at.mask,
      at.gates,
      at.cells,
      at.dh,
      at.dc,
      at.dz,
      at.dProjected,
      batch,
      steps,
      units,
      s,
      t,
    );
    if (anyReal === 0 || s === 0) continue;
    product(dz, dhBefore);
    kernel.lstm_take_hidden_grad(at.dhBefore, at.mask, at.dh, batch, steps, units, t);
  }
  // The gates are no longer needed: their place takes the transpose.
  const rows = batch * steps;
  kernel.transpose(at.dProjected, at.gates, rows, four);
  return {
    dProjected: tensorCopy<tf.Rank.R3>(workspace.f32(at.dProjected, rows * four), [
      batch,
      steps,
      four,
    ]),
    dProjectedT: tensorCopy<tf.Rank.R2>(workspace.f32(at.gates, rows * four), [four, rows]),
  };
}

/**
 * `tf.transpose` of a float32 matrix, through the wasm kernel where it runs (several times faster
 * than tfjs' transpose for blocks of thousands of rows).
 */
function transposeMatrix(x: tf.Tensor2D): tf.Tensor2D {
  const kernels = gateKernels();
  if (kernels === undefined) return tf.transpose(x);
  const [rows, cols] = x.shape;
  const at = kernels.workspace.layout({ src: ['f32', rows * cols], dst: ['f32', rows * cols] });
  readInto(x, kernels.workspace.f32(at.src, rows * cols));
  kernels.exports.transpose(at.src, at.dst, rows, cols);
  return tensorCopy<tf.Rank.R2>(kernels.workspace.f32(at.dst, rows * cols), [cols, rows]);
}

// The hidden state before each step, [batch, steps, units] in original step order: the output
// of the step processed just before it, and 0 before the first.
function hiddenBeforeSteps(outputs: Float32Array, dims: Dims, goBackwards: boolean): Float32Array {
  const { batch, steps, units } = dims;
  const before = new Float32Array(batch * steps * units);
  const row = steps * units;
  for (let r = 0; r < batch; r++) {
    const start = r * row;
    if (goBackwards) before.set(outputs.subarray(start + units, start + row), start);
    else before.set(outputs.subarray(start, start + row - units), start + units);
  }
  return before;
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
    const kernels = gateKernels();
    // Outside any gradient computation tfjs records no tape and never asks for the gradient,
    // so the wasm path need not copy its saved state out.
    const keep = tf.engine().state.gradientDepth > 0;
    const forwardProduct = createKernelProduct(kernel, batch);
    let value: tf.Tensor3D;
    let saved: Saved | undefined;
    try {
      if (kernels !== undefined) {
        ({ value, saved } = forwardWasm(
          kernels,
          p as tf.Tensor3D,
          forwardProduct.product,
          maskData,
          dims,
          goBackwards,
          keep,
        ));
      } else {
        const projectedData = (p as tf.Tensor).dataSync() as Float32Array;
        saved = forward(projectedData, forwardProduct.product, maskData, dims, goBackwards);
        value = tf.tensor3d(saved.outputs, [batch, steps, units]);
      }
    } finally {
      forwardProduct.dispose();
    }
    (save as (tensors: tf.Tensor[]) => void)([kernel]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, savedTensors: tf.Tensor[]) => {
        if (saved === undefined) {
          throw new Error('lstmRecurrence: gradient of a forward pass that kept no state');
        }
        const state = saved;
        // Transposes made once, so every product is a plain one (wasm's transposed matMul is slow).
        const kernelT = tf.transpose(savedTensors[0] as tf.Tensor2D);
        const backProduct = createKernelProduct(kernelT, batch);
        const backKernels = gateKernels();
        const rows = batch * steps;
        let dProjected: tf.Tensor3D;
        let dProjectedT: tf.Tensor2D;
        try {
          if (backKernels !== undefined) {
            ({ dProjected, dProjectedT } = backwardWasm(
              backKernels,
              dy,
              backProduct.product,
              state,
              goBackwards,
            ));
          } else {
            const dz = backward(
              dy.dataSync() as Float32Array,
              backProduct.product,
              state,
              goBackwards,
            );
            dProjected = tf.tensor3d(dz, [batch, steps, four]);
            dProjectedT = tf.tidy(() => tf.transpose(tf.reshape(dProjected, [rows, four])));
          }
        } finally {
          backProduct.dispose();
          kernelT.dispose();
        }

        // dU = H_before^T dZ summed over every (row, step), with dZ = dProjected (zero where
        // masked), formed as (dZ^T H_before)^T: the wasm backend repacks a product's right
        // operand whenever it is a new tensor, and H_before (units wide) is four times cheaper
        // to repack than dZ, while transposed products are slow on wasm.
        const hiddenBefore = hiddenBeforeSteps(state.outputs, dims, goBackwards);
        const dRecurrent = tf.tidy(() =>
          tf.transpose(tf.matMul(dProjectedT, tf.tensor2d(hiddenBefore, [rows, units]))),
        );
        dProjectedT.dispose();
        return [dProjected, dRecurrent];
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
          const dT = transposeMatrix(d);
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
