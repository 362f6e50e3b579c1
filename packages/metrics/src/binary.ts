// Confusion counts and the metrics made of them, at a threshold or at a chosen operating point.
import { LesionEncError, describeValue } from '@lesionenc/base';

import { type NumericArray, checkBinaryInput, checkRange } from './internal/validate';
import { countAtThresholds, rocFromCounts } from './roc';

/** Counts of a binary decision against the truth. */
export interface ConfusionCounts {
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

/** The metrics of a binary decision; rates are fractions in [0, 1]. */
export interface BinaryMetrics extends ConfusionCounts {
  /** A sample is called positive when its score is >= this. */
  readonly threshold: number;
  /** TP / (TP + FN), also called recall or true-positive rate. */
  readonly sensitivity: number;
  /** TN / (TN + FP). */
  readonly specificity: number;
  /** (TP + TN) / all. */
  readonly accuracy: number;
  /** TP / (TP + FP); {@link BinaryMetricsOptions.zeroDivision} when nothing is called positive. */
  readonly precision: number;
  /** TN / (TN + FN); {@link BinaryMetricsOptions.zeroDivision} when nothing is called negative. */
  readonly negativePredictiveValue: number;
  /** Harmonic mean of precision and sensitivity; 0 when both are 0. */
  readonly f1: number;
  /** Mean of sensitivity and specificity. */
  readonly balancedAccuracy: number;
}

/** Options of {@link binaryMetrics}. */
export interface BinaryMetricsOptions {
  /**
   * Scores >= this are called positive.
   * @defaultValue 0.5
   */
  readonly threshold?: number;
  /**
   * The value of precision (or negative predictive value) when no sample is called positive
   * (negative): 0 like scikit-learn's `zero_division` default, or 1.
   * @defaultValue 0
   */
  readonly zeroDivision?: 0 | 1;
}

/** The defaults of {@link BinaryMetricsOptions}. */
export const DEFAULT_BINARY_METRICS_OPTIONS: Readonly<Required<BinaryMetricsOptions>> =
  Object.freeze({ threshold: 0.5, zeroDivision: 0 });

/**
 * Counts true and false positives and negatives when scores >= threshold are called positive.
 * One class alone is allowed here.
 *
 * @param labels - 0/1 ground truth.
 * @param scores - Finite scores.
 * @param threshold - The decision threshold. @defaultValue 0.5
 * @returns The four counts.
 * @throws {@link LesionEncError} `SHAPE_MISMATCH`, `INVALID_ARGUMENT` or `DEGENERATE_INPUT`
 * (empty) as in {@link rocCurve}.
 */
export function confusionCounts(
  labels: NumericArray,
  scores: NumericArray,
  threshold = DEFAULT_BINARY_METRICS_OPTIONS.threshold,
): ConfusionCounts {
  checkThreshold('confusionCounts', threshold);
  const input = checkBinaryInput('confusionCounts', labels, scores, false);
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < input.labels.length; i++) {
    if ((input.scores[i] as number) >= threshold) {
      if (input.labels[i] === 1) tp++;
      else fp++;
    }
  }
  return { tp, fp, tn: input.negatives - fp, fn: input.positives - tp };
}

/**
 * Turns counts into metrics.
 *
 * @param counts - Confusion counts with at least one positive and one negative sample.
 * @param threshold - Recorded in the result.
 * @param zeroDivision - See {@link BinaryMetricsOptions.zeroDivision}.
 * @returns The metrics.
 * @throws {@link LesionEncError} `DEGENERATE_INPUT` when a class has no samples (sensitivity or
 * specificity would be undefined).
 */
export function metricsFromCounts(
  counts: ConfusionCounts,
  threshold: number,
  zeroDivision: 0 | 1 = DEFAULT_BINARY_METRICS_OPTIONS.zeroDivision,
): BinaryMetrics {
  const { tp, fp, tn, fn } = counts;
  for (const [name, value] of Object.entries({ tp, fp, tn, fn })) {
    if (!Number.isInteger(value) || value < 0) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `binary metrics ${name}: expected a count (integer >= 0), got ${String(value)}`,
      );
    }
  }
  const positives = tp + fn;
  const negatives = tn + fp;
  if (positives === 0 || negatives === 0) {
    throw new LesionEncError(
      'DEGENERATE_INPUT',
      `binary metrics: expected both classes among the labels, got ${positives} positive and ${negatives} negative`,
      { details: { positives, negatives } },
    );
  }
  const sensitivity = tp / positives;
  const specificity = tn / negatives;
  const precision = tp + fp === 0 ? zeroDivision : tp / (tp + fp);
  const negativePredictiveValue = tn + fn === 0 ? zeroDivision : tn / (tn + fn);
  const denominator = precision + sensitivity;
  const f1 = denominator === 0 ? 0 : (2 * precision * sensitivity) / denominator;
  return {
    tp,
    fp,
    tn,
    fn,
    threshold,
    sensitivity,
    specificity,
    accuracy: (tp + tn) / (positives + negatives),
    precision,
    negativePredictiveValue,
    f1,
    balancedAccuracy: (sensitivity + specificity) / 2,
  };
}

