// The volumetric baseline against scikit-learn 1.2.1's StandardScaler + LogisticRegression,
// and the patient-level rule.
import { readFileSync } from 'node:fs';

import { isLesionEncError } from '@lesionenc/base';
import { describe, expect, it } from 'vitest';

import { fitLogisticRegression, predictLogisticRegression } from './logistic';
import { patientLevelScores } from './patient';

/** scikit-learn's lbfgs stops on a gradient criterion a little short of the optimum Newton reaches. */
const PARITY_TOLERANCE = 1e-4;

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/logistic-fixtures.json', import.meta.url), 'utf8'),
) as {
  sklearn_version: string;
  x: number[][];
  y: number[];
  cases: {
    c: number;
    class_weight: [number, number] | null;
    coef: number[];
    intercept: number;
    probabilities: number[];
  }[];
};
const x = { rows: fixture.x.length, cols: 4, data: fixture.x.flat() };

describe('fitLogisticRegression against scikit-learn', () => {
  it('uses fixtures of scikit-learn 1.2.1', () => expect(fixture.sklearn_version).toBe('1.2.1'));

  it.each(fixture.cases)('matches C=$c, class weights $class_weight', (c) => {
    const model = fitLogisticRegression(x, fixture.y, {
      c: c.c,
      classWeights:
        c.class_weight === null
          ? undefined
          : { negative: c.class_weight[0], positive: c.class_weight[1] },
    });
    model.weights.forEach((w, i) =>
      expect(Math.abs(w - (c.coef[i] as number))).toBeLessThan(PARITY_TOLERANCE),
    );
    expect(Math.abs(model.intercept - c.intercept)).toBeLessThan(PARITY_TOLERANCE);
    predictLogisticRegression(model, x).forEach((p, i) =>
      expect(Math.abs(p - (c.probabilities[i] as number))).toBeLessThan(PARITY_TOLERANCE),
    );
  });

  it('rejects wrong shapes and labels', () => {
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return isLesionEncError(e) ? e.code : 'OTHER';
      }
      return undefined;
    };
    expect(codeOf(() => fitLogisticRegression(x, fixture.y.slice(1)))).toBe('SHAPE_MISMATCH');
    expect(
      codeOf(() =>
        fitLogisticRegression(
          x,
          fixture.y.map(() => 3),
        ),
      ),
    ).toBe('INVALID_ARGUMENT');
    const model = fitLogisticRegression(x, fixture.y);
    expect(
      codeOf(() => predictLogisticRegression(model, { rows: 1, cols: 3, data: [1, 2, 3] })),
    ).toBe('SHAPE_MISMATCH');
  });
});

describe('patientLevelScores', () => {
  it('lets the most positive scan of each patient decide', () => {
    const result = patientLevelScores([0.2, 0.9, 0.4, 0.1, 0.3], ['a', 'b', 'a', 'c', 'a']);
    expect(result).toEqual([
      { patientId: 'a', score: 0.4, scanIndex: 2, scanCount: 3 },
      { patientId: 'b', score: 0.9, scanIndex: 1, scanCount: 1 },
      { patientId: 'c', score: 0.1, scanIndex: 3, scanCount: 1 },
    ]);
  });

  it('rejects mismatched lists and non-finite scores', () => {
    expect(() => patientLevelScores([0.1], ['a', 'b'])).toThrowError(/one patient id per score/);
    expect(() => patientLevelScores([Number.NaN], ['a'])).toThrowError(/finite/);
  });
});
