// Gate arithmetic of one LSTM timestep, forward and backward, over all rows of a batch, in
// WebAssembly SIMD128 (four float32 lanes). The recurrent product h U (and dz U^T backward) is not
// done here: the caller runs it on the tfjs backend and copies the result into this module's
// memory between steps. A blocked transpose serves the products over all steps of the gradient.
// Compiled by scripts/build-wasm-kernels.mjs into src/internal/lstm-gates-wasm.ts;
// src/internal/lstm-kernel.ts holds the plain TypeScript twin of the step functions (and uses
// tfjs' transpose) wherever this module cannot run.
//
// Layouts (float32, row-major; B batch rows, S steps, U units, gate order i, f, g, o as in Keras):
//   projected   [B][S][4U]  x W + b for every step, in original time order
//   recurrent   [B][4U]     h U for the current step
//   mask        [B][S]      1 for a real step, 0 for padding
//   h, c        [B][U]      hidden and cell state, updated in place
//   gates       [S][B][4U]  gate activations, indexed by processing order s
//   cells       [S][B][U]   cell state after step s (the carried one where the step is masked)
//   outputs     [B][S][U]   hidden state after each step, in original time order
// Processing step s covers time t = s, or t = S - 1 - s when the sequence runs backwards.
//
// Forward, for a real step:  z = projected[t] + recurrent,  i = sigmoid(z_i),  f = sigmoid(z_f),
//   g = tanh(z_g),  o = sigmoid(z_o),  c' = f c + i g,  h' = o tanh(c').
// A masked step leaves h and c as they were and repeats h as its output.
// Backward (with dh, dc the gradients flowing into h and c after the step, c the cell state
// before it, cells[s - 1] or 0 at the first step):
//   dh += dOutputs[t];  dc_total = dc + dh o (1 - tanh(c')^2);
//   dz_i = dc_total g i (1 - i),  dz_f = dc_total c f (1 - f),  dz_g = dc_total i (1 - g^2),
//   dz_o = dh tanh(c') o (1 - o),  dc = dc_total f;
// the caller then forms dh = dz U^T for real rows. A masked step passes dh and dc through and
// has dz = 0. Gradients whose magnitude is below the smallest normal float32 are flushed to 0:
// wasm arithmetic on subnormals is many times slower on x86, and such values are far below what
// any float32 sum of normal numbers can resolve.
//
// Accuracy. sigmoid and tanh are both built on one expm1 (exp(x) - 1): x = n ln2 + r with
// n = round(x / ln2) and |r| <= ln2 / 2, where ln2 is split into a high part with trailing zero
// bits (so n ln2_hi is exact) and a low correction; expm1(r) is a degree-6 polynomial fitted for
// least maximum relative error on that interval (1.7e-8 with float32 coefficients); then
// expm1(x) = 2^n expm1(r) + (2^n - 1), with 2^n built directly in the exponent bits. Against
// float64 references over a dense grid (lstm-gates.test.ts) the float32 results are within 2e-7
// relative error, a few roundings: sigmoid on [-80, 80] and tanh everywhere, including near 0,
// where tanh = expm1(2x) / (expm1(2x) + 2) keeps its relative accuracy (1 - 2 / (exp(2x) + 1)
// would cancel); absolute errors are below 1.5e-7. sigmoid(x) = 1 / (2 + expm1(-x)) with x clamped
// to [-80, 80], so a gate is never subnormal (sigmoid(-80) = 1.8e-35); tanh clamps x to
// [-10, 10], beyond which it is +-1 in float32. NaN propagates. The TypeScript path
// (activations.ts) computes in float64 and rounds once; the two paths agree on LSTM outputs and
// gradients to about 1e-6.

#include <wasm_simd128.h>

typedef v128_t f4;

#define SPLAT(x) wasm_f32x4_const_splat(x)

// Largest |x| passed to the sigmoid and the tanh: exp(80) is far inside float32 range and
// sigmoid(-80) = 1.8e-35 is still normal; tanh(10) rounds to 1 in float32.
#define SIGMOID_CLAMP 80.0f
#define TANH_CLAMP 10.0f