/**
 * Sensitivity, specificity, accuracy, precision, F1 and more at one threshold; agrees with
 * scikit-learn's `recall_score`, `precision_score`, `f1_score` and `accuracy_score` applied to
 * `scores >= threshold`.
 *
 * @param labels - 0/1 ground truth.
 * @param scores - Finite scores.
 * @param options - Threshold (0.5) and the zero-division value.
 * @returns The metrics.
 * @throws {@link LesionEncError} `DEGENERATE_INPUT` for one class only or empty input,
 * `SHAPE_MISMATCH` for different lengths, `INVALID_ARGUMENT` for bad labels, scores or threshold.
 * @example
 * ```ts
 * const { sensitivity, specificity } = binaryMetrics(labels, probabilities, { threshold: 0.5 });
 * ```
 */
export function binaryMetrics(
  labels: NumericArray,
  scores: NumericArray,
  options: BinaryMetricsOptions = {},
): BinaryMetrics {
  const { threshold, zeroDivision } = { ...DEFAULT_BINARY_METRICS_OPTIONS, ...options };
  checkBinaryInput('binaryMetrics', labels, scores, true);
  return metricsFromCounts(confusionCounts(labels, scores, threshold), threshold, zeroDivision);
}

/** How to choose a threshold from the ROC curve. */
export type OperatingPointRule =
  /** A given threshold. */
  | { readonly kind: 'threshold'; readonly threshold: number }
  /** The highest threshold that maximises Youden's J = sensitivity + specificity - 1. */
  | { readonly kind: 'youden' }
  /** The highest threshold whose sensitivity reaches the target (so the best specificity). */
  | { readonly kind: 'sensitivity'; readonly target: number }
  /** The lowest threshold whose specificity stays at or above the target. */
  | { readonly kind: 'specificity'; readonly target: number };

/** A chosen operating point and the metrics there. */
export interface OperatingPoint {
  readonly rule: OperatingPointRule;
  /** Youden's J at this point. */
  readonly youdenJ: number;
  readonly metrics: BinaryMetrics;
}

/**
 * Chooses a threshold by a rule, on the full (not thinned) ROC curve, and reports the metrics
 * there. The thresholds are the distinct scores (or the highest + 1, where nothing is positive).
 *
 * @param labels - 0/1 ground truth.
 * @param scores - Finite scores.
 * @param rule - See {@link OperatingPointRule}.
 * @param options - The zero-division value for precision.
 * @returns The operating point.
 * @throws {@link LesionEncError} as {@link binaryMetrics}; a target outside [0, 1] is
 * `INVALID_ARGUMENT`.
 * @example
 * ```ts
 * const point = findOperatingPoint(labels, scores, { kind: 'sensitivity', target: 0.9 });
 * point.metrics.threshold; // the highest threshold with sensitivity >= 0.9
 * ```
 */
export function findOperatingPoint(
  labels: NumericArray,
  scores: NumericArray,
  rule: OperatingPointRule,
  options: Pick<BinaryMetricsOptions, 'zeroDivision'> = {},
): OperatingPoint {
  const input = checkBinaryInput('findOperatingPoint', labels, scores, true);
  const kinds = ['threshold', 'youden', 'sensitivity', 'specificity'];
  if (rule === null || typeof rule !== 'object' || !kinds.includes(rule.kind)) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `findOperatingPoint rule: expected kind ${kinds.join(', ')}, got ${describeValue((rule as { kind?: unknown } | null)?.kind)}`,
    );
  }
  let threshold: number;
  if (rule.kind === 'threshold') {
    threshold = checkThreshold('findOperatingPoint threshold', rule.threshold);
  } else {
    const curve = rocFromCounts(countAtThresholds(input.labels, input.scores), false);
    const n = curve.fpr.length;
    let chosen = -1;
    if (rule.kind === 'youden') {
      let best = -Infinity;
      for (let i = 0; i < n; i++) {
        const j = (curve.tpr[i] as number) - (curve.fpr[i] as number);
        if (j > best) {
          best = j;
          chosen = i;
        }
      }
    } else if (rule.kind === 'sensitivity') {
      checkRange('findOperatingPoint sensitivity target', rule.target, 0, 1);
      chosen = curve.tpr.findIndex((tpr) => tpr >= rule.target);
    } else {
      checkRange('findOperatingPoint specificity target', rule.target, 0, 1);
      for (let i = 0; i < n; i++) if (1 - (curve.fpr[i] as number) >= rule.target) chosen = i;
    }
    threshold = curve.thresholds[chosen] as number;
  }
  const metrics = metricsFromCounts(
    confusionCounts(input.labels, input.scores, threshold),
    threshold,
    options.zeroDivision ?? DEFAULT_BINARY_METRICS_OPTIONS.zeroDivision,
  );
  return { rule, youdenJ: metrics.sensitivity + metrics.specificity - 1, metrics };
}

function checkThreshold(what: string, threshold: number): number {
  if (typeof threshold !== 'number' || !Number.isFinite(threshold)) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `${what}: expected a finite threshold, got ${String(threshold)}`,
    );
  }
  return threshold;
}
