// Float64 matrix products for FastICA as WebAssembly SIMD: the Gram matrix of the centred data's
// columns (X^T X, the largest step of the whitening) and products A B^T (the projection onto the
// whitened space and the fixed-point iteration). Built by scripts/build-wasm-kernels.mjs into
// src/internal/linalg-wasm.ts; src/internal/native-linalg.ts drives it and falls back to the
// TypeScript kernels of src/internal/linalg.ts where WebAssembly kernels cannot run.
//
// gram_accumulate(x, rows, d, dp, pack, c) adds, for every pair of features i <= j,
//
//   c[i * dp + j] += sum over s < rows of x[s * d + i] * x[s * d + j]
//
// where x is a block of `rows` samples stored row-major with `d` features each, c is a dp x dp
// matrix and dp >= d is a multiple of tile_size(). Some entries with i > j (in tiles that
// straddle the diagonal) are written too and are not part of the result. Called on consecutive
// blocks of samples it accumulates X^T X; the caller reads the upper triangle of the leading
// d x d part and mirrors it. `pack` is scratch of dp * rows doubles.
//
// abt_accumulate(a, m, b, n, k, mp, np, pack_a, pack_b, c) adds
//
//   c[i * np + j] += sum over p < k of a[i * k + p] * b[j * k + p]    (i < m, j < n)
//
// for row-major a (m x k) and b (n x k), c being mp x np with mp >= m and np >= n multiples of
// tile_size() (entries past m or n receive zeros). pack_a and pack_b are scratch of mp * k and
// np * k doubles. Called on consecutive column blocks of a and b it accumulates A B^T.
//
// How: both first rearrange their operands so that the summation index runs along memory and
// the output rows (or columns) come in pairs whose two values sit side by side for each value of
// the summation index (zero-padded to the multiple). A tile of TILE x TILE outputs then lives in
// SIMD registers (f64x2: two neighbouring outputs of a row per register) while the summation
// index is walked: per step the tile's columns are loaded as two vectors, each of the tile's rows
// is broadcast to both lanes, and the products are added. All arithmetic is float64 without
// fused multiply-adds; results differ from a plain loop only in the order the products are
// summed (per tile and block first, then into c).
//
// Why 4 x 4: V8 compiles WebAssembly SIMD to the 16 XMM registers on x64 and keeps one for
// itself, so 8 accumulators, 2 column vectors and 1 broadcast fit without spilling, whereas
// 4 x 6 or 6 x 4 tiles (12 accumulators) spill and run several times slower.

#include <wasm_simd128.h>

#define TILE 4
#define TILE_PAIRS (TILE / 2)

// What padded sizes (dp, mp, np) must be multiples of, so that every tile lies inside c.
__attribute__((export_name("tile_size"))) int tile_size(void) { return TILE; }

// pack[(f / 2) * 2 * rows + 2 * s + f % 2] = x[s * d + f] for f < d, and 0 for d <= f < dp.
static void pack_pairs(const double *x, int rows, int d, int dp, double *pack) {
  const long pair_stride = 2L * rows;
  for (int s = 0; s < rows; s++) {
    const double *row = x + (long)s * d;
    double *out = pack + 2 * s;
    int f = 0;
    for (; f + 1 < d; f += 2) {
      wasm_v128_store(out + (f / 2) * pair_stride, wasm_v128_load(row + f));
    }
    for (; f < dp; f += 2) {
      double *pair = out + (f / 2) * pair_stride;
      pair[0] = f < d ? row[f] : 0.0;
      pair[1] = 0.0;
    }
  }
}