// ln 2 split for exact range reduction: the high part has its 9 lowest significand bits zero,
// so n * LN2_HI is exact for |n| < 512.
#define LOG2E 1.44269504088896341f
#define LN2_HI 0.693145751953125f
#define LN2_LO 1.4286068202862268e-6f

#define ROUND_SHIFT 12582912.0f

// Coefficients of the polynomial for expm1(r) on |r| <= ln2 / 2, fitted to minimise the largest
// relative error (iteratively reweighted least squares on a dense grid; the r coefficient is held
// at 1 so the result stays accurate relative to r near 0). The largest relative error is 1.7e-8
// with these float32 coefficients, against 1.8e-8 for the Taylor polynomial of one degree more.
#define P2 0.5f
#define P3 0.16666536033153534f
#define P4 0.0416669026017189f
#define P5 0.00836733914911747f
#define P6 0.0013901886995881796f

#define MIN_NORMAL 1.17549435e-38f

// expm1 of every lane, for |x| <= 87 (the callers clamp to 80).
static inline f4 expm1_f4(f4 x) {
  // n = round(x / ln2): adding 1.5 * 2^23 leaves n in the low significand bits (float32
  // addition rounds to nearest), and subtracting it again gives n as a float.
  f4 shifted = wasm_f32x4_add(wasm_f32x4_mul(x, SPLAT(LOG2E)), SPLAT(ROUND_SHIFT));
  f4 n = wasm_f32x4_sub(shifted, SPLAT(ROUND_SHIFT));
  f4 r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, SPLAT(LN2_HI)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, SPLAT(LN2_LO)));
  // expm1(r) ~ r (1 + r (P2 + r (P3 + r (P4 + r (P5 + r P6))))).
  f4 q = SPLAT(P6);
  q = wasm_f32x4_add(wasm_f32x4_mul(q, r), SPLAT(P5));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, r), SPLAT(P4));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, r), SPLAT(P3));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, r), SPLAT(P2));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, r), SPLAT(1.0f));
  q = wasm_f32x4_mul(q, r);
  // 2^n: the low bits of `shifted` hold n (two's complement), and shifting them into the
  // exponent field pushes the bits of 1.5 * 2^23 out of the word; then add the exponent bias.
  // n stays within [-126, 127] for the clamped arguments.
  f4 scale = wasm_i32x4_add(wasm_i32x4_shl(shifted, 23), wasm_i32x4_splat(127 << 23));
  return wasm_f32x4_add(wasm_f32x4_mul(scale, q), wasm_f32x4_sub(scale, SPLAT(1.0f)));
}

// Clamps to [-limit, limit]; NaN passes through (pmin and pmax keep their first operand when a
// comparison is false).
static inline f4 clamp_f4(f4 x, float limit) {
  return wasm_f32x4_pmax(wasm_f32x4_pmin(x, wasm_f32x4_splat(limit)), wasm_f32x4_splat(-limit));
}

static inline f4 sigmoid_f4(f4 x) {
  f4 e = expm1_f4(wasm_f32x4_neg(clamp_f4(x, SIGMOID_CLAMP)));
  return wasm_f32x4_div(SPLAT(1.0f), wasm_f32x4_add(e, SPLAT(2.0f)));
}

static inline f4 tanh_f4(f4 x) {
  f4 e = expm1_f4(wasm_f32x4_add(clamp_f4(x, TANH_CLAMP), clamp_f4(x, TANH_CLAMP)));
  return wasm_f32x4_div(e, wasm_f32x4_add(e, SPLAT(2.0f)));
}

// Zero where |x| is below the smallest normal float32 (NaN is kept).
static inline f4 flush_f4(f4 x) {
  return wasm_v128_andnot(x, wasm_f32x4_lt(wasm_f32x4_abs(x), SPLAT(MIN_NORMAL)));
}

