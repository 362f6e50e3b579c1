// Parity of rocCurve and rocAuc with scikit-learn 1.2.1 fixtures, and their typed errors.
import { isLesionEncError } from '@lesionenc/base';
import { describe, expect, it } from 'vitest';

import { loadFixtures, maxAbsDifference } from './internal/fixtures';
import { SKLEARN_REFERENCE_VERSION, countAtThresholds, rocAuc, rocCurve } from './roc';

/** The bar for agreement with scikit-learn. */
const SKLEARN_TOLERANCE = 1e-12;

const fixtures = loadFixtures();

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isLesionEncError(error) ? error.code : 'not a LesionEncError';
  }
  return undefined;
}

describe('rocCurve and rocAuc against scikit-learn', () => {
  it('the fixtures were made with the version the code follows', () => {
    expect(fixtures.sklearn_version).toBe(SKLEARN_REFERENCE_VERSION);
  });

  for (const c of fixtures.binary) {
    it(`${c.name}: roc_curve with drop_intermediate=True`, () => {
      const roc = rocCurve(c.labels, c.scores);
      expect(roc.thresholds.length).toBe(c.roc.thresholds.length);
      expect(maxAbsDifference(roc.fpr, c.roc.fpr)).toBeLessThanOrEqual(SKLEARN_TOLERANCE);
      expect(maxAbsDifference(roc.tpr, c.roc.tpr)).toBeLessThanOrEqual(SKLEARN_TOLERANCE);
      expect(maxAbsDifference(roc.thresholds, c.roc.thresholds)).toBeLessThanOrEqual(
        SKLEARN_TOLERANCE,
      );
    });

    it(`${c.name}: roc_curve with drop_intermediate=False`, () => {
      const roc = rocCurve(c.labels, c.scores, { dropIntermediate: false });
      expect(roc.thresholds.length).toBe(c.roc_full.thresholds.length);
      expect(maxAbsDifference(roc.fpr, c.roc_full.fpr)).toBeLessThanOrEqual(SKLEARN_TOLERANCE);
      expect(maxAbsDifference(roc.tpr, c.roc_full.tpr)).toBeLessThanOrEqual(SKLEARN_TOLERANCE);
      expect(maxAbsDifference(roc.thresholds, c.roc_full.thresholds)).toBeLessThanOrEqual(
        SKLEARN_TOLERANCE,
      );
    });

    it(`${c.name}: roc_auc_score`, () => {
      expect(Math.abs(rocAuc(c.labels, c.scores) - c.auc)).toBeLessThanOrEqual(SKLEARN_TOLERANCE);
    });
  }

  it('the first threshold is the highest score + 1 (1.2.1 convention)', () => {
    const roc = rocCurve([0, 1, 1], [0.2, 0.7, 3.5]);
    expect(roc.thresholds[0]).toBe(4.5);
    expect(roc.fpr[0]).toBe(0);
    expect(roc.tpr[0]).toBe(0);
  });

  it('AUC equals the Mann-Whitney probability with ties counted one half', () => {
    const c = fixtures.binary.find((b) => b.name === 'ties');
    if (c === undefined) throw new Error('fixture missing');
    let wins = 0;
    let pairs = 0;
    c.labels.forEach((yi, i) => {
      if (yi !== 1) return;
      c.labels.forEach((yj, j) => {
        if (yj !== 0) return;
        pairs++;
        const si = c.scores[i] as number;
        const sj = c.scores[j] as number;
        wins += si > sj ? 1 : si === sj ? 0.5 : 0;
      });
    });
    expect(rocAuc(c.labels, c.scores)).toBeCloseTo(wins / pairs, 12);
  });

  it('does not depend on the order of the samples', () => {
    const c = fixtures.binary.find((b) => b.name === 'rare-positives');
    if (c === undefined) throw new Error('fixture missing');
    const order = c.labels.map((_, i) => (i * 7919) % c.labels.length);
    const auc = rocAuc(
      order.map((i) => c.labels[i] as number),
      order.map((i) => c.scores[i] as number),
    );
    expect(Math.abs(auc - c.auc)).toBeLessThanOrEqual(SKLEARN_TOLERANCE);
  });

  it('accepts typed arrays and booleans', () => {
    const auc = rocAuc(
      [false, false, true, true] as unknown as number[],
      Float32Array.from([0.1, 0.4, 0.35, 0.8]),
    );
    expect(auc).toBeCloseTo(0.75, 12);
  });

  it('counts at thresholds collapse ties', () => {
    const counts = countAtThresholds(
      Uint8Array.from([1, 0, 1, 0]),
      Float64Array.from([0.5, 0.5, 0.9, 0.1]),
    );
    expect(Array.from(counts.thresholds)).toEqual([0.9, 0.5, 0.1]);
    expect(Array.from(counts.tps)).toEqual([1, 2, 2]);
    expect(Array.from(counts.fps)).toEqual([0, 1, 2]);
  });
});

describe('rocCurve and rocAuc on degenerate input', () => {
  it.each([
    ['one class only', [1, 1, 1], [0.2, 0.4, 0.9], 'DEGENERATE_INPUT'],
    ['empty', [], [], 'DEGENERATE_INPUT'],
    ['NaN score', [0, 1, 1], [0.2, Number.NaN, 0.9], 'INVALID_ARGUMENT'],
    ['infinite score', [0, 1, 1], [0.2, Infinity, 0.9], 'INVALID_ARGUMENT'],
    ['label 2', [0, 2, 1], [0.2, 0.3, 0.9], 'INVALID_ARGUMENT'],
    ['length mismatch', [0, 1, 1], [0.2, 0.9], 'SHAPE_MISMATCH'],
  ])('%s gives %s', (_name, labels, scores, code) => {
    expect(codeOf(() => rocAuc(labels, scores))).toBe(code);
    expect(codeOf(() => rocCurve(labels, scores))).toBe(code);
  });
});
