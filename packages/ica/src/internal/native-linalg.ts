// Matrix products by the WebAssembly SIMD kernels of native/linalg.c (embedded in
// ./linalg-wasm), several times faster than the TypeScript kernels of ./linalg: X^T X for the
// whitening and A B^T for the rest of the fit. Operands are copied into the module's memory a
// block at a time; the kernels pack each block and add its products to an accumulator there.
// Every function returns undefined where the kernels cannot run (no WebAssembly SIMD, or
// LESIONENC_WASM_KERNELS=off), and callers then use the TypeScript kernels, which compute the
// same values up to the order of summation.
import { WasmWorkspace, loadWasmKernels } from '@lesionenc/base';

import { type Matrix, multiplyABt, zeros } from './linalg';
import { WASM_BASE64 } from './linalg-wasm';

/** The exports of native/linalg.c (pointers are byte offsets into its memory). */
export interface LinalgExports {
  tile_size(): number;
  gram_accumulate(x: number, rows: number, d: number, dp: number, pack: number, c: number): void;
  abt_accumulate(
    a: number,
    m: number,
    b: number,
    n: number,
    k: number,
    mp: number,
    np: number,
    packA: number,
    packB: number,
    c: number,
  ): void;
}

/** An instance of the module: what {@link accumulateGramNative} needs. */
export interface GramKernel {
  exports: LinalgExports;
  memory: WebAssembly.Memory;
}

/**
 * Where the kernel's arrays live in its memory (byte offsets) and their shape; the same for every
 * instance of the module, so a worker thread can reuse the layout its parent computed.
 */
export interface GramLayout {
  /** A block of `panel` samples, row-major, `d` wide. */
  x: number;
  /** Scratch for the packed block (`dp * panel`). */
  pack: number;
  /** The `dp x dp` accumulator. */
  c: number;
  /** Bytes of memory the layout needs. */
  bytes: number;
  d: number;
  /** `d` rounded up to the kernel's tile. */
  dp: number;
  /** Samples per block. */
  panel: number;
}

/** The module as base64, for worker threads that instantiate their own copy. */
export const GRAM_WASM_BASE64 = WASM_BASE64;

/** Samples copied and packed per kernel call (64 to 256 measured alike for d = 1280). */
export const NATIVE_PANEL_SAMPLES = 128;

/**
 * Instantiates the module for one Gram matrix and lays out its memory for `d` features (a fresh
 * instance each time, so that the `d x d` accumulator is freed with it).
 *
 * @param d - Features (columns of the data).
 * @param samples - Samples that will be passed, to size the block (at most
 *   {@link NATIVE_PANEL_SAMPLES}).
 * @returns The kernel and its layout, or `undefined` when WebAssembly kernels cannot run here, are
 *   turned off, or cannot get the memory (the TypeScript kernel may still manage with less).
 */
export function loadGramKernel(
  d: number,
  samples = NATIVE_PANEL_SAMPLES,
): { kernel: GramKernel; layout: GramLayout } | undefined {
  const module = loadWasmKernels<LinalgExports>(WASM_BASE64);
  if (module === undefined) return undefined;
  const pad = module.exports.tile_size();
  const dp = Math.ceil(d / pad) * pad;
  const panel = Math.max(1, Math.min(NATIVE_PANEL_SAMPLES, samples));
  let offsets: Record<'x' | 'pack' | 'c', number>;
  try {
    offsets = new WasmWorkspace(module).layout({
      x: ['f64', panel * d],
      pack: ['f64', panel * dp],
      c: ['f64', dp * dp],
    });
  } catch {
    return undefined;
  }
  const layout: GramLayout = { ...offsets, bytes: offsets.c + dp * dp * 8, d, dp, panel };
  return { kernel: { exports: module.exports, memory: module.memory }, layout };
}

/**
 * Writes the upper triangle (`j >= i`) of `x[from..to)^T x[from..to)` to `out` (row-major
 * `d x d`; entries below the diagonal are left as they are). Self-contained (it refers to nothing
 * outside itself), so that worker threads can run its source text; grows the kernel's memory to
 * the layout when it is short (a fresh instance in a worker).
 *
 * @param kernel - An instance of the gram module.
 * @param layout - From {@link loadGramKernel} for the same `d`.
 * @param x - Row-major samples, `d` values each.
 * @param from - First sample.
 * @param to - End of the samples (exclusive).
 * @param out - `d x d` output.
 */
export function accumulateGramNative(
  kernel: GramKernel,
  layout: GramLayout,
  x: Float64Array,
  from: number,
  to: number,
  out: Float64Array,
): void {
  const { d, dp, panel } = layout;
  const memory = kernel.memory;
  const short = layout.bytes - memory.buffer.byteLength;
  if (short > 0) memory.grow(Math.ceil(short / 65536));
  // Views after any growth: growing detaches the old buffer.
  const block = new Float64Array(memory.buffer, layout.x, panel * d);
  const c = new Float64Array(memory.buffer, layout.c, dp * dp);
  c.fill(0);
  for (let s0 = from; s0 < to; s0 += panel) {
    const rows = Math.min(panel, to - s0);
    block.set(x.subarray(s0 * d, (s0 + rows) * d));
    kernel.exports.gram_accumulate(layout.x, rows, d, dp, layout.pack, layout.c);
  }
  for (let i = 0; i < d; i++) out.set(c.subarray(i * dp + i, i * dp + d), i * d + i);
}

