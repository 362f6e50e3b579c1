// Patient-level decision: when a patient has several scans, the most positive scan decides.
import { assert } from '@lesionenc/base';

/** One patient's decision. */
export interface PatientScore {
  patientId: string;
  /** The highest scan probability of the patient. */
  score: number;
  /** Index (into the scan list) of the scan that gave it. */
  scanIndex: number;
  scanCount: number;
}

/**
 * Reduces scan probabilities to one per patient by taking the maximum (paper section 3.3).
 *
 * @param scores - One probability per scan.
 * @param patientIds - The patient of each scan.
 * @returns One entry per patient, in order of first appearance.
 * @throws {@link LesionEncError} `SHAPE_MISMATCH` when the lists differ in length,
 *   `INVALID_ARGUMENT` for a non-finite score.
 */
export function patientLevelScores(
  scores: ArrayLike<number>,
  patientIds: readonly string[],
): PatientScore[] {
  assert(
    scores.length === patientIds.length,
    'SHAPE_MISMATCH',
    () =>
      `patientLevelScores: expected one patient id per score (${scores.length}), got ${patientIds.length}`,
  );
  const byPatient = new Map<string, PatientScore>();
  for (let i = 0; i < scores.length; i++) {
    const score = scores[i] as number;
    assert(
      Number.isFinite(score),
      'INVALID_ARGUMENT',
      () => `patientLevelScores scores[${i}]: expected a finite probability, got ${score}`,
    );
    const id = patientIds[i] as string;
    const current = byPatient.get(id);
    if (current === undefined) {
      byPatient.set(id, { patientId: id, score, scanIndex: i, scanCount: 1 });
    } else {
      current.scanCount++;
      if (score > current.score) {
        current.score = score;
        current.scanIndex = i;
      }
    }
  }
  return [...byPatient.values()];
}
