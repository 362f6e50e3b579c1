// The WebAssembly product kernels against the TypeScript ones, and the embedded module against
// the C source it is said to come from.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import {
  type LogRecord,
  createRandom,
  getLogLevel,
  setLogLevel,
  setLogSink,
} from '@lesionenc/base';
import { describe, expect, it } from 'vitest';

import { SOURCE_SHA256 } from './linalg-wasm';
import { type Matrix, gramOfColumns, multiplyABt, zeros } from './linalg';
import {
  GRAM_WASM_BASE64,
  type LinalgExports,
  type GramLayout,
  NATIVE_PANEL_SAMPLES,
  accumulateGramNative,
  gramOfColumnsNative,
  loadGramKernel,
  multiplyABtNative,
} from './native-linalg';
import { gramOfColumnsParallel, sharedZeros } from './parallel-gram';

/** Whether this run turned the kernels off: the tests that need them are skipped then. */
const KERNELS_OFF = ['off', '0', 'false'].includes(process.env['LESIONENC_WASM_KERNELS'] ?? '');

/** Relative to sqrt(c_ii c_jj): the two kernels only sum the same products in another order. */
const RELATIVE_TOLERANCE = 1e-12;

function randomMatrix(rows: number, cols: number, seed: number, into?: Matrix): Matrix {
  const random = createRandom(seed);
  const m = into ?? zeros(rows, cols);
  // An offset as well, so that entries are not all near zero.
  for (let i = 0; i < m.data.length; i++) m.data[i] = random.normal() + 0.5;
  return m;
}

// The largest |a_ij - b_ij| / sqrt(b_ii b_jj) (0 where the scale is 0 and the entries agree).
function worstRelativeError(a: Matrix, b: Matrix): number {
  expect([a.rows, a.cols]).toEqual([b.rows, b.cols]);
  const d = b.rows;
  let worst = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const diff = Math.abs((a.data[i * d + j] as number) - (b.data[i * d + j] as number));
      if (diff === 0) continue;
      const scale = Math.sqrt((b.data[i * d + i] as number) * (b.data[j * d + j] as number));
      worst = Math.max(worst, diff / scale);
    }
  }
  return worst;
}

function withKernelsOff<T>(run: () => T): T {
  const before = process.env['LESIONENC_WASM_KERNELS'];
  process.env['LESIONENC_WASM_KERNELS'] = 'off';
  try {
    return run();
  } finally {
    if (before === undefined) delete process.env['LESIONENC_WASM_KERNELS'];
    else process.env['LESIONENC_WASM_KERNELS'] = before;
  }
}

describe('gram kernel module', () => {
  it('was compiled from the C source in native/', () => {
    const source = readFileSync(new URL('../../native/linalg.c', import.meta.url));
    expect(createHash('sha256').update(source).digest('hex')).toBe(SOURCE_SHA256);
  });

  it.skipIf(KERNELS_OFF)('loads in Node, pads d to its tile, and not when turned off', () => {
    const loaded = loadGramKernel(37, 1000);
    expect(loaded).toBeDefined();
    const layout = loaded?.layout;
    expect(layout?.dp).toBeGreaterThanOrEqual(37);
    expect((layout?.dp ?? 0) % (loaded?.kernel.exports.tile_size() ?? 0)).toBe(0);
    expect(layout?.panel).toBe(NATIVE_PANEL_SAMPLES);
    expect(withKernelsOff(() => loadGramKernel(37, 1000))).toBeUndefined();
    expect(withKernelsOff(() => gramOfColumnsNative(zeros(3, 3)))).toBeUndefined();
  });
});

