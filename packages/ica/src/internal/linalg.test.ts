// Checks the dense kernels against naive loops and the eigensolvers against their definition.
import { createRandom } from '@lesionenc/base';
import { describe, expect, it } from 'vitest';

import {
  type Matrix,
  gramOfColumns,
  gramOfRows,
  largestEigen,
  multiply,
  multiplyABt,
  symmetricEigen,
  transpose,
  zeros,
} from './linalg';

/** Relative error allowed for products and eigen-residuals (double precision, small sizes). */
const RELATIVE_TOLERANCE = 1e-12;

function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const random = createRandom(seed);
  const m = zeros(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = random.normal();
  return m;
}

function naiveProduct(a: Matrix, b: Matrix): Matrix {
  const out = zeros(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.cols; j++) {
      let s = 0;
      for (let p = 0; p < a.cols; p++)
        s += (a.data[i * a.cols + p] as number) * (b.data[p * b.cols + j] as number);
      out.data[i * b.cols + j] = s;
    }
  }
  return out;
}

function maxAbsDiff(a: Matrix, b: Matrix): number {
  expect([a.rows, a.cols]).toEqual([b.rows, b.cols]);
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) {
    worst = Math.max(worst, Math.abs((a.data[i] as number) - (b.data[i] as number)));
  }
  return worst;
}

describe('matrix products', () => {
  // Odd sizes exercise every remainder path of the blocked kernels.
  it.each([
    [1, 1, 1],
    [7, 5, 3],
    [33, 130, 9],
    [64, 300, 64],
  ])('match naive loops for %i x %i x %i', (m, k, n) => {
    const a = randomMatrix(m, k, m + k);
    const b = randomMatrix(k, n, n + 1);
    const scale = Math.sqrt(k);
    expect(maxAbsDiff(multiply(a, b), naiveProduct(a, b))).toBeLessThan(
      RELATIVE_TOLERANCE * scale * 10,
    );
    expect(maxAbsDiff(multiplyABt(a, transpose(b)), naiveProduct(a, b))).toBeLessThan(
      RELATIVE_TOLERANCE * scale * 10,
    );
    expect(maxAbsDiff(gramOfColumns(a), naiveProduct(transpose(a), a))).toBeLessThan(
      RELATIVE_TOLERANCE * m * 10,
    );
    expect(maxAbsDiff(gramOfRows(a), naiveProduct(a, transpose(a)))).toBeLessThan(
      RELATIVE_TOLERANCE * k * 10,
    );
  });

  it('gramOfColumns spans more than one sample panel', () => {
    const a = randomMatrix(300, 13, 3);
    expect(maxAbsDiff(gramOfColumns(a), naiveProduct(transpose(a), a))).toBeLessThan(1e-10);
  });
});

function residual(a: Matrix, values: Float64Array, vectors: Matrix): number {
  const av = naiveProduct(a, vectors);
  let worst = 0;
  for (let i = 0; i < vectors.rows; i++) {
    for (let c = 0; c < vectors.cols; c++) {
      const lhs = av.data[i * vectors.cols + c] as number;
      const rhs = (values[c] as number) * (vectors.data[i * vectors.cols + c] as number);
      worst = Math.max(worst, Math.abs(lhs - rhs));
    }
  }
  return worst;
}

function orthonormality(vectors: Matrix): number {
  const g = naiveProduct(transpose(vectors), vectors);
  let worst = 0;
  for (let i = 0; i < g.rows; i++) {
    for (let j = 0; j < g.cols; j++) {
      worst = Math.max(worst, Math.abs((g.data[i * g.cols + j] as number) - (i === j ? 1 : 0)));
    }
  }
  return worst;
}

describe('symmetric eigensolvers', () => {
  it.each([1, 2, 5, 40, 97])('symmetricEigen decomposes a %i x %i matrix', (n) => {
    const b = randomMatrix(n, n + 3, n);
    const a = gramOfRows(b);
    const { values, vectors } = symmetricEigen(a);
    const norm = Math.max(...Array.from(values, Math.abs));
    expect(residual(a, values, vectors)).toBeLessThan(RELATIVE_TOLERANCE * norm * n);
    expect(orthonormality(vectors)).toBeLessThan(RELATIVE_TOLERANCE * n * 10);
    for (let i = 1; i < n; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1] as number);
  });

  it('largestEigen agrees with the full decomposition, clusters included', () => {
    const n = 120;
    // A known spectrum with a repeated eigenvalue among the leading ones.
    const spectrum = Array.from({ length: n }, (_, i) =>
      i < 3 ? 50 : i === 3 ? 49 : 40 / (i + 1),
    );
    spectrum[1] = 50;
    const q = symmetricEigen(gramOfRows(randomMatrix(n, n, 9))).vectors;
    const a = zeros(n, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++)
          s +=
            (q.data[i * n + k] as number) * (spectrum[k] as number) * (q.data[j * n + k] as number);
        a.data[i * n + j] = s;
      }
    }
    const top = largestEigen(a, 10);
    const sorted = [...spectrum].sort((x, y) => y - x).slice(0, 10);
    top.values.forEach((v, i) => expect(v).toBeCloseTo(sorted[i] as number, 10));
    expect(residual(a, top.values, top.vectors)).toBeLessThan(1e-10);
    expect(orthonormality(top.vectors)).toBeLessThan(1e-10);
  });
});
