// Dense Float64 linear algebra for FastICA: blocked matrix products and a symmetric eigensolver.
// Matrices are row-major Float64Arrays with their shape passed beside them.

/** A row-major matrix. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** Rows of the sample axis handled per packed panel in {@link gramOfColumns}. */
const PANEL_SAMPLES = 128;

/**
 * Creates a zero matrix.
 *
 * @param rows - Row count.
 * @param cols - Column count.
 * @returns The matrix.
 */
export function zeros(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

/**
 * The transpose of a matrix, copied.
 *
 * @param a - Input.
 * @returns `a` transposed.
 */
export function transpose(a: Matrix): Matrix {
  const out = zeros(a.cols, a.rows);
  const { rows, cols, data } = a;
  const o = out.data;
  const block = 32;
  for (let i0 = 0; i0 < rows; i0 += block) {
    const i1 = Math.min(rows, i0 + block);
    for (let j0 = 0; j0 < cols; j0 += block) {
      const j1 = Math.min(cols, j0 + block);
      for (let i = i0; i < i1; i++) {
        for (let j = j0; j < j1; j++) o[j * rows + i] = data[i * cols + j] as number;
      }
    }
  }
  return out;
}

/**
 * `a * b^T` for row-major `a` (m x k) and `b` (n x k): every output is a dot product of two
 * contiguous rows, computed four outputs at a time.
 *
 * @param a - m x k.
 * @param b - n x k.
 * @returns m x n.
 */
export function multiplyABt(a: Matrix, b: Matrix): Matrix {
  const m = a.rows;
  const n = b.rows;
  const k = a.cols;
  const out = zeros(m, n);
  const A = a.data;
  const B = b.data;
  const C = out.data;
  const kBlock = 512;
  for (let p0 = 0; p0 < k; p0 += kBlock) {
    const p1 = Math.min(k, p0 + kBlock);
    for (let i = 0; i < m; i += 2) {
      const twoRows = i + 1 < m;
      const ai0 = i * k;
      const ai1 = twoRows ? ai0 + k : ai0;
      let j = 0;
      for (; j + 1 < n; j += 2) {
        const bj0 = j * k;
        const bj1 = bj0 + k;
        let s00 = 0;
        let s01 = 0;
        let s10 = 0;
        let s11 = 0;
        for (let p = p0; p < p1; p++) {
          const x0 = A[ai0 + p] as number;
          const x1 = A[ai1 + p] as number;
          const y0 = B[bj0 + p] as number;
          const y1 = B[bj1 + p] as number;
          s00 += x0 * y0;
          s01 += x0 * y1;
          s10 += x1 * y0;
          s11 += x1 * y1;
        }
        C[i * n + j] = (C[i * n + j] as number) + s00;
        C[i * n + j + 1] = (C[i * n + j + 1] as number) + s01;
        if (twoRows) {
          C[(i + 1) * n + j] = (C[(i + 1) * n + j] as number) + s10;
          C[(i + 1) * n + j + 1] = (C[(i + 1) * n + j + 1] as number) + s11;
        }
      }
      for (; j < n; j++) {
        const bj = j * k;
        let s0 = 0;
        let s1 = 0;
        for (let p = p0; p < p1; p++) {
          const y = B[bj + p] as number;
          s0 += (A[ai0 + p] as number) * y;
          s1 += (A[ai1 + p] as number) * y;
        }
        C[i * n + j] = (C[i * n + j] as number) + s0;
        if (twoRows) C[(i + 1) * n + j] = (C[(i + 1) * n + j] as number) + s1;
      }
    }
  }
  return out;
}

/**
 * `a * b` for row-major `a` (m x k) and `b` (k x n), as rank-one updates of contiguous rows
 * of the output (cache friendly for row-major `b`).
 *
 * @param a - m x k.
 * @param b - k x n.
 * @returns m x n.
 */
export function multiply(a: Matrix, b: Matrix): Matrix {
  const m = a.rows;
  const k = a.cols;
  const n = b.cols;
  const out = zeros(m, n);
  const A = a.data;
  const B = b.data;
  const C = out.data;
  const nBlock = 1024;
  for (let j0 = 0; j0 < n; j0 += nBlock) {
    const j1 = Math.min(n, j0 + nBlock);
    for (let i = 0; i < m; i++) {
      const ci = i * n;
      let p = 0;
      for (; p + 1 < k; p += 2) {
        const x0 = A[i * k + p] as number;
        const x1 = A[i * k + p + 1] as number;
        if (x0 === 0 && x1 === 0) continue;
        const b0 = p * n;
        const b1 = b0 + n;
        for (let j = j0; j < j1; j++) {
          C[ci + j] =
            (C[ci + j] as number) + x0 * (B[b0 + j] as number) + x1 * (B[b1 + j] as number);
        }
      }
      if (p < k) {
        const x0 = A[i * k + p] as number;
        const b0 = p * n;
        for (let j = j0; j < j1; j++)
          C[ci + j] = (C[ci + j] as number) + x0 * (B[b0 + j] as number);
      }
    }
  }
  return out;
}

/**
 * `x^T x` (d x d) for a row-major data matrix `x` (n x d): samples are packed into
 * column panels so that the 4x2 register-blocked kernel reads contiguous memory; only the upper
 * triangle is computed and then mirrored.
 *
 * @param x - n x d.
 * @returns d x d, symmetric.
 */
export function gramOfColumns(x: Matrix): Matrix {
  const n = x.rows;
  const d = x.cols;
  const out = zeros(d, d);
  const C = out.data;
  const X = x.data;
  const kc = PANEL_SAMPLES;
  const panel = new Float64Array(d * kc);
  for (let s0 = 0; s0 < n; s0 += kc) {
    const len = Math.min(kc, n - s0);
    // Pack the panel transposed: feature-major, samples contiguous.
    for (let s = 0; s < len; s++) {
      const row = (s0 + s) * d;
      for (let f = 0; f < d; f++) panel[f * kc + s] = X[row + f] as number;
    }
    gramPanelKernel(panel, kc, len, d, C);
  }
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) C[i * d + j] = C[j * d + i] as number;
  }
  return out;
}

