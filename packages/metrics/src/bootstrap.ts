// Bootstrap confidence intervals: seeded, stratified by class, resampling patients rather than scans.
import {
  type LongTaskOptions,
  LesionEncError,
  createLogger,
  createRandom,
  createStageReporter,
  describeValue,
  isLesionEncError,
  throwIfAborted,
} from '@lesionenc/base';

import { metricsFromCounts } from './binary';
import { percentileOfSorted } from './internal/quantile';
import {
  type NumericArray,
  checkBinaryInput,
  checkPositiveInteger,
  checkRange,
} from './internal/validate';
import { countAtThresholds, rocFromCounts, trapezoidArea } from './roc';

const logger = createLogger('lesionenc.metrics.bootstrap');

/** Resamples between two progress events and abort checks. */
const PROGRESS_BLOCK = 64;

/** A point estimate with a two-sided confidence interval. */
export interface ConfidenceInterval {
  /** The statistic on the full data. */
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
  /** The coverage the interval was built for, e.g. 0.95. */
  readonly confidence: number;
}

/** Options of the bootstrap functions. */
export interface BootstrapOptions extends LongTaskOptions {
  /**
   * Number of resamples.
   * @defaultValue 2000
   */
  readonly iterations?: number;
  /**
   * Coverage of the percentile interval.
   * @defaultValue 0.95
   */
  readonly confidence?: number;
  /**
   * Seed of the random stream; the same seed gives the same interval on every platform.
   * @defaultValue 0
   */
  readonly seed?: number;
  /**
   * One identifier per sample. When given, whole patients are resampled (all their scans go in
   * or out together), so that scans of one patient are not treated as independent.
   */
  readonly patientIds?: ArrayLike<string | number>;
  /**
   * Resample positive and negative units separately, keeping their counts, so that every
   * resample holds both classes. A patient counts as positive when any of its samples is.
   * @defaultValue true
   */
  readonly stratified?: boolean;
}

/** The defaults of {@link BootstrapOptions}. */
export const DEFAULT_BOOTSTRAP_OPTIONS = Object.freeze({
  iterations: 2000,
  confidence: 0.95,
  seed: 0,
  stratified: true,
});

/** Computes named statistics of validated labels and scores; may throw `DEGENERATE_INPUT`. */
export type BootstrapStatistic = (
  labels: Uint8Array,
  scores: Float64Array,
) => Readonly<Record<string, number>>;

/** What {@link bootstrapStatistics} returns. */
export interface BootstrapResult {
  /** One percentile interval per statistic name. */
  readonly intervals: Readonly<Record<string, ConfidenceInterval>>;
  /** Resamples drawn. */
  readonly iterations: number;
  /** Resamples on which the statistic was undefined (only possible without stratification). */
  readonly skipped: number;
  /** Number of resampled units: patients when ids were given, otherwise samples. */
  readonly units: number;
  readonly seed: number;
}

interface Units {
  /** Sample indices of each unit. */
  readonly members: number[][];
  /** Unit indices of each stratum. */
  readonly strata: number[][];
}

function groupUnits(
  labels: Uint8Array,
  patientIds: ArrayLike<string | number> | undefined,
  stratified: boolean,
): Units {
  let members: number[][];
  if (patientIds === undefined) {
    members = Array.from({ length: labels.length }, (_, i) => [i]);
  } else {
    if (patientIds.length !== labels.length) {
      throw new LesionEncError(
        'SHAPE_MISMATCH',
        `bootstrap patientIds: expected one id per sample (${labels.length}), got ${patientIds.length}`,
      );
    }
    const byId = new Map<string | number, number[]>();
    for (let i = 0; i < patientIds.length; i++) {
      const id = patientIds[i];
      if (typeof id !== 'string' && !(typeof id === 'number' && Number.isFinite(id))) {
        throw new LesionEncError(
          'INVALID_ARGUMENT',
          `bootstrap patientIds: expected strings or finite numbers, got ${describeValue(id)} at index ${i}`,
        );
      }
      const list = byId.get(id);
      if (list === undefined) byId.set(id, [i]);
      else list.push(i);
    }
    members = [...byId.values()];
  }
  if (!stratified) return { members, strata: [members.map((_, u) => u)] };
  const positive: number[] = [];
  const negative: number[] = [];
  members.forEach((list, u) => (list.some((i) => labels[i] === 1) ? positive : negative).push(u));
  return { members, strata: [positive, negative].filter((s) => s.length > 0) };
}

