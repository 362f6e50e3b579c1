// Confusion-matrix metrics and operating points against scikit-learn 1.2.1 fixtures.
import { isLesionEncError } from '@lesionenc/base';
import { describe, expect, it } from 'vitest';

import { binaryMetrics, confusionCounts, findOperatingPoint, metricsFromCounts } from './binary';
import { loadFixtures } from './internal/fixtures';

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

describe('binaryMetrics against scikit-learn', () => {
  for (const c of fixtures.binary) {
    for (const expected of c.at_threshold) {
      it(`${c.name} at ${expected.threshold}`, () => {
        const m = binaryMetrics(c.labels, c.scores, { threshold: expected.threshold });
        expect([m.tp, m.fp, m.tn, m.fn]).toEqual([
          expected.tp,
          expected.fp,
          expected.tn,
          expected.fn,
        ]);
        for (const [ours, theirs] of [
          [m.sensitivity, expected.sensitivity],
          [m.specificity, expected.specificity],
          [m.accuracy, expected.accuracy],
          [m.precision, expected.precision],
          [m.f1, expected.f1],
          [m.balancedAccuracy, expected.balanced_accuracy],
        ] as const) {
          expect(Math.abs(ours - theirs)).toBeLessThanOrEqual(SKLEARN_TOLERANCE);
        }
      });
    }

    it(`${c.name}: Youden and fixed-sensitivity operating points`, () => {
      const youden = findOperatingPoint(c.labels, c.scores, { kind: 'youden' });
      expect(youden.metrics.threshold).toBe(c.youden_threshold);
      const fixed = findOperatingPoint(c.labels, c.scores, {
        kind: 'sensitivity',
        target: c.fixed_sensitivity,
      });
      expect(fixed.metrics.threshold).toBe(c.fixed_sensitivity_threshold);
      expect(fixed.metrics.sensitivity).toBeGreaterThanOrEqual(c.fixed_sensitivity);
    });
  }

  it('the default threshold is 0.5 and scores equal to it are positive', () => {
    const m = binaryMetrics([0, 1, 1, 0], [0.5, 0.5, 0.2, 0.1]);
    expect(m.threshold).toBe(0.5);
    expect([m.tp, m.fp, m.tn, m.fn]).toEqual([1, 1, 1, 1]);
  });

  it('Youden maximises J over every threshold', () => {
    const c = fixtures.binary.find((b) => b.name === 'rare-negatives');
    if (c === undefined) throw new Error('fixture missing');
    const best = findOperatingPoint(c.labels, c.scores, { kind: 'youden' });
    for (const t of new Set(c.scores)) {
      const m = binaryMetrics(c.labels, c.scores, { threshold: t });
      expect(m.sensitivity + m.specificity - 1).toBeLessThanOrEqual(best.youdenJ + 1e-15);
    }
  });

  it('a specificity target gives the lowest threshold that keeps it', () => {
    const c = fixtures.binary.find((b) => b.name === 'ties');
    if (c === undefined) throw new Error('fixture missing');
    const point = findOperatingPoint(c.labels, c.scores, { kind: 'specificity', target: 0.8 });
    expect(point.metrics.specificity).toBeGreaterThanOrEqual(0.8);
    const lower = [...new Set(c.scores)].filter((t) => t < point.metrics.threshold);
    const next = Math.max(...lower);
    expect(binaryMetrics(c.labels, c.scores, { threshold: next }).specificity).toBeLessThan(0.8);
  });

  it('precision takes the zero-division value when nothing is called positive', () => {
    expect(binaryMetrics([0, 1], [0.1, 0.2], { threshold: 0.9 }).precision).toBe(0);
    expect(binaryMetrics([0, 1], [0.1, 0.2], { threshold: 0.9, zeroDivision: 1 }).precision).toBe(
      1,
    );
    expect(binaryMetrics([0, 1], [0.1, 0.2], { threshold: 0.9 }).f1).toBe(0);
  });

  it('confusion counts allow one class; the metrics do not', () => {
    expect(confusionCounts([1, 1], [0.7, 0.2])).toEqual({ tp: 1, fp: 0, tn: 0, fn: 1 });
    expect(codeOf(() => binaryMetrics([1, 1], [0.7, 0.2]))).toBe('DEGENERATE_INPUT');
    expect(codeOf(() => metricsFromCounts({ tp: 0, fp: 3, tn: 2, fn: 0 }, 0.5))).toBe(
      'DEGENERATE_INPUT',
    );
  });

  it.each([
    ['NaN score', [0, 1], [Number.NaN, 0.3], 'INVALID_ARGUMENT'],
    ['length mismatch', [0, 1, 0], [0.1, 0.3], 'SHAPE_MISMATCH'],
    ['empty', [], [], 'DEGENERATE_INPUT'],
  ])('%s gives %s', (_name, labels, scores, code) => {
    expect(codeOf(() => binaryMetrics(labels, scores))).toBe(code);
    expect(codeOf(() => confusionCounts(labels, scores))).toBe(code);
    expect(codeOf(() => findOperatingPoint(labels, scores, { kind: 'youden' }))).toBe(code);
  });

  it('rejects counts that are not counts and rules that are not rules', () => {
    expect(codeOf(() => metricsFromCounts({ tp: 1.5, fp: 0, tn: 2, fn: 1 }, 0.5))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => metricsFromCounts({ tp: -1, fp: 0, tn: 2, fn: 1 }, 0.5))).toBe(
      'INVALID_ARGUMENT',
    );
    const rule = { kind: 'best' } as unknown as { kind: 'youden' };
    expect(codeOf(() => findOperatingPoint([0, 1], [0.1, 0.3], rule))).toBe('INVALID_ARGUMENT');
  });

  it('rejects a NaN threshold and a target outside [0, 1]', () => {
    expect(codeOf(() => binaryMetrics([0, 1], [0.1, 0.3], { threshold: Number.NaN }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(
      codeOf(() => findOperatingPoint([0, 1], [0.1, 0.3], { kind: 'sensitivity', target: 1.5 })),
    ).toBe('INVALID_ARGUMENT');
  });
});
