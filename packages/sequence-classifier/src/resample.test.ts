import { isLesionEncError } from '@lesionenc/base';
import { describe, expect, it } from 'vitest';

import { resampleSequence } from './resample';

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('resampleSequence', () => {
  it('averages pairs of 2.5 mm slices into 5 mm steps', () => {
    // Two features per step: the step index and its square.
    const steps = 6;
    const data = Float32Array.from({ length: steps * 2 }, (_, i) =>
      i % 2 === 0 ? i / 2 : (i - 1) ** 2 / 4,
    );
    const { features, steps: out } = resampleSequence(data, steps, 2.5, 5);
    expect(out).toBe(3);
    expect(Array.from(features)).toEqual([0.5, 0.5, 2.5, 6.5, 4.5, 20.5]);
  });

  it('weights partly covered slices by their overlap', () => {
    // 3 steps to 2: each output step covers 1.5 source steps.
    const { features, steps } = resampleSequence([0, 3, 6], 3, 2, 3);
    expect(steps).toBe(2);
    expect(features[0]).toBeCloseTo((0 * 1 + 3 * 0.5) / 1.5, 6);
    expect(features[1]).toBeCloseTo((3 * 0.5 + 6 * 1) / 1.5, 6);
  });

  it('keeps the mean of a sequence when coarsening', () => {
    const data = Float32Array.from({ length: 40 }, (_, i) => Math.sin(i));
    const { features } = resampleSequence(data, 40, 1.25, 5);
    const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;
    expect(features).toHaveLength(10);
    expect(mean(features)).toBeCloseTo(mean(data), 6);
  });

  it('interpolates linearly when refining, and keeps a linear ramp a ramp', () => {
    const { features, steps } = resampleSequence([0, 2, 4, 6], 4, 5, 2.5);
    expect(steps).toBe(8);
    // Output centres at source positions -0.25, 0.25, ..., 3.25, clamped at the ends.
    expect(Array.from(features)).toEqual([0, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6]);
  });

  it('returns a copy at equal spacings', () => {
    const data = new Float32Array([1, 2, 3, 4]);
    const { features, steps } = resampleSequence(data, 2, 5, 5);
    expect(steps).toBe(2);
    expect(features).toEqual(data);
    expect(features).not.toBe(data);
  });

  it('keeps at least one step', () => {
    const { features, steps } = resampleSequence([1, 3], 2, 1, 10);
    expect(steps).toBe(1);
    expect(Array.from(features)).toEqual([2]);
  });

  it.each([
    [[1, 2], 2, 0, 5, /positive source spacing/],
    [[1, 2], 2, 5, Number.NaN, /positive target spacing/],
    [[1, 2, 3], 2, 5, 5, /2 whole rows/],
    [[], 0, 5, 5, /at least one step/],
  ])('rejects bad input %#', (data, steps, from, to, message) => {
    const error = catchError(() => resampleSequence(data, steps, from, to));
    expect(isLesionEncError(error) && error.code).toBe('INVALID_ARGUMENT');
    expect((error as Error).message).toMatch(message);
  });
});