/**
 * Percentile bootstrap intervals of any statistics of labels and scores. The statistic is also
 * computed once on the full data for the estimate.
 *
 * @param labels - 0/1 ground truth.
 * @param scores - Finite scores.
 * @param statistic - Returns named values for one resample.
 * @param options - Iterations, confidence, seed, patient ids and stratification.
 * @returns The intervals and how many resamples were used.
 * @throws {@link LesionEncError} `DEGENERATE_INPUT` when the statistic is undefined on the full
 * data or on every resample, `SHAPE_MISMATCH` / `INVALID_ARGUMENT` for bad input or options,
 * `ABORTED` when the signal fires.
 * @example
 * ```ts
 * const { intervals } = bootstrapStatistics(labels, scores, (y, s) => ({ auc: myAuc(y, s) }), {
 *   patientIds,
 *   seed: 7,
 * });
 * ```
 */
export function bootstrapStatistics(
  labels: NumericArray,
  scores: NumericArray,
  statistic: BootstrapStatistic,
  options: BootstrapOptions = {},
): BootstrapResult {
  const settings = { ...DEFAULT_BOOTSTRAP_OPTIONS, ...options };
  const iterations = checkPositiveInteger('bootstrap iterations', settings.iterations);
  const confidence = checkRange('bootstrap confidence', settings.confidence, 0, 1, 'open');
  const input = checkBinaryInput('bootstrap', labels, scores, false);
  const units = groupUnits(input.labels, settings.patientIds, settings.stratified);
  const estimates = statistic(input.labels, input.scores);
  const names = Object.keys(estimates);
  for (const name of names) {
    if (!Number.isFinite(estimates[name])) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `bootstrap statistic ${name}: expected a finite number on the full data, got ${describeValue(estimates[name])}`,
      );
    }
  }

  const random = createRandom(settings.seed).fork('bootstrap');
  const samples = names.map(() => new Float64Array(iterations));
  const blocks = Math.ceil(iterations / PROGRESS_BLOCK);
  const reporter = createStageReporter('bootstrap', blocks, settings.onProgress);
  reporter.start();
  let kept = 0;
  let skipped = 0;
  const drawn: number[] = [];
  for (let b = 0; b < iterations; b++) {
    if (b % PROGRESS_BLOCK === 0) {
      throwIfAborted(settings.signal, 'bootstrap');
      if (b > 0) reporter.step();
    }
    drawn.length = 0;
    for (const stratum of units.strata) {
      for (let k = 0; k < stratum.length; k++) {
        const unit = stratum[random.nextInt(stratum.length)] as number;
        for (const i of units.members[unit] as number[]) drawn.push(i);
      }
    }
    const y = new Uint8Array(drawn.length);
    const s = new Float64Array(drawn.length);
    drawn.forEach((i, k) => {
      y[k] = input.labels[i] as number;
      s[k] = input.scores[i] as number;
    });
    let values: Readonly<Record<string, number>>;
    try {
      values = statistic(y, s);
    } catch (error) {
      if (!isLesionEncError(error, 'DEGENERATE_INPUT')) throw error;
      skipped++;
      continue;
    }
    for (const [k, name] of names.entries()) {
      const value = values[name];
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new LesionEncError(
          'INVALID_ARGUMENT',
          `bootstrap statistic ${name}: expected a finite number on resample ${b}, got ${describeValue(value)}`,
        );
      }
      (samples[k] as Float64Array)[kept] = value;
    }
    kept++;
  }
  reporter.step();
  reporter.done();
  if (kept === 0) {
    throw new LesionEncError(
      'DEGENERATE_INPUT',
      `bootstrap: expected the statistic to be defined on some resample, got none of ${iterations}`,
    );
  }
  if (skipped > 0) {
    logger.warn(`bootstrap: ${skipped} of ${iterations} resamples held one class and were skipped`);
  }

  const lowQ = (100 * (1 - confidence)) / 2;
  const highQ = (100 * (1 + confidence)) / 2;
  const intervals: Record<string, ConfidenceInterval> = {};
  names.forEach((name, k) => {
    const sorted = (samples[k] as Float64Array).subarray(0, kept).sort();
    intervals[name] = {
      estimate: estimates[name] as number,
      lower: percentileOfSorted(sorted, lowQ),
      upper: percentileOfSorted(sorted, highQ),
      confidence,
    };
  });
  return { intervals, iterations, skipped, units: units.members.length, seed: settings.seed };
}

