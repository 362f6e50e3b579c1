// DeLong's test for correlated ROC curves, by the O(n log n) midrank algorithm of Sun and Xu (2014).
import { LesionEncError } from '@lesionenc/base';

import type { ConfidenceInterval } from './bootstrap';
import { normalQuantile, normalSurvival } from './internal/special';
import { type NumericArray, checkBinaryInput, checkRange, checkScores } from './internal/validate';

/** AUCs of several classifiers on the same samples and the DeLong covariance of the AUCs. */
export interface DelongCovariance {
  readonly aucs: number[];
  /** `covariance[a][b]`: covariance of the AUC estimates of classifiers a and b. */
  readonly covariance: number[][];
  readonly positives: number;
  readonly negatives: number;
}

/** Options of {@link delongTest} and {@link delongAucCi}. */
export interface DelongOptions {
  /**
   * Coverage of the confidence interval.
   * @defaultValue 0.95
   */
  readonly confidence?: number;
}

/** The defaults of {@link DelongOptions}. */
export const DEFAULT_DELONG_OPTIONS: Readonly<Required<DelongOptions>> = Object.freeze({
  confidence: 0.95,
});

/** What {@link delongTest} returns; the difference is A - B. */
export interface DelongTestResult {
  readonly aucA: number;
  readonly aucB: number;
  readonly difference: number;
  readonly varianceA: number;
  readonly varianceB: number;
  readonly covariance: number;
  /** Standard error of the difference. */
  readonly standardError: number;
  /** difference / standardError. */
  readonly z: number;
  /** Two-sided p-value of "the AUCs are equal". */
  readonly pValue: number;
  readonly confidence: number;
  /** Normal-approximation interval of the difference. */
  readonly differenceCi: readonly [number, number];
}

// Midranks (1-based, ties get the mean of their ranks) of values, in their original order.
function midranks(values: Float64Array): Float64Array {
  const n = values.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (values[a] as number) - (values[b] as number));
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j < n && values[order[j] as number] === values[order[i] as number]) j++;
    const rank = 0.5 * (i + j - 1) + 1;
    for (let k = i; k < j; k++) ranks[order[k] as number] = rank;
    i = j;
  }
  return ranks;
}

function covarianceMatrix(rows: Float64Array[]): number[][] {
  const k = rows.length;
  const n = (rows[0] as Float64Array).length;
  const means = rows.map((r) => r.reduce((s, v) => s + v, 0) / n);
  const out = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let a = 0; a < k; a++) {
    for (let b = a; b < k; b++) {
      const ra = rows[a] as Float64Array;
      const rb = rows[b] as Float64Array;
      let sum = 0;
      for (let i = 0; i < n; i++) {
        sum +=
          ((ra[i] as number) - (means[a] as number)) * ((rb[i] as number) - (means[b] as number));
      }
      (out[a] as number[])[b] = (out[b] as number[])[a] = sum / (n - 1);
    }
  }
  return out;
}

/**
 * AUCs and their covariance matrix by DeLong et al. (1988), computed with midranks in
 * O(n log n) per classifier (Sun and Xu, IEEE Signal Processing Letters 21(11), 2014).
 *
 * @param labels - 0/1 ground truth with at least two samples of each class.
 * @param scoresList - One score array per classifier, each as long as `labels`.
 * @returns The AUCs and their covariance.
 * @throws {@link LesionEncError} `DEGENERATE_INPUT` with fewer than two samples of a class,
 * `SHAPE_MISMATCH` / `INVALID_ARGUMENT` for bad input.
 */
