// Patient-level decisions from scan-level scores: the highest scan probability wins (paper 3.3).
import { LesionEncError, describeValue } from '@lesionenc/base';

import { type NumericArray, checkBinaryInput } from './internal/validate';

/** Labels and scores with one entry per patient. */
export interface PatientLevel {
  /** Patient ids in order of first appearance. */
  readonly patientIds: (string | number)[];
  /** 1 when any scan of the patient is positive. */
  readonly labels: number[];
  /** The aggregated score of the patient's scans. */
  readonly scores: number[];
  /** Number of scans of each patient. */
  readonly scanCounts: number[];
}

/** How scan scores become a patient score. */
export type PatientAggregation = 'max' | 'mean';

/**
 * Aggregates scan-level labels and scores to one per patient. With `max` (the paper's rule) the
 * highest scan probability wins; the patient label is positive when any scan is.
 *
 * @param labels - 0/1 label of each scan.
 * @param scores - Score of each scan.
 * @param patientIds - Patient of each scan.
 * @param aggregation - `max` or `mean`. @defaultValue 'max'
 * @returns One entry per patient, in order of first appearance.
 * @throws {@link LesionEncError} `SHAPE_MISMATCH` when the three lengths differ,
 * `INVALID_ARGUMENT` for bad labels, scores or ids.
 * @example
 * ```ts
 * const patients = aggregateByPatient(scanLabels, scanScores, scanPatientIds);
 * rocAuc(patients.labels, patients.scores);
 * ```
 */
export function aggregateByPatient(
  labels: NumericArray,
  scores: NumericArray,
  patientIds: ArrayLike<string | number>,
  aggregation: PatientAggregation = 'max',
): PatientLevel {
  const input = checkBinaryInput('aggregateByPatient', labels, scores, false);
  if (patientIds.length !== input.labels.length) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `aggregateByPatient: expected one patient id per scan (${input.labels.length}), got ${patientIds.length}`,
    );
  }
  if (aggregation !== 'max' && aggregation !== 'mean') {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `aggregateByPatient aggregation: expected 'max' or 'mean', got ${describeValue(aggregation)}`,
    );
  }
  const index = new Map<string | number, number>();
  const out: { ids: (string | number)[]; labels: number[]; scores: number[]; counts: number[] } = {
    ids: [],
    labels: [],
    scores: [],
    counts: [],
  };
  for (let i = 0; i < patientIds.length; i++) {
    const id = patientIds[i];
    if (typeof id !== 'string' && !(typeof id === 'number' && Number.isFinite(id))) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `aggregateByPatient patientIds: expected strings or finite numbers, got ${describeValue(id)} at index ${i}`,
      );
    }
    const label = input.labels[i] as number;
    const score = input.scores[i] as number;
    const p = index.get(id);
    if (p === undefined) {
      index.set(id, out.ids.length);
      out.ids.push(id);
      out.labels.push(label);
      out.scores.push(score);
      out.counts.push(1);
    } else {
      out.labels[p] = Math.max(out.labels[p] as number, label);
      out.scores[p] =
        aggregation === 'max'
          ? Math.max(out.scores[p] as number, score)
          : (out.scores[p] as number) + score;
      out.counts[p] = (out.counts[p] as number) + 1;
    }
  }
  if (aggregation === 'mean') {
    out.scores = out.scores.map((sum, p) => sum / (out.counts[p] as number));
  }
  return { patientIds: out.ids, labels: out.labels, scores: out.scores, scanCounts: out.counts };
}