/** AUC of validated input with both classes (throws `DEGENERATE_INPUT` otherwise). */
export function aucOfChecked(labels: Uint8Array, scores: Float64Array): number {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i] as number;
  if (positives === 0 || positives === labels.length) {
    throw new LesionEncError(
      'DEGENERATE_INPUT',
      `AUC: expected both classes among the labels, got ${positives} positive of ${labels.length}`,
    );
  }
  const curve = rocFromCounts(countAtThresholds(labels, scores), true);
  return trapezoidArea(curve.fpr, curve.tpr);
}

/**
 * Bootstrap interval of the AUC.
 *
 * @param labels - 0/1 ground truth with both classes.
 * @param scores - Finite scores.
 * @param options - See {@link BootstrapOptions}.
 * @returns The AUC and its percentile interval.
 * @throws {@link LesionEncError} as {@link bootstrapStatistics}.
 * @example
 * ```ts
 * const ci = bootstrapAucCi(labels, scores, { iterations: 2000, seed: 1 });
 * // ci.estimate, ci.lower, ci.upper
 * ```
 */
export function bootstrapAucCi(
  labels: NumericArray,
  scores: NumericArray,
  options: BootstrapOptions = {},
): ConfidenceInterval {
  checkBinaryInput('bootstrapAucCi', labels, scores, true);
  const result = bootstrapStatistics(
    labels,
    scores,
    (y, s) => ({ auc: aucOfChecked(y, s) }),
    options,
  );
  return result.intervals.auc as ConfidenceInterval;
}

/** The statistics {@link bootstrapBinaryMetrics} reports. */
export type BootstrapMetricName =
  'auc' | 'sensitivity' | 'specificity' | 'accuracy' | 'precision' | 'f1';

/**
 * Bootstrap intervals of the AUC and of the threshold metrics at a fixed threshold, all from the
 * same resamples.
 *
 * @param labels - 0/1 ground truth with both classes.
 * @param scores - Finite scores.
 * @param options - Bootstrap options and the threshold (0.5).
 * @returns One interval per {@link BootstrapMetricName}.
 * @throws {@link LesionEncError} as {@link bootstrapStatistics}.
 */
export function bootstrapBinaryMetrics(
  labels: NumericArray,
  scores: NumericArray,
  options: BootstrapOptions & { readonly threshold?: number } = {},
): BootstrapResult & {
  readonly intervals: Readonly<Record<BootstrapMetricName, ConfidenceInterval>>;
} {
  const threshold = options.threshold ?? 0.5;
  checkBinaryInput('bootstrapBinaryMetrics', labels, scores, true);
  const result = bootstrapStatistics(
    labels,
    scores,
    (y, s) => {
      let tp = 0;
      let fp = 0;
      let positives = 0;
      for (let i = 0; i < y.length; i++) {
        positives += y[i] as number;
        if ((s[i] as number) >= threshold) {
          if (y[i] === 1) tp++;
          else fp++;
        }
      }
      const m = metricsFromCounts(
        { tp, fp, fn: positives - tp, tn: y.length - positives - fp },
        threshold,
      );
      return {
        auc: aucOfChecked(y, s),
        sensitivity: m.sensitivity,
        specificity: m.specificity,
        accuracy: m.accuracy,
        precision: m.precision,
        f1: m.f1,
      };
    },
    options,
  );
  return result as BootstrapResult & {
    readonly intervals: Readonly<Record<BootstrapMetricName, ConfidenceInterval>>;
  };
}
