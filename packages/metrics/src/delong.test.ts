// DeLong's test against an independent O(m n) implementation (fixtures/make-fixtures.py, scipy).
import { createRandom, isLesionEncError } from '@lesionenc/base';
import { describe, expect, it } from 'vitest';

import { delongAucCi, delongCovariance, delongTest } from './delong';
import { loadFixtures } from './internal/fixtures';
import { rocAuc } from './roc';

/** The bar for DeLong agreement. */
const DELONG_TOLERANCE = 1e-6;
/** What the midrank and pairwise forms reach in practice (both exact up to rounding). */
const ROUNDING_TOLERANCE = 1e-12;

const fixtures = loadFixtures();

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isLesionEncError(error) ? error.code : 'not a LesionEncError';
  }
  return undefined;
}

describe('delongTest against the pairwise-kernel reference', () => {
  for (const c of fixtures.delong) {
    it(c.name, () => {
      const r = delongTest(c.labels, c.scores_a, c.scores_b);
      const pairs: [number, number][] = [
        [r.aucA, c.auc_a],
        [r.aucB, c.auc_b],
        [r.varianceA, c.variance_a],
        [r.varianceB, c.variance_b],
        [r.covariance, c.covariance],
        [r.z, c.z],
        [r.pValue, c.p_value],
        [r.differenceCi[0], c.ci95_difference[0]],
        [r.differenceCi[1], c.ci95_difference[1]],
      ];
      for (const [ours, theirs] of pairs) {
        expect(Math.abs(ours - theirs)).toBeLessThanOrEqual(DELONG_TOLERANCE);
        expect(Math.abs(ours - theirs)).toBeLessThanOrEqual(
          ROUNDING_TOLERANCE * Math.max(1, Math.abs(theirs)),
        );
      }
      const ci = delongAucCi(c.labels, c.scores_a);
      expect(Math.abs(ci.lower - c.ci95_auc_a[0])).toBeLessThanOrEqual(DELONG_TOLERANCE);
      expect(Math.abs(ci.upper - c.ci95_auc_a[1])).toBeLessThanOrEqual(DELONG_TOLERANCE);
    });
  }

  it('its AUCs are the scikit-learn AUCs', () => {
    for (const c of fixtures.binary.filter(
      (b) => b.name !== 'sklearn-doc' && b.name !== 'separated',
    )) {
      const { aucs } = delongCovariance(c.labels, [c.scores]);
      expect(Math.abs((aucs[0] as number) - c.auc)).toBeLessThanOrEqual(ROUNDING_TOLERANCE);
    }
  });

  it('swapping the models negates z and keeps p', () => {
    const c = fixtures.delong[0];
    if (c === undefined) throw new Error('fixture missing');
    const ab = delongTest(c.labels, c.scores_a, c.scores_b);
    const ba = delongTest(c.labels, c.scores_b, c.scores_a);
    expect(ba.z).toBeCloseTo(-ab.z, 12);
    expect(ba.pValue).toBeCloseTo(ab.pValue, 12);
  });

  it('a monotone transform of the scores changes nothing', () => {
    const c = fixtures.delong[1];
    if (c === undefined) throw new Error('fixture missing');
    const a = delongTest(c.labels, c.scores_a, c.scores_b);
    const b = delongTest(
      c.labels,
      c.scores_a.map((s) => Math.exp(3 * s)),
      c.scores_b,
    );
    expect(b.z).toBeCloseTo(a.z, 10);
  });

  it('identical models give z = 0 and p = 1', () => {
    const c = fixtures.delong[0];
    if (c === undefined) throw new Error('fixture missing');
    const r = delongTest(c.labels, c.scores_a, c.scores_a);
    expect(r.z).toBe(0);
    expect(r.pValue).toBe(1);
  });

  it('under the null hypothesis p is roughly uniform (5% level holds)', () => {
    const random = createRandom(11);
    let rejections = 0;
    const trials = 300;
    for (let t = 0; t < trials; t++) {
      const labels = Array.from({ length: 80 }, (_, i) => (i < 30 ? 1 : 0));
      const a = labels.map((y) => random.normal(y, 1));
      const b = labels.map((y) => random.normal(y, 1));
      if (delongTest(labels, a, b).pValue < 0.05) rejections++;
    }
    // Binomial(300, 0.05): mean 15, sd 3.8; these bounds fail with a broken variance.
    expect(rejections).toBeGreaterThan(3);
    expect(rejections).toBeLessThan(32);
  });

  it('the AUCs agree with rocAuc on random data', () => {
    const random = createRandom(5);
    const labels = Array.from({ length: 200 }, () => (random.next() < 0.3 ? 1 : 0));
    const scores = labels.map((y) => Math.round(random.normal(y, 1) * 4) / 4);
    const { aucs } = delongCovariance(labels, [scores]);
    expect(aucs[0]).toBeCloseTo(rocAuc(labels, scores), 12);
  });

  it.each([
    ['length mismatch', [0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3], 'SHAPE_MISMATCH'],
    [
      'NaN score',
      [0, 0, 1, 1],
      [0.1, Number.NaN, 0.3, 0.4],
      [0.1, 0.2, 0.3, 0.4],
      'INVALID_ARGUMENT',
    ],
    ['one class', [1, 1, 1, 1], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], 'DEGENERATE_INPUT'],
    ['one positive', [0, 0, 0, 1], [0.1, 0.2, 0.3, 0.4], [0.4, 0.2, 0.3, 0.1], 'DEGENERATE_INPUT'],
    ['empty', [], [], [], 'DEGENERATE_INPUT'],
  ])('%s gives %s', (_name, labels, a, b, code) => {
    expect(codeOf(() => delongTest(labels, a, b))).toBe(code);
  });

  it('two perfect but different rankings have zero variance and a zero difference', () => {
    const r = delongTest([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], [0.2, 0.1, 0.9, 0.8]);
    expect(r.pValue).toBe(1);
  });
});