describe.skipIf(KERNELS_OFF)('gramOfColumnsNative', () => {
  // One sample, a few samples, d below, at and off the tile size, several blocks of samples with
  // a partial last one.
  it.each([
    [1, 1],
    [1, 7],
    [2, 1],
    [3, 5],
    [4, 4],
    [5, 2],
    [17, 3],
    [40, 13],
    [NATIVE_PANEL_SAMPLES, 9],
    [NATIVE_PANEL_SAMPLES + 1, 6],
    [2 * NATIVE_PANEL_SAMPLES + 37, 37],
    [700, 130],
  ])('matches the TypeScript kernel for %i samples x %i features', (n, d) => {
    const x = randomMatrix(n, d, n * 1000 + d);
    const native = gramOfColumnsNative(x);
    expect(native).toBeDefined();
    const reference = gramOfColumns(x);
    expect(worstRelativeError(native as Matrix, reference)).toBeLessThan(RELATIVE_TOLERANCE);
    const c = (native as Matrix).data;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < i; j++) expect(c[i * d + j]).toBe(c[j * d + i]);
    }
  });

  it('is exact where every product is (one sample of small integers)', () => {
    const x: Matrix = { rows: 1, cols: 6, data: Float64Array.from([1, -2, 3, 0, 5, 7]) };
    const c = gramOfColumnsNative(x)?.data;
    expect(c).toEqual(gramOfColumns(x).data);
    expect(c?.[1 * 6 + 5]).toBe(-14);
  });

  it('runs in a fresh instance whose memory is grown to the layout (as in a worker)', () => {
    const n = 300;
    const d = 101;
    const x = randomMatrix(n, d, 5);
    const layout = loadGramKernel(d, n)?.layout as GramLayout;
    expect(layout).toBeDefined();
    const bytes = Uint8Array.from(atob(GRAM_WASM_BASE64), (ch) => ch.charCodeAt(0));
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    const memory = instance.exports['memory'] as WebAssembly.Memory;
    expect(memory.buffer.byteLength).toBeLessThan(layout.bytes);
    const kernel = { exports: instance.exports as unknown as LinalgExports, memory };
    // Two shares, summed and mirrored as the parallel version does.
    const first = new Float64Array(d * d);
    const second = new Float64Array(d * d);
    accumulateGramNative(kernel, layout, x.data, 0, 123, first);
    accumulateGramNative(kernel, layout, x.data, 123, n, second);
    expect(memory.buffer.byteLength).toBeGreaterThanOrEqual(layout.bytes);
    const total = zeros(d, d);
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++) {
        const sum = (first[i * d + j] as number) + (second[i * d + j] as number);
        total.data[i * d + j] = sum;
        total.data[j * d + i] = sum;
      }
    }
    expect(worstRelativeError(total, gramOfColumns(x))).toBeLessThan(RELATIVE_TOLERANCE);
  });
});

describe.skipIf(KERNELS_OFF)('multiplyABtNative', () => {
  // Single entries, odd sizes, and sizes past every block (128 rows of a, 256 rows of b, 256 of
  // the summation) with partial last blocks.
  it.each([
    [1, 1, 1],
    [1, 5, 1],
    [3, 1, 2],
    [7, 3, 5],
    [2, 600, 9],
    [64, 64, 300],
    [129, 257, 513],
  ])('matches the TypeScript kernel for a %i x %i and b with %i rows', (m, k, n) => {
    const a = randomMatrix(m, k, m * 7 + k);
    const b = randomMatrix(n, k, n * 13 + k + 1);
    const native = multiplyABtNative(a, b);
    expect(native).toBeDefined();
    const reference = multiplyABt(a, b);
    expect([native?.rows, native?.cols]).toEqual([m, n]);
    // Relative to |a_i| |b_j|, which bounds each entry.
    const norms = (x: Matrix) =>
      Array.from({ length: x.rows }, (_, r) =>
        Math.hypot(...Array.from(x.data.subarray(r * k, (r + 1) * k))),
      );
    const na = norms(a);
    const nb = norms(b);
    let worst = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const diff = Math.abs(
          (native?.data[i * n + j] as number) - (reference.data[i * n + j] as number),
        );
        worst = Math.max(worst, diff / ((na[i] as number) * (nb[j] as number)));
      }
    }
    expect(worst).toBeLessThan(RELATIVE_TOLERANCE);
  });

  it('is exact on small integers', () => {
    const a: Matrix = { rows: 2, cols: 3, data: Float64Array.from([1, 2, 3, -4, 5, 6]) };
    const b: Matrix = { rows: 3, cols: 3, data: Float64Array.from([1, 0, 0, 0, 1, 0, 1, 1, 1]) };
    expect(Array.from(multiplyABtNative(a, b)?.data ?? [])).toEqual([1, 2, 6, -4, 5, 7]);
  });
});

describe('gramOfColumnsParallel with the kernels', () => {
  it.each([
    ['on', false],
    ['off', true],
  ])('matches the TypeScript kernel with kernels %s', (_label, off) => {
    const threads = 2;
    const x = randomMatrix(613, 29, 11, sharedZeros(613, 29, threads));
    // A worker that cannot run the kernel warns (and falls back): none should here.
    const records: LogRecord[] = [];
    const level = getLogLevel();
    const sink = setLogSink((record) => records.push(record));
    setLogLevel('warn');
    let parallel: Matrix;
    try {
      const run = () => gramOfColumnsParallel(x, threads, 0);
      parallel = off ? withKernelsOff(run) : run();
    } finally {
      setLogSink(sink);
      setLogLevel(level);
    }
    expect(records).toEqual([]);
    const single = gramOfColumns(x);
    expect(worstRelativeError(parallel, single)).toBeLessThan(RELATIVE_TOLERANCE);
    expect(parallel.data[3 * 29 + 20]).toBe(parallel.data[20 * 29 + 3]);
  });
});