// Loads and stores of `lanes` (1 to 4) floats; with lanes = 4 a plain vector access. The partial
// forms serve the last units of a row when the unit count is not a multiple of 4.
static inline f4 load_f4(const float *p, int lanes) {
  if (lanes == 4) return wasm_v128_load(p);
  f4 v = wasm_f32x4_splat(0.0f);
  v = wasm_f32x4_replace_lane(v, 0, p[0]);
  if (lanes > 1) v = wasm_f32x4_replace_lane(v, 1, p[1]);
  if (lanes > 2) v = wasm_f32x4_replace_lane(v, 2, p[2]);
  return v;
}

static inline void store_f4(float *p, f4 v, int lanes) {
  if (lanes == 4) {
    wasm_v128_store(p, v);
    return;
  }
  p[0] = wasm_f32x4_extract_lane(v, 0);
  if (lanes > 1) p[1] = wasm_f32x4_extract_lane(v, 1);
  if (lanes > 2) p[2] = wasm_f32x4_extract_lane(v, 2);
}

// Copies n floats.
static void copy_floats(float *to, const float *from, int n) {
  int j = 0;
  for (; j + 4 <= n; j += 4) wasm_v128_store(to + j, wasm_v128_load(from + j));
  if (j < n) store_f4(to + j, load_f4(from + j, n - j), n - j);
}

// Stores n zeros.
static void zero_floats(float *to, int n) {
  int j = 0;
  for (; j + 4 <= n; j += 4) wasm_v128_store(to + j, wasm_f32x4_splat(0.0f));
  if (j < n) store_f4(to + j, wasm_f32x4_splat(0.0f), n - j);
}

// Forward arithmetic for units j .. j + lanes of one real row.
static inline void forward_lanes(const float *zp, const float *zr, float *g, float *h, float *c,
                                 float *cell, float *out, int units, int j, int lanes) {
  f4 i = sigmoid_f4(wasm_f32x4_add(load_f4(zp + j, lanes), load_f4(zr + j, lanes)));
  f4 f = sigmoid_f4(
      wasm_f32x4_add(load_f4(zp + units + j, lanes), load_f4(zr + units + j, lanes)));
  f4 cand = tanh_f4(
      wasm_f32x4_add(load_f4(zp + 2 * units + j, lanes), load_f4(zr + 2 * units + j, lanes)));
  f4 o = sigmoid_f4(
      wasm_f32x4_add(load_f4(zp + 3 * units + j, lanes), load_f4(zr + 3 * units + j, lanes)));
  store_f4(g + j, i, lanes);
  store_f4(g + units + j, f, lanes);
  store_f4(g + 2 * units + j, cand, lanes);
  store_f4(g + 3 * units + j, o, lanes);
  f4 cNew = wasm_f32x4_add(wasm_f32x4_mul(f, load_f4(c + j, lanes)), wasm_f32x4_mul(i, cand));
  store_f4(c + j, cNew, lanes);
  store_f4(cell + j, cNew, lanes);
  f4 hNew = wasm_f32x4_mul(o, tanh_f4(cNew));
  store_f4(h + j, hNew, lanes);
  store_f4(out + j, hNew, lanes);
}

/**
 * One forward step s (time t) for all rows: reads projected, recurrent, mask and the state h, c;
 * writes h, c, the step's rows of gates and cells, and outputs at time t.
 */
__attribute__((export_name("lstm_forward_step"))) void lstm_forward_step(
    const float *projected, const float *recurrent, const float *mask, float *h, float *c,
    float *gates, float *cells, float *outputs, int batch, int steps, int units, int s, int t) {
  const int four = 4 * units;
  for (int r = 0; r < batch; r++) {
    float *hr = h + r * units;
    float *cr = c + r * units;
    float *out = outputs + (r * steps + t) * units;
    float *cell = cells + (s * batch + r) * units;
    if (mask[r * steps + t] == 0.0f) {
      copy_floats(out, hr, units);
      copy_floats(cell, cr, units);
      continue;
    }
    const float *zp = projected + (r * steps + t) * four;
    const float *zr = recurrent + r * four;
    float *g = gates + (s * batch + r) * four;
    int j = 0;
    for (; j + 4 <= units; j += 4) forward_lanes(zp, zr, g, hr, cr, cell, out, units, j, 4);
    if (j < units) forward_lanes(zp, zr, g, hr, cr, cell, out, units, j, units - j);
  }
}