export function delongCovariance(
  labels: NumericArray,
  scoresList: readonly NumericArray[],
): DelongCovariance {
  if (scoresList.length === 0) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      'delongCovariance: expected at least one score array, got none',
    );
  }
  const inputs = scoresList.map((scores) =>
    checkBinaryInput('delongCovariance', labels, scores, true),
  );
  const first = inputs[0] as (typeof inputs)[number];
  const m = first.positives;
  const n = first.negatives;
  if (m < 2 || n < 2) {
    throw new LesionEncError(
      'DEGENERATE_INPUT',
      `delongCovariance: expected at least 2 positive and 2 negative samples, got ${m} and ${n}`,
      { details: { positives: m, negatives: n } },
    );
  }

  const aucs: number[] = [];
  const v10s: Float64Array[] = [];
  const v01s: Float64Array[] = [];
  for (const { labels: y, scores } of inputs) {
    const x = new Float64Array(m);
    const z = new Float64Array(n);
    let p = 0;
    let q = 0;
    for (let i = 0; i < y.length; i++) {
      if (y[i] === 1) x[p++] = scores[i] as number;
      else z[q++] = scores[i] as number;
    }
    const combined = new Float64Array(m + n);
    combined.set(x, 0);
    combined.set(z, m);
    const tx = midranks(x);
    const tz = midranks(z);
    const tAll = midranks(combined);

    // V10: for each positive, the fraction of negatives it outranks; V01: for each negative,
    // the fraction of positives that outrank it (ties count one half in both).
    const v10 = new Float64Array(m);
    const v01 = new Float64Array(n);
    let rankSum = 0;
    for (let i = 0; i < m; i++) {
      v10[i] = ((tAll[i] as number) - (tx[i] as number)) / n;
      rankSum += tAll[i] as number;
    }
    for (let j = 0; j < n; j++) v01[j] = 1 - ((tAll[m + j] as number) - (tz[j] as number)) / m;
    aucs.push((rankSum - (m * (m + 1)) / 2) / (m * n));
    v10s.push(v10);
    v01s.push(v01);
  }

  const s10 = covarianceMatrix(v10s);
  const s01 = covarianceMatrix(v01s);
  const covariance = s10.map((row, a) =>
    row.map((value, b) => value / m + ((s01[a] as number[])[b] as number) / n),
  );
  return { aucs, covariance, positives: m, negatives: n };
}

/**
 * DeLong's test of the difference between two AUCs measured on the same samples.
 *
 * @param labels - 0/1 ground truth.
 * @param scoresA - Scores of the first classifier.
 * @param scoresB - Scores of the second classifier.
 * @param options - Confidence of the interval of the difference (0.95).
 * @returns AUCs, difference A - B, its standard error, z, the two-sided p-value and interval.
 * @throws {@link LesionEncError} `SHAPE_MISMATCH` when lengths differ, `DEGENERATE_INPUT` with
 * fewer than two samples of a class or when the difference is non-zero but its variance is zero.
 * @example
 * ```ts
 * const { pValue, differenceCi } = delongTest(labels, bilstmScores, poolingScores);
 * ```
 */
export function delongTest(
  labels: NumericArray,
  scoresA: NumericArray,
  scoresB: NumericArray,
  options: DelongOptions = {},
): DelongTestResult {
  const { confidence } = { ...DEFAULT_DELONG_OPTIONS, ...options };
  checkRange('delongTest confidence', confidence, 0, 1, 'open');
  checkScores('delongTest', scoresA, 'scoresA');
  checkScores('delongTest', scoresB, 'scoresB');
  const { aucs, covariance } = delongCovariance(labels, [scoresA, scoresB]);
  const [aucA, aucB] = aucs as [number, number];
  const [[varianceA, cov], [, varianceB]] = covariance as [[number, number], [number, number]];
  const difference = aucA - aucB;
  const variance = Math.max(0, varianceA + varianceB - 2 * cov);
  const standardError = Math.sqrt(variance);
  let z: number;
  if (standardError === 0) {
    if (difference !== 0) {
      throw new LesionEncError(
        'DEGENERATE_INPUT',
        `delongTest: expected a positive variance of the AUC difference ${difference}, got 0`,
      );
    }
    // Identical rankings: no evidence of a difference.
    z = 0;
  } else {
    z = difference / standardError;
  }
  const quantile = normalQuantile(0.5 + confidence / 2);
  return {
    aucA,
    aucB,
    difference,
    varianceA,
    varianceB,
    covariance: cov,
    standardError,
    z,
    pValue: Math.min(1, 2 * normalSurvival(Math.abs(z))),
    confidence,
    differenceCi: [difference - quantile * standardError, difference + quantile * standardError],
  };
}

/**
 * Confidence interval of one AUC from DeLong's variance (normal approximation, clipped to
 * [0, 1] as pROC does).
 *
 * @param labels - 0/1 ground truth with at least two samples of each class.
 * @param scores - Finite scores.
 * @param options - Confidence (0.95).
 * @returns The AUC and its interval.
 * @throws {@link LesionEncError} as {@link delongCovariance}.
 */
export function delongAucCi(
  labels: NumericArray,
  scores: NumericArray,
  options: DelongOptions = {},
): ConfidenceInterval & { readonly variance: number } {
  const { confidence } = { ...DEFAULT_DELONG_OPTIONS, ...options };
  checkRange('delongAucCi confidence', confidence, 0, 1, 'open');
  const { aucs, covariance } = delongCovariance(labels, [scores]);
  const auc = aucs[0] as number;
  const variance = (covariance[0] as number[])[0] as number;
  const half = normalQuantile(0.5 + confidence / 2) * Math.sqrt(Math.max(0, variance));
  return {
    estimate: auc,
    lower: Math.max(0, auc - half),
    upper: Math.min(1, auc + half),
    confidence,
    variance,
  };
}