/**
 * `a a^T` (m x m) for a row-major `a` (m x k): the Gram matrix of the rows.
 *
 * @param a - m x k.
 * @returns m x m, symmetric.
 */
export function gramOfRows(a: Matrix): Matrix {
  const m = a.rows;
  const k = a.cols;
  const out = zeros(m, m);
  const C = out.data;
  const A = a.data;
  const kc = 2048;
  for (let p0 = 0; p0 < k; p0 += kc) {
    const len = Math.min(kc, k - p0);
    const panel = new Float64Array(m * len);
    for (let r = 0; r < m; r++) panel.set(A.subarray(r * k + p0, r * k + p0 + len), r * len);
    gramPanelKernel(panel, len, len, m, C);
  }
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < i; j++) C[i * m + j] = C[j * m + i] as number;
  }
  return out;
}

/**
 * Adds `panel panel^T` to the upper triangle of c (d x d); panel is d rows of stride `stride`,
 * of which the first `len` entries are used. Self-contained (no outside references), so that
 * worker threads can run its source text.
 *
 * @param panel - d rows of samples.
 * @param stride - Row stride of `panel`.
 * @param len - Samples used per row.
 * @param d - Rows of `panel` (features).
 * @param c - d x d accumulator.
 */
export function gramPanelKernel(
  panel: Float64Array,
  stride: number,
  len: number,
  d: number,
  c: Float64Array,
) {
  for (let i = 0; i < d; i += 4) {
    const iRows = Math.min(4, d - i);
    if (iRows < 4) {
      for (let ii = i; ii < d; ii++) {
        for (let j = ii; j < d; j++) {
          let s = 0;
          const a = ii * stride;
          const b = j * stride;
          for (let p = 0; p < len; p++) s += (panel[a + p] as number) * (panel[b + p] as number);
          c[ii * d + j] = (c[ii * d + j] as number) + s;
        }
      }
      continue;
    }
    const a0 = i * stride;
    const a1 = a0 + stride;
    const a2 = a1 + stride;
    const a3 = a2 + stride;
    let j = i;
    for (; j + 1 < d; j += 2) {
      const b0 = j * stride;
      const b1 = b0 + stride;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      let s20 = 0;
      let s21 = 0;
      let s30 = 0;
      let s31 = 0;
      for (let p = 0; p < len; p++) {
        const y0 = panel[b0 + p] as number;
        const y1 = panel[b1 + p] as number;
        const x0 = panel[a0 + p] as number;
        const x1 = panel[a1 + p] as number;
        const x2 = panel[a2 + p] as number;
        const x3 = panel[a3 + p] as number;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s20 += x2 * y0;
        s21 += x2 * y1;
        s30 += x3 * y0;
        s31 += x3 * y1;
      }
      // Entries below the diagonal of this 4x2 tile are computed but not written.
      const r0 = i * d;
      c[r0 + j] = (c[r0 + j] as number) + s00;
      c[r0 + j + 1] = (c[r0 + j + 1] as number) + s01;
      if (j + 1 >= i + 1) {
        const r1 = r0 + d;
        if (j >= i + 1) c[r1 + j] = (c[r1 + j] as number) + s10;
        c[r1 + j + 1] = (c[r1 + j + 1] as number) + s11;
      }
      if (j + 1 >= i + 2) {
        const r2 = r0 + 2 * d;
        if (j >= i + 2) c[r2 + j] = (c[r2 + j] as number) + s20;
        c[r2 + j + 1] = (c[r2 + j + 1] as number) + s21;
      }
      if (j + 1 >= i + 3) {
        const r3 = r0 + 3 * d;
        if (j >= i + 3) c[r3 + j] = (c[r3 + j] as number) + s30;
        c[r3 + j + 1] = (c[r3 + j + 1] as number) + s31;
      }
    }
    for (; j < d; j++) {
      const b0 = j * stride;
      for (let r = 0; r < 4; r++) {
        if (j < i + r) continue;
        const a = a0 + r * stride;
        let s = 0;
        for (let p = 0; p < len; p++) s += (panel[a + p] as number) * (panel[b0 + p] as number);
        c[(i + r) * d + j] = (c[(i + r) * d + j] as number) + s;
      }
    }
  }
}

