// The WebAssembly gate kernels (native/lstm-gates.c): the committed module matches its source,
// its sigmoid and tanh against float64 references, its transpose, and lstmRecurrence and
// projectInput with the kernels against the same functions on their TypeScript path, forward
// and gradients, on masked batches of ragged length.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { WasmWorkspace, loadWasmKernels } from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { SOURCE_SHA256, WASM_BASE64 } from './lstm-gates-wasm';
import { lstmRecurrence, projectInput, setWasmGateKernels } from './lstm-kernel';

/** Agreement asked of the two paths: both compute in float32, in different orders. */
const PATH_TOLERANCE = 1e-5;

/** Relative error allowed of the kernel's sigmoid and tanh (float32 rounds to 6e-8). */
const RELATIVE_TOLERANCE = 3e-7;

/** Kernels are off when the environment says so; everywhere else in Node they must load. */
const kernelsExpected = !['off', '0', 'false'].includes(
  process.env['LESIONENC_WASM_KERNELS'] ?? '',
);

interface TestExports {
  sigmoid_in_place(a: number, n: number): void;
  tanh_in_place(a: number, n: number): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
}

afterEach(() => {
  setWasmGateKernels(true);
});

describe('the committed lstm-gates module', () => {
  it('was compiled from the current native/lstm-gates.c', () => {
    const source = readFileSync(
      fileURLToPath(new URL('../../native/lstm-gates.c', import.meta.url)),
    );
    expect(createHash('sha256').update(source).digest('hex')).toBe(SOURCE_SHA256);
  });

  it.runIf(kernelsExpected)('loads here', () => {
    expect(setWasmGateKernels(true)).toBe(true);
  });
});