/**
 * `x^T x` (d x d) for a row-major data matrix `x` (n x d) by the WebAssembly kernel.
 *
 * @param x - n x d.
 * @returns d x d, symmetric; `undefined` when the kernels cannot run here (the TypeScript
 *   `gramOfColumns` of ./linalg computes the same).
 */
export function gramOfColumnsNative(x: Matrix): Matrix | undefined {
  const d = x.cols;
  const loaded = loadGramKernel(d, x.rows);
  if (loaded === undefined) return undefined;
  const out = new Float64Array(d * d);
  accumulateGramNative(loaded.kernel, loaded.layout, x.data, 0, x.rows, out);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) out[i * d + j] = out[j * d + i] as number;
  }
  return { rows: d, cols: d, data: out };
}

/** Rows of `a`, rows of `b` and summation length per block of {@link multiplyABtNative}. */
const ABT_BLOCK = { rows: 128, cols: 256, depth: 256 } as const;

interface ProductKernel {
  exports: LinalgExports;
  workspace: WasmWorkspace;
}

// One instance serves every product: their blocks are bounded, so its memory stays under 2 MB.
// Loaded on first use (whether kernels are turned off is read then).
let productKernel: ProductKernel | null | undefined;

function products(): ProductKernel | null {
  if (productKernel === undefined) {
    const module = loadWasmKernels<LinalgExports>(WASM_BASE64);
    productKernel =
      module === undefined
        ? null
        : { exports: module.exports, workspace: new WasmWorkspace(module) };
  }
  return productKernel;
}

// Copies rows [row0, row0 + rows) and columns [col0, col0 + cols) of a row-major matrix with
// `width` columns to `into`, densely (row stride `cols`).
function copyBlock(
  from: Float64Array,
  width: number,
  row0: number,
  rows: number,
  col0: number,
  cols: number,
  into: Float64Array,
): void {
  if (col0 === 0 && cols === width) {
    into.set(from.subarray(row0 * width, (row0 + rows) * width));
    return;
  }
  for (let r = 0; r < rows; r++) {
    const start = (row0 + r) * width + col0;
    into.set(from.subarray(start, start + cols), r * cols);
  }
}

/**
 * `a * b^T` for row-major `a` (m x k) and `b` (n x k) by the WebAssembly kernel.
 *
 * @param a - m x k.
 * @param b - n x k.
 * @returns m x n; `undefined` when the kernels cannot run here (the TypeScript `multiplyABt` of
 *   ./linalg computes the same).
 */
export function multiplyABtNative(a: Matrix, b: Matrix): Matrix | undefined {
  const kernel = products();
  if (kernel === null) return undefined;
  const m = a.rows;
  const n = b.rows;
  const k = a.cols;
  const out = zeros(m, n);
  if (m === 0 || n === 0 || k === 0) return out;
  const tile = kernel.exports.tile_size();
  const roundUp = (v: number) => Math.ceil(v / tile) * tile;
  const mc = Math.min(ABT_BLOCK.rows, m);
  const nc = Math.min(ABT_BLOCK.cols, n);
  const kc = Math.min(ABT_BLOCK.depth, k);
  const at = kernel.workspace.layout({
    a: ['f64', mc * kc],
    b: ['f64', nc * kc],
    packA: ['f64', roundUp(mc) * kc],
    packB: ['f64', roundUp(nc) * kc],
    c: ['f64', roundUp(mc) * roundUp(nc)],
  });
  const aBlock = kernel.workspace.f64(at.a, mc * kc);
  const bBlock = kernel.workspace.f64(at.b, nc * kc);
  const c = kernel.workspace.f64(at.c, roundUp(mc) * roundUp(nc));
  const o = out.data;
  for (let j0 = 0; j0 < n; j0 += nc) {
    const nb = Math.min(nc, n - j0);
    const nbp = roundUp(nb);
    for (let i0 = 0; i0 < m; i0 += mc) {
      const mb = Math.min(mc, m - i0);
      const mbp = roundUp(mb);
      c.fill(0, 0, mbp * nbp);
      for (let p0 = 0; p0 < k; p0 += kc) {
        const kb = Math.min(kc, k - p0);
        copyBlock(a.data, k, i0, mb, p0, kb, aBlock);
        copyBlock(b.data, k, j0, nb, p0, kb, bBlock);
        kernel.exports.abt_accumulate(at.a, mb, at.b, nb, kb, mbp, nbp, at.packA, at.packB, at.c);
      }
      for (let r = 0; r < mb; r++) o.set(c.subarray(r * nbp, r * nbp + nb), (i0 + r) * n + j0);
    }
  }
  return out;
}

/**
 * `a * b^T` by the WebAssembly kernel where it runs, else by the TypeScript one.
 *
 * @param a - m x k.
 * @param b - n x k.
 * @returns m x n.
 */
export function multiplyABtFast(a: Matrix, b: Matrix): Matrix {
  return multiplyABtNative(a, b) ?? multiplyABt(a, b);
}