// Backward arithmetic for units j .. j + lanes of one real row; cellBefore is null at the first
// step, whose previous cell state is 0.
static inline void backward_lanes(const float *g, const float *cell, const float *cellBefore,
                                  const float *dOut, float *dh, float *dc, float *dz, float *dp,
                                  int units, int j, int lanes) {
  f4 i = load_f4(g + j, lanes);
  f4 f = load_f4(g + units + j, lanes);
  f4 cand = load_f4(g + 2 * units + j, lanes);
  f4 o = load_f4(g + 3 * units + j, lanes);
  f4 tc = tanh_f4(load_f4(cell + j, lanes));
  f4 cb = cellBefore ? load_f4(cellBefore + j, lanes) : wasm_f32x4_splat(0.0f);
  f4 one = SPLAT(1.0f);

  f4 dhv = flush_f4(wasm_f32x4_add(load_f4(dh + j, lanes), load_f4(dOut + j, lanes)));
  store_f4(dh + j, dhv, lanes);
  f4 dcell = wasm_f32x4_add(
      load_f4(dc + j, lanes),
      wasm_f32x4_mul(wasm_f32x4_mul(dhv, o), wasm_f32x4_sub(one, wasm_f32x4_mul(tc, tc))));
  f4 dzi = flush_f4(wasm_f32x4_mul(wasm_f32x4_mul(dcell, cand),
                                   wasm_f32x4_mul(i, wasm_f32x4_sub(one, i))));
  f4 dzf = flush_f4(
      wasm_f32x4_mul(wasm_f32x4_mul(dcell, cb), wasm_f32x4_mul(f, wasm_f32x4_sub(one, f))));
  f4 dzg = flush_f4(wasm_f32x4_mul(wasm_f32x4_mul(dcell, i),
                                   wasm_f32x4_sub(one, wasm_f32x4_mul(cand, cand))));
  f4 dzo = flush_f4(
      wasm_f32x4_mul(wasm_f32x4_mul(dhv, tc), wasm_f32x4_mul(o, wasm_f32x4_sub(one, o))));
  store_f4(dc + j, flush_f4(wasm_f32x4_mul(dcell, f)), lanes);
  store_f4(dz + j, dzi, lanes);
  store_f4(dz + units + j, dzf, lanes);
  store_f4(dz + 2 * units + j, dzg, lanes);
  store_f4(dz + 3 * units + j, dzo, lanes);
  store_f4(dp + j, dzi, lanes);
  store_f4(dp + units + j, dzf, lanes);
  store_f4(dp + 2 * units + j, dzg, lanes);
  store_f4(dp + 3 * units + j, dzo, lanes);
}

/**
 * One backward step s (time t) for all rows: adds dOutputs at time t into dh, updates dc, and
 * writes the gate gradients into dz ([B][4U], zero for masked rows, the left operand of the
 * caller's dz U^T) and into dProjected at time t. Returns 1 when some row is real at this step.
 */
__attribute__((export_name("lstm_backward_step"))) int lstm_backward_step(
    const float *dOutputs, const float *mask, const float *gates, const float *cells, float *dh,
    float *dc, float *dz, float *dProjected, int batch, int steps, int units, int s, int t) {
  const int four = 4 * units;
  int anyReal = 0;
  for (int r = 0; r < batch; r++) {
    float *dhr = dh + r * units;
    const float *dOut = dOutputs + (r * steps + t) * units;
    float *dzr = dz + r * four;
    float *dp = dProjected + (r * steps + t) * four;
    if (mask[r * steps + t] == 0.0f) {
      for (int j = 0; j < units; j += 4) {
        int lanes = units - j < 4 ? units - j : 4;
        f4 sum = wasm_f32x4_add(load_f4(dhr + j, lanes), load_f4(dOut + j, lanes));
        store_f4(dhr + j, flush_f4(sum), lanes);
      }
      zero_floats(dzr, four);
      zero_floats(dp, four);
      continue;
    }
    anyReal = 1;
    const float *g = gates + (s * batch + r) * four;
    const float *cell = cells + (s * batch + r) * units;
    const float *cellBefore = s > 0 ? cells + ((s - 1) * batch + r) * units : 0;
    float *dcr = dc + r * units;
    int j = 0;
    for (; j + 4 <= units; j += 4)
      backward_lanes(g, cell, cellBefore, dOut, dhr, dcr, dzr, dp, units, j, 4);
    if (j < units)
      backward_lanes(g, cell, cellBefore, dOut, dhr, dcr, dzr, dp, units, j, units - j);
  }
  return anyReal;
}