describe.runIf(kernelsExpected)('the kernel arithmetic', () => {
  // Loaded lazily: the body of a skipped describe still runs when tests are collected.
  let loaded: { exports: TestExports; workspace: WasmWorkspace } | undefined;
  function kernels(): { exports: TestExports; workspace: WasmWorkspace } {
    if (loaded === undefined) {
      const module = loadWasmKernels<TestExports>(WASM_BASE64);
      if (module === undefined) throw new Error('lstm-gates module did not load');
      loaded = { exports: module.exports, workspace: new WasmWorkspace(module) };
    }
    return loaded;
  }

  // Applies an in-place kernel function to a copy of `values`.
  function apply(fn: (a: number, n: number) => void, values: Float32Array): Float32Array {
    const { workspace } = kernels();
    const at = workspace.layout({ a: ['f32', values.length] });
    workspace.f32(at.a, values.length).set(values);
    fn(at.a, values.length);
    return workspace.f32(at.a, values.length).slice();
  }

  // Step 1e-3 over [-100, 100] (past both clamps), tiny arguments, and a length that is not a
  // multiple of 4 so the partial-vector path runs too.
  const grid = Float32Array.from([
    ...Array.from({ length: 200_001 }, (_, i) => -100 + i * 1e-3),
    ...Array.from({ length: 31 }, (_, e) => [10 ** -e, -(10 ** -e), 3.7 * 10 ** -e]).flat(),
    0,
    Infinity,
    -Infinity,
  ]);

  function worst(got: Float32Array, reference: (x: number) => number, limit: number) {
    let relative = 0;
    let absolute = 0;
    for (let k = 0; k < grid.length; k++) {
      const x = grid[k] as number;
      const want = reference(x);
      const error = Math.abs((got[k] as number) - want);
      absolute = Math.max(absolute, error);
      if (Math.abs(x) <= limit && want !== 0) relative = Math.max(relative, error / Math.abs(want));
    }
    return { relative, absolute };
  }

  it('sigmoid is accurate to float32 rounding inside its clamp', () => {
    const got = apply((a, n) => kernels().exports.sigmoid_in_place(a, n), grid);
    const sigmoid = (x: number) =>
      x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    const { relative, absolute } = worst(got, sigmoid, 80);
    expect(relative).toBeLessThan(RELATIVE_TOLERANCE);
    expect(absolute).toBeLessThan(2e-7);
    // Beyond the clamp a gate stays a normal float32 (slow subnormals never enter the gradient).
    expect(got.reduce((least, v) => Math.min(least, v), 1)).toBeGreaterThan(2 ** -126);
  });

  it('tanh is accurate to float32 rounding, also near 0', () => {
    const got = apply((a, n) => kernels().exports.tanh_in_place(a, n), grid);
    const { relative, absolute } = worst(got, Math.tanh, Infinity);
    expect(relative).toBeLessThan(RELATIVE_TOLERANCE);
    expect(absolute).toBeLessThan(2e-7);
  });

  it('keeps NaN', () => {
    const values = Float32Array.from([NaN, 1, NaN, -2, NaN]);
    const { exports } = kernels();
    for (const fn of [exports.sigmoid_in_place, exports.tanh_in_place]) {
      const got = apply((a, n) => fn(a, n), values);
      expect([0, 2, 4].map((k) => Number.isNaN(got[k]))).toEqual([true, true, true]);
    }
  });

  it.each([
    [4, 4],
    [9, 8],
    [5, 7],
    [1, 3],
    [13, 1],
  ])('transposes a %i x %i matrix', (rows, cols) => {
    const { exports, workspace } = kernels();
    const at = workspace.layout({ src: ['f32', rows * cols], dst: ['f32', rows * cols] });
    const src = workspace.f32(at.src, rows * cols);
    src.forEach((_, k) => (src[k] = k));
    exports.transpose(at.src, at.dst, rows, cols);
    const dst = workspace.f32(at.dst, rows * cols);
    const want = Array.from(
      { length: rows * cols },
      (_, k) => (k % rows) * cols + Math.floor(k / rows),
    );
    expect(Array.from(dst)).toEqual(want);
  });
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

interface Case {
  name: string;
  batch: number;
  steps: number;
  units: number;
  /** True lengths; the rest of each sequence is padding (the last steps are padding for all). */
  lengths: number[];
}

const CASES: Case[] = [
  // 2^16 multiply-adds per step: the wasm backend takes the per-step product.
  { name: 'wide', batch: 4, steps: 9, units: 64, lengths: [9, 5, 0, 7] },
  // 6 units: every row ends in a partial vector; plain per-step product.
  { name: 'ragged units', batch: 3, steps: 8, units: 6, lengths: [5, 1, 3] },
];

describe.runIf(kernelsExpected).each(['cpu', 'wasm'])('wasm gate kernels on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
  });

  describe.each(CASES)('$name', ({ batch, steps, units, lengths }) => {
    function inputs() {
      return tf.tidy(() => ({
        projected: tf.randomNormal([batch, steps, 4 * units], 0, 1.5, 'float32', 21),
        kernel: tf.randomNormal([units, 4 * units], 0, 0.3, 'float32', 22),
        mask: tf.tensor2d(
          lengths.flatMap((length) =>
            Array.from({ length: steps }, (_, t) => (t < length ? 1 : 0)),
          ),
          [batch, steps],
        ),
        weights: tf.randomNormal([batch, steps, units], 0, 1, 'float32', 23),
      }));
    }

    // Outputs and the gradients of a weighted sum of them, with the kernels on or off.
    function run(wasm: boolean, goBackwards: boolean) {
      expect(setWasmGateKernels(wasm)).toBe(wasm);
      const { projected, kernel, mask, weights } = inputs();
      const outputs = tf.tidy(() =>
        lstmRecurrence(projected as tf.Tensor3D, kernel as tf.Tensor2D, mask, goBackwards),
      );
      const grads = tf.grads((p: tf.Tensor, u: tf.Tensor) =>
        tf.sum(
          tf.mul(lstmRecurrence(p as tf.Tensor3D, u as tf.Tensor2D, mask, goBackwards), weights),
        ),
      )([projected, kernel]);
      tf.dispose([projected, kernel, mask, weights]);
      return [outputs, ...grads];
    }

    it.each([false, true])('agrees with the TypeScript path (goBackwards %s)', (goBackwards) => {
      const fromWasm = run(true, goBackwards);
      const fromTs = run(false, goBackwards);
      fromWasm.forEach((t, k) => {
        expect(maxAbsDiff(t, fromTs[k] as tf.Tensor)).toBeLessThan(PATH_TOLERANCE);
      });
      // Padding steps after the last real step hold no gradient for the projections.
      const dProjected = fromWasm[1]?.arraySync() as number[][][];
      lengths.forEach((length, r) => {
        for (let t = length; t < steps; t++) {
          expect(dProjected[r]?.[t]?.every((v) => v === 0)).toBe(true);
        }
      });
      tf.dispose([...fromWasm, ...fromTs]);
    });
  });

  it('projectInput gradients agree with the TypeScript path', () => {
    const rows = 37;
    const features = 5;
    const outputs = 12;
    const make = () =>
      tf.tidy(() => ({
        x: tf.randomNormal([rows, features], 0, 1, 'float32', 31) as tf.Tensor2D,
        w: tf.randomNormal([features, outputs], 0, 1, 'float32', 32) as tf.Tensor2D,
        b: tf.randomNormal([outputs], 0, 1, 'float32', 33) as tf.Tensor1D,
        weights: tf.randomNormal([rows, outputs], 0, 1, 'float32', 34),
      }));
    const gradients = (wasm: boolean) => {
      setWasmGateKernels(wasm);
      const { x, w, b, weights } = make();
      const result = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
        tf.sum(
          tf.mul(projectInput(xi as tf.Tensor2D, wi as tf.Tensor2D, bi as tf.Tensor1D), weights),
        ),
      )([x, w, b]);
      // tfjs' own gradient of the same expression.
      const reference = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
        tf.sum(tf.mul(tf.add(tf.matMul(xi as tf.Tensor2D, wi as tf.Tensor2D), bi), weights)),
      )([x, w, b]);
      tf.dispose([x, w, b, weights]);
      return { result, reference };
    };
    const fromWasm = gradients(true);
    const fromTs = gradients(false);
    fromWasm.result.forEach((g, k) => {
      expect(maxAbsDiff(g, fromTs.result[k] as tf.Tensor)).toBeLessThan(PATH_TOLERANCE);
      expect(maxAbsDiff(g, fromWasm.reference[k] as tf.Tensor)).toBeLessThan(PATH_TOLERANCE);
    });
    tf.dispose([...fromWasm.result, ...fromWasm.reference, ...fromTs.result, ...fromTs.reference]);
  });
});
