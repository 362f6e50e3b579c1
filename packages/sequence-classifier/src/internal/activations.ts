// Sigmoid and tanh for the LSTM gate loops, built on one inlinable exp(x) - 1 that is about twice
// as fast as Math.exp in V8 and accurate well beyond float32 rounding. The in-place forms over a
// range of an array are what the kernel calls: each is small enough that V8 inlines the whole
// exp into its loop, which it stops doing inside a large caller once its inlining budget is spent.

/** Arguments beyond this magnitude give a sigmoid below the smallest float32 (or exactly 1). */
const SIGMOID_CLAMP = 104;

/** tanh(20) rounds to 1 in float64 already. */
const TANH_CLAMP = 20;

/** exp is reduced by steps of ln(2) / STEPS_PER_OCTAVE, so the remaining polynomial is short. */
const STEPS_PER_OCTAVE = 32;

/** 2^(j / 32) for j in [0, 32). */
const FRACTION_POWERS = Float64Array.from(
  { length: STEPS_PER_OCTAVE },
  (_, j) => 2 ** (j / STEPS_PER_OCTAVE),
);

/** 2^m for m in [-OCTAVE_BIAS, OCTAVE_BIAS). */
const OCTAVE_BIAS = 160;
const OCTAVE_POWERS = Float64Array.from(
  { length: 2 * OCTAVE_BIAS },
  (_, i) => 2 ** (i - OCTAVE_BIAS),
);

const STEPS_PER_NAT = STEPS_PER_OCTAVE * Math.LOG2E;
const NATS_PER_STEP = Math.LN2 / STEPS_PER_OCTAVE;

/** Adding and subtracting 1.5 * 2^52 rounds a float64 of magnitude below 2^51 to an integer. */
const ROUNDING_SHIFT = 6755399441055744;

// exp(x) - 1 for |x| <= 110 with relative error below 1e-9, also near 0: x = k ln(2) / 32 + r
// with |r| <= ln(2) / 64; with s = 2^(k / 32) from two small tables, exp(x) - 1 is
// s (exp(r) - 1) + (s - 1), and exp(r) - 1 is its Taylor polynomial to r^3 / 6 (first omitted
// term below 6e-10). Written out in both loops below rather than called: a call inside them is
// inlined only while the caller's inlining budget lasts, and a call per element costs as much as
// the arithmetic.

/**
 * Replaces `a[from..to)` by its logistic sigmoid 1 / (1 + exp(-x)), with relative error below
 * 1e-7 wherever the result is a normal float32.
 *
 * @param a - Values, changed in place.
 * @param from - First index.
 * @param to - One past the last index.
 */
export function sigmoidInPlace(a: Float32Array, from: number, to: number): void {
  for (let q = from; q < to; q++) {
    const v = a[q] as number;
    const x = v > SIGMOID_CLAMP ? -SIGMOID_CLAMP : v < -SIGMOID_CLAMP ? SIGMOID_CLAMP : -v;
    const k = (x * STEPS_PER_NAT + ROUNDING_SHIFT - ROUNDING_SHIFT) | 0;
    const r = x - k * NATS_PER_STEP;
    const p = r * (1 + r * (0.5 + r * (1 / 6)));
    const scale =
      (FRACTION_POWERS[k & (STEPS_PER_OCTAVE - 1)] as number) *
      (OCTAVE_POWERS[(k >> 5) + OCTAVE_BIAS] as number);
    a[q] = 1 / (2 + scale * p + (scale - 1));
  }
}

/**
 * Replaces `a[from..to)` by its tanh, computed as expm1(2x) / (expm1(2x) + 2), with relative
 * error below 1e-7 everywhere (also near 0, where 1 - 2 / (exp(2x) + 1) would cancel).
 *
 * @param a - Values, changed in place.
 * @param from - First index.
 * @param to - One past the last index.
 */
export function tanhInPlace(a: Float32Array, from: number, to: number): void {
  for (let q = from; q < to; q++) {
    const v = a[q] as number;
    const x = v > TANH_CLAMP ? 2 * TANH_CLAMP : v < -TANH_CLAMP ? -2 * TANH_CLAMP : 2 * v;
    const k = (x * STEPS_PER_NAT + ROUNDING_SHIFT - ROUNDING_SHIFT) | 0;
    const r = x - k * NATS_PER_STEP;
    const p = r * (1 + r * (0.5 + r * (1 / 6)));
    const scale =
      (FRACTION_POWERS[k & (STEPS_PER_OCTAVE - 1)] as number) *
      (OCTAVE_POWERS[(k >> 5) + OCTAVE_BIAS] as number);
    const e = scale * p + (scale - 1);
    a[q] = e / (e + 2);
  }
}
