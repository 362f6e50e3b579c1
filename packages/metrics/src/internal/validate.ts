// Checks of the labels and scores every binary metric takes, with the project's typed errors.
import { LesionEncError, describeValue } from '@lesionenc/base';

/** Numbers as a plain array or any typed array. */
export type NumericArray = ArrayLike<number>;

/** Labels and scores after validation: labels 0/1, scores finite. */
export interface BinaryInput {
  readonly labels: Uint8Array;
  readonly scores: Float64Array;
  readonly positives: number;
  readonly negatives: number;
}

/**
 * Validates binary labels and scores of one classifier.
 *
 * @param what - Names the caller in messages.
 * @param requireBothClasses - Whether one class alone is an error (it is for ROC and AUC).
 */
export function checkBinaryInput(
  what: string,
  labels: NumericArray,
  scores: NumericArray,
  requireBothClasses: boolean,
): BinaryInput {
  const checked = checkLabels(what, labels);
  const values = checkScores(what, scores);
  if (checked.length !== values.length) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `${what}: expected as many scores as labels, got ${values.length} scores for ${checked.length} labels`,
      { details: { labels: checked.length, scores: values.length } },
    );
  }
  let positives = 0;
  for (let i = 0; i < checked.length; i++) positives += checked[i] as number;
  const negatives = checked.length - positives;
  if (requireBothClasses && (positives === 0 || negatives === 0)) {
    throw new LesionEncError(
      'DEGENERATE_INPUT',
      `${what}: expected both classes among the labels, got ${positives} positive and ${negatives} negative`,
      { details: { positives, negatives } },
    );
  }
  return { labels: checked, scores: values, positives, negatives };
}

/** Labels must be a non-empty array of 0 and 1 (booleans are accepted as 1 and 0). */
export function checkLabels(what: string, labels: NumericArray): Uint8Array {
  if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number') {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `${what}: expected labels as an array, got ${describeValue(labels)}`,
    );
  }
  if (labels.length === 0) {
    throw new LesionEncError('DEGENERATE_INPUT', `${what}: expected at least one label, got none`);
  }
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const raw = labels[i] as unknown;
    const value = raw === true ? 1 : raw === false ? 0 : raw;
    if (value !== 0 && value !== 1) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `${what}: expected labels 0 or 1, got ${describeValue(raw)} at index ${i}`,
        { details: { index: i } },
      );
    }
    out[i] = value;
  }
  return out;
}

/** Scores must be a non-empty array of finite numbers. */
export function checkScores(what: string, scores: NumericArray, name = 'scores'): Float64Array {
  if (scores === null || typeof scores !== 'object' || typeof scores.length !== 'number') {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `${what}: expected ${name} as an array, got ${describeValue(scores)}`,
    );
  }
  if (scores.length === 0) {
    throw new LesionEncError('DEGENERATE_INPUT', `${what}: expected at least one score, got none`);
  }
  const out = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const value = scores[i] as unknown;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `${what}: expected finite ${name}, got ${describeValue(value)} at index ${i}`,
        { details: { index: i } },
      );
    }
    out[i] = value;
  }
  return out;
}

/** Probabilities: finite scores within [0, 1]. */
export function checkProbabilities(what: string, probs: NumericArray): Float64Array {
  const out = checkScores(what, probs, 'probabilities');
  for (let i = 0; i < out.length; i++) {
    const p = out[i] as number;
    if (p < 0 || p > 1) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `${what}: expected probabilities in [0, 1], got ${p} at index ${i}`,
        { details: { index: i } },
      );
    }
  }
  return out;
}

/** A number option that must be finite and within [low, high] (bounds inclusive unless said). */
export function checkRange(
  what: string,
  value: number,
  low: number,
  high: number,
  open: 'closed' | 'open' = 'closed',
): number {
  const inside =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (open === 'closed' ? value >= low && value <= high : value > low && value < high);
  if (!inside) {
    const range = open === 'closed' ? `[${low}, ${high}]` : `(${low}, ${high})`;
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `${what}: expected a number in ${range}, got ${describeValue(value)}`,
    );
  }
  return value;
}

/** A count option that must be a positive integer. */
export function checkPositiveInteger(what: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `${what}: expected a positive integer, got ${describeValue(value)}`,
    );
  }
  return value;
}