// One tile of TILE x TILE outputs: its rows from the two pairs starting at a, its columns from
// the two pairs starting at b, consecutive pairs 2 * len doubles apart; the sums over the len
// steps of the summation index are added to the tile at c (row stride ldc).
static void tile_accumulate(const double *a, const double *b, int len, double *c, int ldc) {
  v128_t acc[TILE][TILE_PAIRS];
  for (int r = 0; r < TILE; r++) {
    for (int q = 0; q < TILE_PAIRS; q++) acc[r][q] = wasm_f64x2_splat(0.0);
  }
  const long pair_stride = 2L * len;
  for (int s = 0; s < len; s++) {
    v128_t col[TILE_PAIRS];
    for (int q = 0; q < TILE_PAIRS; q++) col[q] = wasm_v128_load(b + q * pair_stride + 2 * s);
    for (int r = 0; r < TILE; r++) {
      v128_t row = wasm_v128_load64_splat(a + (r / 2) * pair_stride + 2 * s + r % 2);
      for (int q = 0; q < TILE_PAIRS; q++) {
        acc[r][q] = wasm_f64x2_add(acc[r][q], wasm_f64x2_mul(row, col[q]));
      }
    }
  }
  for (int r = 0; r < TILE; r++) {
    for (int q = 0; q < TILE_PAIRS; q++) {
      double *out = c + (long)r * ldc + 2 * q;
      wasm_v128_store(out, wasm_f64x2_add(wasm_v128_load(out), acc[r][q]));
    }
  }
}

// pack[(i / 2) * 2 * k + 2 * p + i % 2] = a[i * k + p] for i < m, and 0 for m <= i < mp: rows
// taken in pairs, the two rows of a pair interleaved along p.
static void pack_row_pairs(const double *a, int m, int k, int mp, double *pack) {
  const long pair_stride = 2L * k;
  for (int i = 0; i < mp; i += 2) {
    double *out = pack + (i / 2) * pair_stride;
    const double *first = a + (long)i * k;
    const double *second = first + k;
    int p = 0;
    if (i + 1 < m) {
      for (; p + 1 < k; p += 2) {
        v128_t u = wasm_v128_load(first + p);
        v128_t v = wasm_v128_load(second + p);
        wasm_v128_store(out + 2 * p, wasm_i64x2_shuffle(u, v, 0, 2));
        wasm_v128_store(out + 2 * p + 2, wasm_i64x2_shuffle(u, v, 1, 3));
      }
    }
    for (; p < k; p++) {
      out[2 * p] = i < m ? first[p] : 0.0;
      out[2 * p + 1] = i + 1 < m ? second[p] : 0.0;
    }
  }
}

__attribute__((export_name("gram_accumulate"))) void gram_accumulate(const double *x, int rows,
                                                                     int d, int dp,
                                                                     double *pack, double *c) {
  if (rows <= 0 || d <= 0 || dp < d || dp % TILE != 0) return;
  pack_pairs(x, rows, d, dp, pack);
  const long pair_stride = 2L * rows;
  // One tile column at a time (its packed columns stay in the L1 cache) against every tile row
  // that reaches the diagonal or above.
  for (int j = 0; j < dp; j += TILE) {
    const double *b = pack + (j / 2) * pair_stride;
    for (int i = 0; i <= j; i += TILE) {
      tile_accumulate(pack + (i / 2) * pair_stride, b, rows, c + (long)i * dp + j, dp);
    }
  }
}

__attribute__((export_name("abt_accumulate"))) void abt_accumulate(const double *a, int m,
                                                                   const double *b, int n,
                                                                   int k, int mp, int np,
                                                                   double *pack_a,
                                                                   double *pack_b, double *c) {
  if (m <= 0 || n <= 0 || k <= 0 || mp < m || np < n || mp % TILE != 0 || np % TILE != 0) return;
  pack_row_pairs(a, m, k, mp, pack_a);
  pack_row_pairs(b, n, k, np, pack_b);
  const long pair_stride = 2L * k;
  // One tile column of b at a time (kept in the L1 cache) against every tile row of a.
  for (int j = 0; j < np; j += TILE) {
    const double *bj = pack_b + (j / 2) * pair_stride;
    for (int i = 0; i < mp; i += TILE) {
      tile_accumulate(pack_a + (i / 2) * pair_stride, bj, k, c + (long)i * np + j, np);
    }
  }
}