/** The result of {@link symmetricEigen}: eigenvalues ascending, eigenvectors as columns. */
export interface Eigen {
  values: Float64Array;
  /** n x n, column `k` is the eigenvector of `values[k]`. */
  vectors: Matrix;
}

/**
 * Eigendecomposition of a symmetric matrix: Householder reduction to tridiagonal form, then
 * the implicit QL iteration with Wilkinson-style shifts. Eigenvalues come out ascending, like
 * LAPACK's `syevd` (what `scipy.linalg.eigh` calls).
 *
 * @param a - A symmetric n x n matrix (only read).
 * @returns Eigenvalues ascending and the matching orthonormal eigenvectors.
 * @throws Error when the QL iteration does not converge (it practically always does).
 */
export function symmetricEigen(a: Matrix): Eigen {
  const n = a.rows;
  // Work on the transpose layout-free copy; z holds rows as the reflector vectors.
  const z = new Float64Array(a.data);
  const diag = new Float64Array(n);
  const off = new Float64Array(n);
  tridiagonalize(z, n, diag, off);
  tridiagonalQl(z, n, diag, off);

  // Sort ascending; z's rows are eigenvectors after the QL step (see tridiagonalize).
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (p, q) => (diag[p] as number) - (diag[q] as number),
  );
  const values = new Float64Array(n);
  const vectors = zeros(n, n);
  const v = vectors.data;
  for (let k = 0; k < n; k++) {
    const src = order[k] as number;
    values[k] = diag[src] as number;
    for (let i = 0; i < n; i++) v[i * n + k] = z[src * n + i] as number;
  }
  return { values, vectors };
}

