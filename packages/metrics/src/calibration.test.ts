// Reliability curve and Brier score against scikit-learn 1.2.1's calibration_curve and brier_score_loss.
import { isLesionEncError } from '@lesionenc/base';
import { describe, expect, it } from 'vitest';

import { brierScore, reliabilityCurve } from './calibration';
import { loadFixtures, maxAbsDifference } from './internal/fixtures';

/** The bar for agreement with scikit-learn. */
const SKLEARN_TOLERANCE = 1e-12;

const { calibration } = loadFixtures();

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isLesionEncError(error) ? error.code : 'not a LesionEncError';
  }
  return undefined;
}

describe('reliabilityCurve', () => {
  for (const c of calibration.curves) {
    it(`${c.strategy} with ${c.n_bins} bins`, () => {
      const curve = reliabilityCurve(calibration.labels, calibration.probs, {
        bins: c.n_bins,
        strategy: c.strategy,
      });
      const fractions = curve.bins.map((b) => b.fractionPositive);
      const means = curve.bins.map((b) => b.meanPredicted);
      expect(fractions.length).toBe(c.prob_true.length);
      expect(maxAbsDifference(fractions, c.prob_true)).toBeLessThanOrEqual(SKLEARN_TOLERANCE);
      expect(maxAbsDifference(means, c.prob_pred)).toBeLessThanOrEqual(SKLEARN_TOLERANCE);
      expect(curve.bins.reduce((s, b) => s + b.count, 0)).toBe(calibration.labels.length);
    });
  }

  it('a perfectly calibrated bin structure has zero ECE', () => {
    const curve = reliabilityCurve([0, 1, 0, 0, 1, 1], [0.5, 0.5, 0.0, 0.0, 1, 1], { bins: 4 });
    expect(curve.expectedCalibrationError).toBe(0);
    expect(curve.bins.map((b) => b.count)).toEqual([2, 2, 2]);
  });

  it('rejects probabilities outside [0, 1], NaN, mismatched lengths and empty input', () => {
    expect(codeOf(() => reliabilityCurve([0, 1], [0.2, 1.2]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => reliabilityCurve([0, 1], [0.2, Number.NaN]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => reliabilityCurve([0, 1], [0.2]))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => reliabilityCurve([], []))).toBe('DEGENERATE_INPUT');
    expect(codeOf(() => reliabilityCurve([0, 1], [0.2, 0.4], { bins: 0 }))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});

describe('brierScore', () => {
  it('matches brier_score_loss', () => {
    expect(
      Math.abs(brierScore(calibration.labels, calibration.probs) - calibration.brier),
    ).toBeLessThanOrEqual(SKLEARN_TOLERANCE);
  });

  it('is 0.25 for a constant one half and 0 for a perfect forecast', () => {
    expect(brierScore([0, 1, 1, 0], [0.5, 0.5, 0.5, 0.5])).toBe(0.25);
    expect(brierScore([0, 1], [0, 1])).toBe(0);
  });

  it('rejects bad input with typed errors', () => {
    expect(codeOf(() => brierScore([0, 1], [0.5]))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => brierScore([0, 1], [Number.NaN, 0.5]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => brierScore([0, 3], [0.5, 0.5]))).toBe('INVALID_ARGUMENT');
  });
});