/**
 * After the caller's product dhBefore = dz U^T ([B][U]) for step time t: the rows real at t take
 * it as their dh; masked rows keep the gradient they carry.
 */
__attribute__((export_name("lstm_take_hidden_grad"))) void lstm_take_hidden_grad(
    const float *dhBefore, const float *mask, float *dh, int batch, int steps, int units, int t) {
  for (int r = 0; r < batch; r++) {
    if (mask[r * steps + t] == 0.0f) continue;
    copy_floats(dh + r * units, dhBefore + r * units, units);
  }
}

/** sigmoid of n floats in place (for tests of the approximation). */
__attribute__((export_name("sigmoid_in_place"))) void sigmoid_in_place(float *a, int n) {
  int j = 0;
  for (; j + 4 <= n; j += 4) wasm_v128_store(a + j, sigmoid_f4(wasm_v128_load(a + j)));
  if (j < n) store_f4(a + j, sigmoid_f4(load_f4(a + j, n - j)), n - j);
}

/** tanh of n floats in place (for tests of the approximation). */
__attribute__((export_name("tanh_in_place"))) void tanh_in_place(float *a, int n) {
  int j = 0;
  for (; j + 4 <= n; j += 4) wasm_v128_store(a + j, tanh_f4(wasm_v128_load(a + j)));
  if (j < n) store_f4(a + j, tanh_f4(load_f4(a + j, n - j)), n - j);
}

/**
 * dst = src^T for src [rows][cols] (dst [cols][rows]), in 4 x 4 tiles. Serves the gradients'
 * products over all steps, which need the gate gradients transposed (tfjs' own transpose of such
 * a block is several times slower).
 */
__attribute__((export_name("transpose"))) void transpose(const float *src, float *dst, int rows,
                                                          int cols) {
  int i = 0;
  for (; i + 4 <= rows; i += 4) {
    const float *s0 = src + i * cols;
    int j = 0;
    for (; j + 4 <= cols; j += 4) {
      f4 a = wasm_v128_load(s0 + j);
      f4 b = wasm_v128_load(s0 + cols + j);
      f4 c = wasm_v128_load(s0 + 2 * cols + j);
      f4 d = wasm_v128_load(s0 + 3 * cols + j);
      // Interleave pairs of rows, then pairs of pairs: lane k of the results is row k.
      f4 ab01 = wasm_i32x4_shuffle(a, b, 0, 4, 1, 5);
      f4 ab23 = wasm_i32x4_shuffle(a, b, 2, 6, 3, 7);
      f4 cd01 = wasm_i32x4_shuffle(c, d, 0, 4, 1, 5);
      f4 cd23 = wasm_i32x4_shuffle(c, d, 2, 6, 3, 7);
      wasm_v128_store(dst + j * rows + i, wasm_i32x4_shuffle(ab01, cd01, 0, 1, 4, 5));
      wasm_v128_store(dst + (j + 1) * rows + i, wasm_i32x4_shuffle(ab01, cd01, 2, 3, 6, 7));
      wasm_v128_store(dst + (j + 2) * rows + i, wasm_i32x4_shuffle(ab23, cd23, 0, 1, 4, 5));
      wasm_v128_store(dst + (j + 3) * rows + i, wasm_i32x4_shuffle(ab23, cd23, 2, 3, 6, 7));
    }
    for (; j < cols; j++)
      for (int k = 0; k < 4; k++) dst[j * rows + i + k] = s0[k * cols + j];
  }
  for (; i < rows; i++)
    for (int j = 0; j < cols; j++) dst[j * rows + i] = src[i * cols + j];
}