// Householder reduction of the symmetric matrix in z (row-major, n x n) to tridiagonal form,
// accumulating the orthogonal transform: on return z holds Q (z[k*n + i] = Q[k][i]), diag the
// diagonal and off[i] the entry (i, i-1), off[0] = 0.
function tridiagonalize(z: Float64Array, n: number, diag: Float64Array, off: Float64Array) {
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    const ri = i * n;
    let h = 0;
    if (l > 0) {
      let scale = 0;
      for (let k = 0; k <= l; k++) scale += Math.abs(z[ri + k] as number);
      if (scale === 0) {
        off[i] = z[ri + l] as number;
      } else {
        for (let k = 0; k <= l; k++) {
          const value = (z[ri + k] as number) / scale;
          z[ri + k] = value;
          h += value * value;
        }
        let f = z[ri + l] as number;
        const g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
        off[i] = scale * g;
        h -= f * g;
        z[ri + l] = f - g;
        // p = A u / h, stored in off[0..l]; uses the symmetric lower triangle through rows.
        f = 0;
        for (let j = 0; j <= l; j++) {
          const rj = j * n;
          z[rj + i] = (z[ri + j] as number) / h;
          let s = 0;
          for (let k = 0; k <= j; k++) s += (z[rj + k] as number) * (z[ri + k] as number);
          for (let k = j + 1; k <= l; k++) s += (z[k * n + j] as number) * (z[ri + k] as number);
          off[j] = s / h;
          f += (off[j] as number) * (z[ri + j] as number);
        }
        const hh = f / (h + h);
        for (let j = 0; j <= l; j++) {
          const fj = z[ri + j] as number;
          const gj = (off[j] as number) - hh * fj;
          off[j] = gj;
          const rj = j * n;
          for (let k = 0; k <= j; k++) {
            z[rj + k] =
              (z[rj + k] as number) - (fj * (off[k] as number) + gj * (z[ri + k] as number));
          }
        }
      }
    } else {
      off[i] = z[ri + l] as number;
    }
    diag[i] = h;
  }

  diag[0] = 0;
  off[0] = 0;
  // Accumulate the transforms. Row i of z ends as row i of Q^T restricted to [0, i).
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    const l = i - 1;
    if (diag[i] !== 0) {
      for (let j = 0; j <= l; j++) {
        let g = 0;
        for (let k = 0; k <= l; k++) g += (z[ri + k] as number) * (z[k * n + j] as number);
        for (let k = 0; k <= l; k++)
          z[k * n + j] = (z[k * n + j] as number) - g * (z[k * n + i] as number);
      }
    }
    diag[i] = z[ri + i] as number;
    z[ri + i] = 1;
    for (let j = 0; j <= l; j++) {
      z[j * n + i] = 0;
      z[ri + j] = 0;
    }
  }
}

// Implicit QL on the tridiagonal (diag, off) with the eigenvector matrix accumulated into z.
// z arrives as Q with column layout z[k*n + i] = Q[k][i]; rotations act on columns i and i+1,
// which we apply to the transpose (rows) for contiguity.
function tridiagonalQl(z: Float64Array, n: number, diag: Float64Array, off: Float64Array) {
  // Transpose z in place so that row i holds column i of Q.
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const t = z[i * n + j] as number;
      z[i * n + j] = z[j * n + i] as number;
      z[j * n + i] = t;
    }
  }
  for (let i = 1; i < n; i++) off[i - 1] = off[i] as number;
  off[n - 1] = 0;
  implicitQl(diag, off, z);
}

/**
 * The `count` largest eigenpairs of a symmetric matrix, for when few of many are wanted:
 * Householder tridiagonalisation with full (contiguous, row-wise) rank-two updates, eigenvalues
 * by implicit QL without vectors, eigenvectors of the tridiagonal matrix by inverse iteration
 * (re-orthogonalised within clusters), then back-transformed through the reflectors.
 *
 * @param a - A symmetric n x n matrix (only read).
 * @param count - How many of the largest eigenpairs to return.
 * @returns Eigenvalues descending and the matching eigenvectors as columns (n x count).
 */
export function largestEigen(a: Matrix, count: number): Eigen {
  const n = a.rows;
  const work = new Float64Array(a.data);
  const diag = new Float64Array(n);
  const off = new Float64Array(n);
  const hs = new Float64Array(n);
  reduceToTridiagonal(work, n, diag, off, hs);

  // off[i] couples i and i+1 from here on.
  const sub = new Float64Array(n);
  for (let i = 0; i + 1 < n; i++) sub[i] = off[i + 1] as number;
  const values = tridiagonalEigenvalues(diag, sub);
  values.sort((p, q) => q - p);
  const wanted = values.slice(0, count);

  let norm = 0;
  for (let i = 0; i < n; i++) {
    norm = Math.max(norm, Math.abs(diag[i] as number) + 2 * Math.abs(sub[i] as number));
  }
  const clusterGap = 1e-3 * Math.max(norm, Number.MIN_VALUE);
  const vectorsT = new Float64Array(count * n);
  let clusterStart = 0;
  for (let k = 0; k < count; k++) {
    if (k > 0 && (wanted[k - 1] as number) - (wanted[k] as number) > clusterGap) clusterStart = k;
    const y = vectorsT.subarray(k * n, (k + 1) * n);
    inverseIteration(diag, sub, wanted[k] as number, norm, y, vectorsT, clusterStart, k, k);
  }

  // v = P_{n-1} ... P_1 y, applying P_1 first.
  for (let k = 0; k < count; k++) {
    const y = vectorsT.subarray(k * n, (k + 1) * n);
    for (let i = 1; i < n; i++) {
      const h = hs[i] as number;
      if (h === 0) continue;
      const ri = i * n;
      let dot = 0;
      for (let j = 0; j < i; j++) dot += (work[ri + j] as number) * (y[j] as number);
      const f = dot / h;
      for (let j = 0; j < i; j++) y[j] = (y[j] as number) - f * (work[ri + j] as number);
    }
  }
  const vectors = zeros(n, count);
  for (let k = 0; k < count; k++) {
    for (let i = 0; i < n; i++) vectors.data[i * count + k] = vectorsT[k * n + i] as number;
  }
  return { values: wanted, vectors };
}

