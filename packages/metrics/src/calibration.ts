// Calibration: reliability curve (as scikit-learn's calibration_curve), Brier score and ECE.
import { LesionEncError, describeValue } from '@lesionenc/base';

import { percentileOfSorted } from './internal/quantile';
import {
  type NumericArray,
  checkLabels,
  checkPositiveInteger,
  checkProbabilities,
} from './internal/validate';

/** How the probability axis is cut into bins. */
export type CalibrationStrategy = 'uniform' | 'quantile';

/** Options of {@link reliabilityCurve}. */
export interface ReliabilityOptions {
  /**
   * Number of bins.
   * @defaultValue 10
   */
  readonly bins?: number;
  /**
   * `uniform`: equal-width bins on [0, 1]; `quantile`: bins holding about equal numbers of samples.
   * @defaultValue 'uniform'
   */
  readonly strategy?: CalibrationStrategy;
}

/** The defaults of {@link ReliabilityOptions}. */
export const DEFAULT_RELIABILITY_OPTIONS: Readonly<Required<ReliabilityOptions>> = Object.freeze({
  bins: 10,
  strategy: 'uniform',
});

/** One non-empty bin of a reliability curve. */
export interface ReliabilityBin {
  /** Bin edges on the probability axis (the lower edge is exclusive except for the first bin). */
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  /** Mean predicted probability in the bin (scikit-learn's `prob_pred`). */
  readonly meanPredicted: number;
  /** Fraction of positives in the bin (scikit-learn's `prob_true`). */
  readonly fractionPositive: number;
}

/** A reliability curve; empty bins are left out, as scikit-learn does. */
export interface ReliabilityCurve {
  readonly bins: ReliabilityBin[];
  /** Count-weighted mean of |fraction positive - mean predicted| over the bins. */
  readonly expectedCalibrationError: number;
  readonly strategy: CalibrationStrategy;
}

function checkPair(
  what: string,
  labels: NumericArray,
  probs: NumericArray,
): { y: Uint8Array; p: Float64Array } {
  const y = checkLabels(what, labels);
  const p = checkProbabilities(what, probs);
  if (y.length !== p.length) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `${what}: expected as many probabilities as labels, got ${p.length} for ${y.length} labels`,
    );
  }
  return { y, p };
}

/**
 * Reliability (calibration) curve: the observed fraction of positives against the mean predicted
 * probability in each bin. Bin edges and assignment follow scikit-learn 1.2.1's
 * `calibration_curve` (a probability on an inner edge falls in the lower bin).
 *
 * @param labels - 0/1 ground truth.
 * @param probs - Predicted probabilities in [0, 1].
 * @param options - Number of bins (10) and strategy (`uniform`).
 * @returns The non-empty bins and the expected calibration error.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for probabilities outside [0, 1] or bad
 * options, `SHAPE_MISMATCH` for different lengths, `DEGENERATE_INPUT` for empty input.
 * @example
 * ```ts
 * const { bins } = reliabilityCurve(labels, probabilities, { bins: 5 });
 * ```
 */
export function reliabilityCurve(
  labels: NumericArray,
  probs: NumericArray,
  options: ReliabilityOptions = {},
): ReliabilityCurve {
  const settings = { ...DEFAULT_RELIABILITY_OPTIONS, ...options };
  const binCount = checkPositiveInteger('reliabilityCurve bins', settings.bins);
  const { y, p } = checkPair('reliabilityCurve', labels, probs);

  const edges = new Float64Array(binCount + 1);
  if (settings.strategy === 'uniform') {
    // numpy.linspace(0, 1, bins + 1): i * step, with the last edge exactly 1.
    const step = 1 / binCount;
    for (let i = 0; i <= binCount; i++) edges[i] = i * step;
    edges[binCount] = 1;
  } else if (settings.strategy === 'quantile') {
    const sorted = Float64Array.from(p).sort();
    const step = 1 / binCount;
    for (let i = 0; i <= binCount; i++) {
      const q = i === binCount ? 1 : i * step;
      edges[i] = percentileOfSorted(sorted, q * 100);
    }
  } else {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `reliabilityCurve strategy: expected 'uniform' or 'quantile', got ${describeValue(settings.strategy)}`,
    );
  }

  const sums = new Float64Array(binCount);
  const positives = new Float64Array(binCount);
  const counts = new Float64Array(binCount);
  for (let i = 0; i < p.length; i++) {
    const value = p[i] as number;
    // The first inner edge >= value (numpy.searchsorted, side 'left', over the inner edges).
    let lo = 0;
    let hi = binCount - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((edges[mid + 1] as number) < value) lo = mid + 1;
      else hi = mid;
    }
    sums[lo] = (sums[lo] as number) + value;
    positives[lo] = (positives[lo] as number) + (y[i] as number);
    counts[lo] = (counts[lo] as number) + 1;
  }

  const bins: ReliabilityBin[] = [];
  let ece = 0;
  for (let b = 0; b < binCount; b++) {
    const count = counts[b] as number;
    if (count === 0) continue;
    const meanPredicted = (sums[b] as number) / count;
    const fractionPositive = (positives[b] as number) / count;
    bins.push({
      lower: edges[b] as number,
      upper: edges[b + 1] as number,
      count,
      meanPredicted,
      fractionPositive,
    });
    ece += (count / p.length) * Math.abs(fractionPositive - meanPredicted);
  }
  return { bins, expectedCalibrationError: ece, strategy: settings.strategy };
}

/**
 * The Brier score: mean squared difference between the probability and the 0/1 outcome
 * (scikit-learn's `brier_score_loss`). Lower is better; 0.25 is a constant 0.5 guess.
 *
 * @param labels - 0/1 ground truth.
 * @param probs - Predicted probabilities in [0, 1].
 * @returns The score in [0, 1].
 * @throws {@link LesionEncError} as {@link reliabilityCurve}.
 */
export function brierScore(labels: NumericArray, probs: NumericArray): number {
  const { y, p } = checkPair('brierScore', labels, probs);
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += ((y[i] as number) - (p[i] as number)) ** 2;
  return sum / y.length;
}
