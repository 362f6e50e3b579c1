// erfc, the normal CDF and quantile against scipy.special, and numpy-compatible percentiles.
import { describe, expect, it } from 'vitest';

import { loadFixtures } from './fixtures';
import { percentile, percentileOfSorted } from './quantile';
import { erfc, normalCdf, normalQuantile, normalSurvival } from './special';

/** Relative agreement with scipy's Cephes-based functions. */
const RELATIVE_TOLERANCE = 1e-13;
/** numpy.percentile agreement (same formula, same rounding order). */
const PERCENTILE_TOLERANCE = 1e-15;

const { special, percentile: pct } = loadFixtures();

const relative = (a: number, b: number) => (b === 0 ? Math.abs(a) : Math.abs(a - b) / Math.abs(b));

describe('normal distribution functions', () => {
  special.x.forEach((x, i) => {
    it(`erfc and ndtr at ${x}`, () => {
      expect(relative(erfc(x), special.erfc[i] as number)).toBeLessThanOrEqual(RELATIVE_TOLERANCE);
      expect(relative(normalCdf(x), special.ndtr[i] as number)).toBeLessThanOrEqual(
        RELATIVE_TOLERANCE,
      );
    });
  });

  special.p.forEach((p, i) => {
    it(`ndtri at ${p}`, () => {
      expect(relative(normalQuantile(p), special.ndtri[i] as number)).toBeLessThanOrEqual(
        RELATIVE_TOLERANCE,
      );
    });
  });

  it('the survival function is the mirrored CDF, and the quantile inverts the CDF', () => {
    for (const x of [-3, -0.5, 0, 1.2, 4]) {
      expect(normalSurvival(x)).toBeCloseTo(normalCdf(-x), 15);
      expect(normalQuantile(normalCdf(x))).toBeCloseTo(x, 10);
    }
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
  });
});

describe('percentile', () => {
  it('matches numpy.percentile (linear)', () => {
    pct.q.forEach((q, i) => {
      expect(Math.abs(percentile(pct.data, q) - (pct.values[i] as number))).toBeLessThanOrEqual(
        PERCENTILE_TOLERANCE,
      );
    });
  });

  it('interpolates between order statistics', () => {
    expect(percentileOfSorted([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentileOfSorted([1, 2, 3, 4], 0)).toBe(1);
    expect(percentileOfSorted([1, 2, 3, 4], 100)).toBe(4);
    expect(percentileOfSorted([7], 95)).toBe(7);
  });
});