// Tridiagonalises z in place without accumulating Q: row i keeps the Householder vector u_i
// (entries 0..i-1) and hs[i] its scale h (P_i = I - u u^T / h, h = 0 meaning identity).
function reduceToTridiagonal(
  z: Float64Array,
  n: number,
  diag: Float64Array,
  off: Float64Array,
  hs: Float64Array,
) {
  const p = new Float64Array(n);
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    const ri = i * n;
    let scale = 0;
    for (let k = 0; k <= l; k++) scale += Math.abs(z[ri + k] as number);
    if (l === 0 || scale === 0) {
      off[i] = z[ri + l] as number;
      hs[i] = 0;
      continue;
    }
    let h = 0;
    for (let k = 0; k <= l; k++) {
      const value = (z[ri + k] as number) / scale;
      z[ri + k] = value;
      h += value * value;
    }
    const f = z[ri + l] as number;
    const g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
    off[i] = scale * g;
    h -= f * g;
    z[ri + l] = f - g;
    hs[i] = h;

    // p = A u / h over the leading (l+1) block from its lower triangle: row j contributes its
    // dot product to p[j] and its entries, scaled by u[j], to p[0..j) - both contiguous.
    p.fill(0, 0, l + 1);
    for (let j = 0; j <= l; j++) {
      const rj = j * n;
      const uj = z[ri + j] as number;
      let s = (z[rj + j] as number) * uj;
      for (let k = 0; k < j; k++) {
        const a = z[rj + k] as number;
        s += a * (z[ri + k] as number);
        p[k] = (p[k] as number) + a * uj;
      }
      p[j] = (p[j] as number) + s;
    }
    let uTp = 0;
    for (let j = 0; j <= l; j++) {
      p[j] = (p[j] as number) / h;
      uTp += (p[j] as number) * (z[ri + j] as number);
    }
    const half = uTp / (h + h);
    for (let j = 0; j <= l; j++) p[j] = (p[j] as number) - half * (z[ri + j] as number);

    // A <- A - u q^T - q u^T on the lower triangle of the leading block.
    for (let j = 0; j <= l; j++) {
      const rj = j * n;
      const uj = z[ri + j] as number;
      const qj = p[j] as number;
      for (let k = 0; k <= j; k++) {
        z[rj + k] = (z[rj + k] as number) - uj * (p[k] as number) - qj * (z[ri + k] as number);
      }
    }
  }
  off[0] = 0;
  hs[0] = 0;
  for (let i = 0; i < n; i++) diag[i] = z[i * n + i] as number;
}

// Eigenvalues of the tridiagonal matrix (diag, sub[i] between i and i+1) by implicit QL.
function tridiagonalEigenvalues(diagIn: Float64Array, subIn: Float64Array): Float64Array {
  const d = new Float64Array(diagIn);
  const e = new Float64Array(subIn);
  e[d.length - 1] = 0;
  implicitQl(d, e);
  return d;
}

// Implicit QL with Wilkinson shifts on the tridiagonal matrix (diag, off[i] between i and i+1,
// off[n-1] = 0), in place: diag ends as the eigenvalues. With z (row i holding column i of the
// orthogonal transform so far), each rotation is applied to its rows, which then hold the
// eigenvectors.
function implicitQl(diag: Float64Array, off: Float64Array, z?: Float64Array): void {
  const n = diag.length;
  const maxSweeps = 60;
  for (let l = 0; l < n; l++) {
    let iterations = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(diag[m] as number) + Math.abs(diag[m + 1] as number);
        if (Math.abs(off[m] as number) <= Number.EPSILON * dd) break;
      }
      if (m === l) break;
      if (iterations++ === maxSweeps) throw new Error('symmetric eigensolver: QL did not converge');
      let g = ((diag[l + 1] as number) - (diag[l] as number)) / (2 * (off[l] as number));
      let r = Math.hypot(g, 1);
      g = (diag[m] as number) - (diag[l] as number) + (off[l] as number) / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      for (; i >= l; i--) {
        const f = s * (off[i] as number);
        const b = c * (off[i] as number);
        r = Math.hypot(f, g);
        off[i + 1] = r;
        if (r === 0) {
          diag[i + 1] = (diag[i + 1] as number) - p;
          off[m] = 0;
          break;
        }
        s = f / r;
        c = g / r;
        g = (diag[i + 1] as number) - p;
        r = ((diag[i] as number) - g) * s + 2 * c * b;
        p = s * r;
        diag[i + 1] = g + p;
        g = c * r - b;
        if (z !== undefined) {
          const ra = (i + 1) * n;
          const rb = i * n;
          for (let k = 0; k < n; k++) {
            const zf = z[ra + k] as number;
            const ze = z[rb + k] as number;
            z[ra + k] = s * ze + c * zf;
            z[rb + k] = c * ze - s * zf;
          }
        }
      }
      if (r === 0 && i >= l) continue;
      diag[l] = (diag[l] as number) - p;
      off[l] = g;
      off[m] = 0;
    }
  }
}

