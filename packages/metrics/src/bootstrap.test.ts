// Bootstrap intervals: seeded reproducibility, stratification, patient-level resampling, coverage.
import { createRandom, isLesionEncError } from '@lesionenc/base';
import { describe, expect, it } from 'vitest';

import { bootstrapAucCi, bootstrapBinaryMetrics, bootstrapStatistics } from './bootstrap';
import { delongAucCi } from './delong';
import { aggregateByPatient } from './patients';
import { rocAuc } from './roc';

/** A bootstrap standard error agrees with DeLong's to this fraction on 300 samples. */
const SE_RELATIVE_TOLERANCE = 0.2;

function makeCohort(seed: number, n: number, prevalence: number) {
  const random = createRandom(seed);
  const labels: number[] = Array.from({ length: n }, () => (random.next() < prevalence ? 1 : 0));
  const scores = labels.map((y) => 1 / (1 + Math.exp(-random.normal(1.2 * y - 0.6, 1))));
  return { labels, scores };
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isLesionEncError(error) ? error.code : 'not a LesionEncError';
  }
  return undefined;
}

describe('bootstrap', () => {
  const { labels, scores } = makeCohort(3, 300, 0.3);

  it('the same seed gives the same interval; another seed a different one', () => {
    const a = bootstrapAucCi(labels, scores, { iterations: 300, seed: 42 });
    const b = bootstrapAucCi(labels, scores, { iterations: 300, seed: 42 });
    const c = bootstrapAucCi(labels, scores, { iterations: 300, seed: 43 });
    expect(a).toEqual(b);
    expect(c.lower === a.lower && c.upper === a.upper).toBe(false);
  });

  it('the estimate is the AUC of the data and lies inside the interval', () => {
    const ci = bootstrapAucCi(labels, scores, { iterations: 500 });
    expect(ci.estimate).toBe(rocAuc(labels, scores));
    expect(ci.lower).toBeLessThan(ci.estimate);
    expect(ci.upper).toBeGreaterThan(ci.estimate);
    expect(ci.confidence).toBe(0.95);
  });

  it('its width agrees with the DeLong interval', () => {
    const boot = bootstrapAucCi(labels, scores, { iterations: 2000, seed: 1 });
    const delong = delongAucCi(labels, scores);
    const bootWidth = boot.upper - boot.lower;
    const delongWidth = delong.upper - delong.lower;
    expect(Math.abs(bootWidth - delongWidth) / delongWidth).toBeLessThan(SE_RELATIVE_TOLERANCE);
  });

  it('stratified resamples keep the class counts of the data', () => {
    const positives = labels.reduce((s, y) => s + y, 0);
    const seen = new Set<number>();
    bootstrapStatistics(
      labels,
      scores,
      (y) => {
        const p = Array.from(y).reduce((s, v) => s + v, 0);
        seen.add(p);
        return { positives: p };
      },
      { iterations: 50 },
    );
    expect([...seen]).toEqual([positives]);
  });

  it('unstratified resampling skips resamples with one class and says how many', () => {
    const tiny = { labels: [1, 0, 0, 0, 0, 0], scores: [0.9, 0.1, 0.2, 0.3, 0.4, 0.5] };
    const result = bootstrapStatistics(
      tiny.labels,
      tiny.scores,
      (y, s) => ({ auc: rocAuc(y, s) }),
      { iterations: 200, stratified: false, seed: 2 },
    );
    expect(result.skipped).toBeGreaterThan(0);
    expect(result.iterations).toBe(200);
    expect(Number.isFinite(result.intervals.auc?.lower)).toBe(true);
  });

  it('patient-level resampling widens the interval when scans of a patient are copies', () => {
    // Four identical scans per patient: treating them as independent understates the spread.
    const small = makeCohort(9, 60, 0.4);
    const scanLabels = small.labels.flatMap((y) => [y, y, y, y]);
    const scanScores = small.scores.flatMap((s) => [s, s, s, s]);
    const ids = small.labels.flatMap((_, p) => [p, p, p, p]);
    const naive = bootstrapAucCi(scanLabels, scanScores, { iterations: 800, seed: 5 });
    const byPatient = bootstrapAucCi(scanLabels, scanScores, {
      iterations: 800,
      seed: 5,
      patientIds: ids,
    });
    const perPatient = bootstrapAucCi(small.labels, small.scores, { iterations: 800, seed: 5 });
    const width = (c: { lower: number; upper: number }) => c.upper - c.lower;
    expect(width(byPatient)).toBeGreaterThan(1.5 * width(naive));
    expect(Math.abs(width(byPatient) - width(perPatient)) / width(perPatient)).toBeLessThan(0.25);
  });

  it('reports the threshold metrics from the same resamples', () => {
    const result = bootstrapBinaryMetrics(labels, scores, { iterations: 300, threshold: 0.5 });
    for (const name of [
      'auc',
      'sensitivity',
      'specificity',
      'accuracy',
      'precision',
      'f1',
    ] as const) {
      const ci = result.intervals[name];
      expect(ci.lower).toBeLessThanOrEqual(ci.estimate);
      expect(ci.upper).toBeGreaterThanOrEqual(ci.estimate);
      expect(ci.lower).toBeGreaterThanOrEqual(0);
      expect(ci.upper).toBeLessThanOrEqual(1);
    }
    expect(result.units).toBe(labels.length);
  });

  it('emits progress and stops when aborted', () => {
    const fractions: number[] = [];
    bootstrapAucCi(labels, scores, {
      iterations: 200,
      onProgress: (e) => fractions.push(e.fraction),
    });
    expect(fractions.at(-1)).toBe(1);
    const controller = new AbortController();
    controller.abort();
    expect(codeOf(() => bootstrapAucCi(labels, scores, { signal: controller.signal }))).toBe(
      'ABORTED',
    );
  });

  it('a statistic that gives NaN is an error, not a NaN interval', () => {
    expect(codeOf(() => bootstrapStatistics(labels, scores, () => ({ x: Number.NaN })))).toBe(
      'INVALID_ARGUMENT',
    );
    let calls = 0;
    const late = () => ({ x: calls++ === 3 ? Number.NaN : 1 });
    expect(codeOf(() => bootstrapStatistics(labels, scores, late, { iterations: 10 }))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('rejects bad input and options with typed errors', () => {
    expect(codeOf(() => bootstrapAucCi([1, 1], [0.2, 0.3]))).toBe('DEGENERATE_INPUT');
    expect(codeOf(() => bootstrapAucCi([0, 1], [0.2]))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => bootstrapAucCi([0, 1], [0.2, Number.NaN]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => bootstrapAucCi([0, 1], [0.2, 0.3], { iterations: 0 }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => bootstrapAucCi([0, 1], [0.2, 0.3], { confidence: 1 }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => bootstrapAucCi([0, 1], [0.2, 0.3], { patientIds: ['a'] }))).toBe(
      'SHAPE_MISMATCH',
    );
  });
});

describe('aggregateByPatient', () => {
  it('takes the highest scan score and any positive label', () => {
    const p = aggregateByPatient([0, 1, 0, 0], [0.2, 0.7, 0.9, 0.1], ['a', 'a', 'b', 'b']);
    expect(p.patientIds).toEqual(['a', 'b']);
    expect(p.labels).toEqual([1, 0]);
    expect(p.scores).toEqual([0.7, 0.9]);
    expect(p.scanCounts).toEqual([2, 2]);
    expect(aggregateByPatient([0, 1], [0.2, 0.6], [1, 1], 'mean').scores).toEqual([0.4]);
  });

  it('rejects mismatched ids', () => {
    expect(codeOf(() => aggregateByPatient([0, 1], [0.2, 0.6], ['a']))).toBe('SHAPE_MISMATCH');
  });
});
