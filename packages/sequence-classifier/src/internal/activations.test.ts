// The fast sigmoid and tanh against float64 references over a dense grid, tiny arguments and
// arguments far beyond the clamps.
import { describe, expect, it } from 'vitest';

import { sigmoidInPlace, tanhInPlace } from './activations';

/** Relative error allowed after rounding to float32 (float32 itself rounds to 6e-8). */
const RELATIVE_TOLERANCE = 1e-6;

/** The smallest normal float32: below it float32 keeps too few bits for a relative bound. */
const FLOAT32_MIN_NORMAL = 2 ** -126;

function grid(): Float64Array {
  const values: number[] = [];
  // Step 1e-3 over [-120, 120] crosses both clamps; then tiny arguments where cancellation bites.
  for (let i = -120_000; i <= 120_000; i++) values.push(i * 1e-3);
  for (let e = -30; e <= 0; e++)
    for (const m of [1, 2.5, 7.3]) values.push(m * 10 ** e, -m * 10 ** e);
  values.push(1e4, -1e4, 1e30, -1e30, 0);
  return Float64Array.from(values);
}

function sigmoidReference(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

function worstRelativeError(
  apply: (a: Float32Array, from: number, to: number) => void,
  reference: (x: number) => number,
): { error: number; at: number } {
  const x = grid();
  const a = Float32Array.from(x);
  apply(a, 0, a.length);
  let worst = { error: 0, at: 0 };
  for (let q = 0; q < a.length; q++) {
    // The reference is taken at the float32 input the function actually received.
    const expected = reference(Math.fround(x[q] as number));
    if (Math.abs(expected) < FLOAT32_MIN_NORMAL) {
      expect(Math.abs(a[q] as number)).toBeLessThan(FLOAT32_MIN_NORMAL);
      continue;
    }
    const error = Math.abs((a[q] as number) - expected) / Math.abs(expected);
    if (error > worst.error) worst = { error, at: x[q] as number };
  }
  return worst;
}

describe('fast activations', () => {
  it('sigmoid is within float32 accuracy everywhere', () => {
    expect(worstRelativeError(sigmoidInPlace, sigmoidReference).error).toBeLessThan(
      RELATIVE_TOLERANCE,
    );
  });

  it('tanh is within float32 accuracy everywhere, also near 0', () => {
    expect(worstRelativeError(tanhInPlace, Math.tanh).error).toBeLessThan(RELATIVE_TOLERANCE);
  });

  it('saturates exactly and touches only the given range', () => {
    const a = Float32Array.from([5, 1e30, -1e30, 5]);
    sigmoidInPlace(a, 1, 3);
    expect(Array.from(a)).toEqual([5, 1, 0, 5]);
    const b = Float32Array.from([5, 1e30, -1e30, 5]);
    tanhInPlace(b, 1, 3);
    expect(Array.from(b)).toEqual([5, 1, -1, 5]);
  });
});