// One eigenvector of the tridiagonal matrix for eigenvalue `lambda`, written to y: three steps
// of inverse iteration with an LU factorisation with partial pivoting, orthogonalised against
// the already computed vectors [from, to) of the same cluster.
function inverseIteration(
  diag: Float64Array,
  sub: Float64Array,
  lambda: number,
  norm: number,
  y: Float64Array,
  others: Float64Array,
  from: number,
  to: number,
  seed: number,
) {
  const n = diag.length;
  const dd = new Float64Array(n);
  const du = new Float64Array(n);
  const du2 = new Float64Array(n);
  const dl = new Float64Array(n);
  const swapped = new Uint8Array(n);
  // Members of a cluster get slightly separated shifts so their solves differ.
  const shift = lambda + (to - from) * 1e-14 * norm;
  for (let i = 0; i < n; i++) {
    dd[i] = (diag[i] as number) - shift;
    du[i] = sub[i] as number;
    dl[i] = sub[i] as number;
  }
  const tiny = Math.max(Number.EPSILON * norm, Number.MIN_VALUE);
  for (let i = 0; i + 1 < n; i++) {
    const a = dd[i] as number;
    const b = dl[i] as number;
    if (Math.abs(a) >= Math.abs(b)) {
      const pivot = a === 0 ? tiny : a;
      dd[i] = pivot;
      const mult = b / pivot;
      dl[i] = mult;
      dd[i + 1] = (dd[i + 1] as number) - mult * (du[i] as number);
      du2[i] = 0;
    } else {
      const mult = a / b;
      dd[i] = b;
      const temp = dd[i + 1] as number;
      dd[i + 1] = (du[i] as number) - mult * temp;
      if (i + 2 < n) {
        du2[i] = du[i + 1] as number;
        du[i + 1] = -mult * (du2[i] as number);
      }
      du[i] = temp;
      dl[i] = mult;
      swapped[i] = 1;
    }
  }
  for (let i = 0; i < n; i++) {
    if (Math.abs(dd[i] as number) < tiny) dd[i] = (dd[i] as number) >= 0 ? tiny : -tiny;
  }

  // A deterministic, unstructured start vector.
  let state = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    y[i] = state / 4294967296 - 0.5;
  }
  for (let step = 0; step < 3; step++) {
    for (let i = 0; i + 1 < n; i++) {
      if (swapped[i] === 1) {
        const t = y[i] as number;
        y[i] = y[i + 1] as number;
        y[i + 1] = t;
      }
      y[i + 1] = (y[i + 1] as number) - (dl[i] as number) * (y[i] as number);
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i] as number;
      if (i + 1 < n) s -= (du[i] as number) * (y[i + 1] as number);
      if (i + 2 < n) s -= (du2[i] as number) * (y[i + 2] as number);
      y[i] = s / (dd[i] as number);
    }
    for (let k = from; k < to; k++) {
      const o = k * n;
      let dot = 0;
      for (let i = 0; i < n; i++) dot += (y[i] as number) * (others[o + i] as number);
      for (let i = 0; i < n; i++) y[i] = (y[i] as number) - dot * (others[o + i] as number);
    }
    let sumSquares = 0;
    for (let i = 0; i < n; i++) sumSquares += (y[i] as number) * (y[i] as number);
    const scale = 1 / Math.sqrt(sumSquares);
    for (let i = 0; i < n; i++) y[i] = (y[i] as number) * scale;
  }
}
