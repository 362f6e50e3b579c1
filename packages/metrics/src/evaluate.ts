// One call that evaluates a binary classifier: AUC, ROC, threshold metrics, operating points, CIs.
import {
  type BinaryMetrics,
  DEFAULT_BINARY_METRICS_OPTIONS,
  type OperatingPoint,
  type OperatingPointRule,
  binaryMetrics,
  findOperatingPoint,
} from './binary';
import { type BootstrapOptions, bootstrapBinaryMetrics } from './bootstrap';
import { brierScore } from './calibration';
import { type NumericArray, checkBinaryInput } from './internal/validate';
import { type RocCurve, rocCurve, trapezoidArea } from './roc';

/** Options of {@link evaluateBinaryClassifier}. */
export interface BinaryEvaluationOptions {
  /**
   * Decision threshold of the headline metrics.
   * @defaultValue 0.5
   */
  readonly threshold?: number;
  /**
   * Operating points to report besides the threshold.
   * @defaultValue Youden's J and sensitivity 0.9
   */
  readonly operatingPoints?: readonly OperatingPointRule[];
  /**
   * Bootstrap settings of the 95% intervals (the confidence is fixed at 0.95), or false for none.
   * @defaultValue 2000 stratified resamples, seed 0
   */
  readonly bootstrap?: Omit<BootstrapOptions, 'confidence'> | false;
}

/** The defaults of {@link BinaryEvaluationOptions}. */
export const DEFAULT_BINARY_EVALUATION_OPTIONS = Object.freeze({
  threshold: DEFAULT_BINARY_METRICS_OPTIONS.threshold,
  operatingPoints: Object.freeze([
    Object.freeze({ kind: 'youden' }),
    Object.freeze({ kind: 'sensitivity', target: 0.9 }),
  ]) as readonly OperatingPointRule[],
});

/** Percentile bootstrap intervals at 95%, `[lower, upper]`. */
export interface Ci95 {
  readonly auc: readonly [number, number];
  readonly sensitivity: readonly [number, number];
  readonly specificity: readonly [number, number];
  readonly accuracy: readonly [number, number];
}

/** What {@link evaluateBinaryClassifier} returns. */
export interface BinaryEvaluation {
  readonly samples: number;
  readonly positives: number;
  readonly negatives: number;
  readonly auc: number;
  /** The threshold of the headline metrics below. */
  readonly threshold: number;
  readonly sensitivity: number;
  readonly specificity: number;
  readonly accuracy: number;
  readonly precision: number;
  readonly f1: number;
  /** Brier score when every score is a probability in [0, 1], otherwise null. */
  readonly brier: number | null;
  readonly atThreshold: BinaryMetrics;
  readonly operatingPoints: OperatingPoint[];
  readonly roc: RocCurve;
  /** Null when the bootstrap was turned off. */
  readonly ci95: Ci95 | null;
  readonly bootstrap: {
    readonly iterations: number;
    readonly seed: number;
    readonly units: number;
  } | null;
}

/**
 * Evaluates a binary classifier the way the paper reports one (section 3.4): AUC and ROC,
 * sensitivity, specificity and accuracy at 0.5, plus operating points and bootstrap intervals.
 *
 * @param labels - 0/1 ground truth with both classes.
 * @param scores - Finite scores (probabilities for the 0.5 threshold to make sense).
 * @param options - Threshold, operating points and bootstrap settings.
 * @returns Everything in one object, ready for {@link metricsReportToJson} and the tables.
 * @throws {@link LesionEncError} `DEGENERATE_INPUT`, `SHAPE_MISMATCH` or `INVALID_ARGUMENT` for
 * bad input, as {@link rocCurve} and {@link binaryMetrics}.
 * @example
 * ```ts
 * const result = evaluateBinaryClassifier(labels, probabilities, { bootstrap: { seed: 1 } });
 * result.auc; result.ci95?.auc;
 * ```
 */
export function evaluateBinaryClassifier(
  labels: NumericArray,
  scores: NumericArray,
  options: BinaryEvaluationOptions = {},
): BinaryEvaluation {
  const threshold = options.threshold ?? DEFAULT_BINARY_EVALUATION_OPTIONS.threshold;
  const input = checkBinaryInput('evaluateBinaryClassifier', labels, scores, true);
  const roc = rocCurve(input.labels, input.scores);
  const atThreshold = binaryMetrics(input.labels, input.scores, { threshold });
  const rules = options.operatingPoints ?? DEFAULT_BINARY_EVALUATION_OPTIONS.operatingPoints;
  const operatingPoints = rules.map((rule) => findOperatingPoint(input.labels, input.scores, rule));

  let ci95: Ci95 | null = null;
  let bootstrap: BinaryEvaluation['bootstrap'] = null;
  if (options.bootstrap !== false) {
    const result = bootstrapBinaryMetrics(input.labels, input.scores, {
      ...options.bootstrap,
      confidence: 0.95,
      threshold,
    });
    const pair = (name: 'auc' | 'sensitivity' | 'specificity' | 'accuracy') =>
      [result.intervals[name].lower, result.intervals[name].upper] as const;
    ci95 = {
      auc: pair('auc'),
      sensitivity: pair('sensitivity'),
      specificity: pair('specificity'),
      accuracy: pair('accuracy'),
    };
    bootstrap = { iterations: result.iterations, seed: result.seed, units: result.units };
  }
  return {
    samples: input.labels.length,
    positives: input.positives,
    negatives: input.negatives,
    auc: trapezoidArea(roc.fpr, roc.tpr),
    threshold,
    sensitivity: atThreshold.sensitivity,
    specificity: atThreshold.specificity,
    accuracy: atThreshold.accuracy,
    precision: atThreshold.precision,
    f1: atThreshold.f1,
    brier: input.scores.every((p) => p >= 0 && p <= 1)
      ? brierScore(input.labels, input.scores)
      : null,
    atThreshold,
    operatingPoints,
    roc,
    ci95,
    bootstrap,
  };
}
