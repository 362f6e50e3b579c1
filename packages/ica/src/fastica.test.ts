// Parity of FastICA with scikit-learn 1.2.1 fixtures, source recovery, rank handling, convergence.
import { readFileSync } from 'node:fs';

import {
  type LogRecord,
  createRandom,
  isLesionEncError,
  setLogLevel,
  setLogSink,
} from '@lesionenc/base';
import { afterEach, describe, expect, it } from 'vitest';

import {
  type FastIcaConfig,
  type IcaMatrix,
  fitFastIca,
  inverseTransformIca,
  transformIca,
} from './fastica';

/** |correlation| a component must reach with its scikit-learn counterpart (the bar). */
const MIN_ABS_CORRELATION = 0.99;
/** With scikit-learn's own initial matrix the results agree to rounding. */
const SAME_INIT_ABS_TOLERANCE = 1e-6;
/** Inverse transform of the full-rank model reproduces the data to this much (feature units). */
const RECONSTRUCTION_TOLERANCE = 1e-8;

interface FixtureCase {
  algorithm: 'parallel' | 'deflation';
  fun: 'logcosh' | 'exp' | 'cube';
  alpha: number;
  whiten: 'unit-variance' | 'arbitrary-variance';
  whiten_solver: 'svd' | 'eigh';
  max_iter: number;
  tol: number;
  n_iter: number;
  mean: number[];
  components: number[][];
  sources: number[][];
}
interface Fixture {
  sklearn_version: string;
  n_samples: number;
  n_features: number;
  n_components: number;
  x: number[][];
  true_sources: number[][];
  w_init: number[][];
  cases: FixtureCase[];
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/ica-fixtures.json', import.meta.url), 'utf8'),
) as Fixture;

function matrixOf(rows: number[][]): IcaMatrix {
  return { rows: rows.length, cols: rows[0]?.length ?? 0, data: Float64Array.from(rows.flat()) };
}

function column(m: IcaMatrix, c: number): Float64Array {
  return Float64Array.from({ length: m.rows }, (_, r) => m.data[r * m.cols + c] as number);
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] as number;
    mb += b[i] as number;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = (a[i] as number) - ma;
    const db = (b[i] as number) - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** For each column of `ours`, the best |correlation| with any column of `reference`. */
function bestMatches(ours: IcaMatrix, reference: IcaMatrix): number[] {
  return Array.from({ length: ours.cols }, (_, c) => {
    const mine = column(ours, c);
    let best = 0;
    for (let r = 0; r < reference.cols; r++) {
      best = Math.max(best, Math.abs(correlation(mine, column(reference, r))));
    }
    return best;
  });
}

function configOf(c: FixtureCase): FastIcaConfig {
  return {
    components: fixture.n_components,
    algorithm: c.algorithm,
    fun: c.fun,
    alpha: c.alpha,
    whiten: c.whiten,
    whitenSolver: c.whiten_solver,
    maxIter: c.max_iter,
    tol: c.tol,
  };
}

const x = matrixOf(fixture.x);

afterEach(() => {
  setLogSink(undefined);
  setLogLevel('silent');
});

describe('fitFastIca against scikit-learn', () => {
  it('uses fixtures made by the scikit-learn release it follows', () => {
    expect(fixture.sklearn_version).toBe('1.2.1');
  });

  describe.each(fixture.cases)('$algorithm $fun(alpha $alpha) $whiten $whiten_solver', (c) => {
    it('reproduces components and sources from the same initial unmixing', () => {
      const model = fitFastIca(x, { ...configOf(c), wInit: fixture.w_init.flat() });
      const expected = c.components.flat();
      expect(model.components.length).toBe(expected.length);
      model.components.forEach((v, i) =>
        expect(Math.abs(v - (expected[i] as number))).toBeLessThan(
          SAME_INIT_ABS_TOLERANCE * Math.max(1, Math.abs(expected[i] as number)),
        ),
      );
      model.mean.forEach((v, i) => expect(v).toBeCloseTo(c.mean[i] as number, 10));
      const sources = transformIca(model, x);
      const reference = c.sources.flat();
      sources.data.forEach((v, i) =>
        expect(Math.abs(v - (reference[i] as number))).toBeLessThan(1e-5),
      );
      expect(model.convergence.converged).toBe(true);
      expect(Math.abs(model.convergence.iterations - c.n_iter)).toBeLessThanOrEqual(1);
    });

    it('finds every scikit-learn component from its own seeded start', () => {
      const model = fitFastIca(x, { ...configOf(c), seed: 7 });
      const matches = bestMatches(transformIca(model, x), matrixOf(c.sources));
      for (const m of matches) expect(m).toBeGreaterThanOrEqual(MIN_ABS_CORRELATION);
    });
  });

  it('recovers the fixture sources from their mixture', () => {
    const model = fitFastIca(x, { components: 5, seed: 3 });
    const matches = bestMatches(matrixOf(fixture.true_sources), transformIca(model, x));
    for (const m of matches) expect(m).toBeGreaterThanOrEqual(MIN_ABS_CORRELATION);
  });
});

/** Non-Gaussian sources mixed linearly into more features, with a little noise. */
function synthetic(n: number, sources: number, features: number, seed: number) {
  const random = createRandom(seed);
  const s = new Float64Array(n * sources);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < sources; j++) {
      const u = random.next();
      // Alternate Laplace, uniform and binary sources.
      const value =
        j % 3 === 0
          ? Math.sign(u - 0.5) * Math.log(1 - 2 * Math.abs(u - 0.5) + 1e-12)
          : j % 3 === 1
            ? 2 * u - 1
            : u < 0.5
              ? -1
              : 1;
      s[i * sources + j] = value;
    }
  }
  const a = Float64Array.from({ length: features * sources }, () => random.normal());
  const xData = new Float64Array(n * features);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < features; f++) {
      let v = 0.001 * random.normal();
      for (let j = 0; j < sources; j++)
        v += (a[f * sources + j] as number) * (s[i * sources + j] as number);
      xData[i * features + f] = v;
    }
  }
  return {
    x: { rows: n, cols: features, data: xData },
    sources: { rows: n, cols: sources, data: s },
  };
}

describe('fitFastIca on a synthetic mixture', () => {
  const { x: mixed, sources } = synthetic(2000, 6, 40, 11);

  it.each(['parallel', 'deflation'] as const)('recovers every source (%s)', (algorithm) => {
    const model = fitFastIca(mixed, { components: 6, algorithm, seed: 1 });
    const matches = bestMatches(sources, transformIca(model, mixed));
    for (const m of matches) expect(m).toBeGreaterThanOrEqual(MIN_ABS_CORRELATION);
  });

  it('fits on training rows and applies the same model to held-out rows', () => {
    const train = { rows: 1500, cols: 40, data: mixed.data.subarray(0, 1500 * 40) };
    const test = { rows: 500, cols: 40, data: mixed.data.subarray(1500 * 40) };
    const heldOutSources = { rows: 500, cols: 6, data: sources.data.subarray(1500 * 6) };
    const model = fitFastIca(train, { components: 6, seed: 2 });
    const matches = bestMatches(heldOutSources, transformIca(model, test));
    for (const m of matches) expect(m).toBeGreaterThanOrEqual(MIN_ABS_CORRELATION);
  });

  it('gives unit-variance training sources, and arbitrary-variance ones otherwise', () => {
    const unit = transformIca(fitFastIca(mixed, { components: 6, seed: 1 }), mixed);
    for (let c = 0; c < 6; c++) {
      const col = column(unit, c);
      const variance = col.reduce((sum, v) => sum + v * v, 0) / col.length;
      expect(variance).toBeCloseTo(1, 8);
    }
    const raw = transformIca(
      fitFastIca(mixed, { components: 6, seed: 1, whiten: 'arbitrary-variance' }),
      mixed,
    );
    const col = column(raw, 0);
    const variance = col.reduce((sum, v) => sum + v * v, 0) / col.length;
    // Whitened sources of n samples have variance 1/n before the unit-variance rescaling.
    expect(variance).toBeCloseTo(1 / mixed.rows, 8);
  });

  it('inverts the transform when every direction is kept', () => {
    const small = synthetic(200, 4, 4, 5).x;
    const model = fitFastIca(small, { seed: 0 });
    const back = inverseTransformIca(model, transformIca(model, small));
    back.data.forEach((v, i) =>
      expect(Math.abs(v - (small.data[i] as number))).toBeLessThan(RECONSTRUCTION_TOLERANCE),
    );
  });

  it('gives the same model for the same seed, another for another seed', () => {
    const a = fitFastIca(mixed, { components: 6, seed: 4 });
    const b = fitFastIca(mixed, { components: 6, seed: 4 });
    const c = fitFastIca(mixed, { components: 6, seed: 5 });
    expect(Array.from(a.components)).toEqual(Array.from(b.components));
    expect(Array.from(a.components)).not.toEqual(Array.from(c.components));
  });
});

describe('fitFastIca with fewer samples than features and rank deficiency', () => {
  it.each(['svd', 'eigh'] as const)('fits 30 samples x 80 features (%s)', (whitenSolver) => {
    const { x: wide, sources } = synthetic(30, 3, 80, 8);
    const model = fitFastIca(wide, { components: 3, whitenSolver, seed: 0 });
    expect(model.nComponents).toBe(3);
    const out = transformIca(model, wide);
    for (let c = 0; c < 3; c++) {
      const col = column(out, c);
      expect(col.reduce((sum, v) => sum + v * v, 0) / col.length).toBeCloseTo(1, 8);
    }
    expect(bestMatches(sources, out).every((m) => m > 0.9)).toBe(true);
  });

  it('throws DEGENERATE_INPUT when more components are asked than the rank allows', () => {
    // Every feature is a combination of three row signals, so the data has rank 3.
    const rankThree = {
      rows: 100,
      cols: 10,
      data: Float64Array.from({ length: 1000 }, (_, i) => {
        const r = Math.floor(i / 10);
        const f = i % 10;
        return (
          Math.sin(r * 0.3) * f + Math.cos(r * 0.11) * (f % 3) + ((r * 7) % 5) * (f === 4 ? 1 : 0)
        );
      }),
    };
    let error: unknown;
    try {
      fitFastIca(rankThree, { components: 5 });
    } catch (e) {
      error = e;
    }
    expect(isLesionEncError(error, 'DEGENERATE_INPUT')).toBe(true);
    expect(String(error)).toContain('rank 3');
  });

  it('reduces to the rank with a warning under rankPolicy reduce', () => {
    setLogLevel('warn');
    const records: LogRecord[] = [];
    setLogSink((r) => records.push(r));
    const rows = 12;
    // 12 centred samples have rank at most 11, whatever the feature count.
    const { x: few } = synthetic(rows, 12, 50, 10);
    const model = fitFastIca(few, { components: 12, rankPolicy: 'reduce', seed: 0 });
    expect(model.nComponents).toBe(11);
    expect(records.some((r) => r.level === 'warn' && r.message.includes('rank 11'))).toBe(true);
  });
});

describe('fitFastIca reporting and validation', () => {
  it('reports non-convergence and logs a warning', () => {
    setLogLevel('warn');
    const records: LogRecord[] = [];
    setLogSink((r) => records.push(r));
    try {
      const model = fitFastIca(x, { components: 5, maxIter: 2, tol: 1e-12 });
      expect(model.convergence.converged).toBe(false);
      expect(model.convergence.iterations).toBe(2);
      expect(model.convergence.lastChange).toBeGreaterThan(1e-12);
      expect(
        records.some((r) => r.level === 'warn' && r.message.includes('did not converge')),
      ).toBe(true);
    } finally {
      setLogLevel('silent');
    }
  });

  it('emits progress and stops on abort', () => {
    const events: number[] = [];
    fitFastIca(x, { components: 5 }, { onProgress: (e) => events.push(e.fraction) });
    expect(events[0]).toBe(0);
    expect(events.at(-1)).toBe(1);
    const controller = new AbortController();
    controller.abort();
    expect(() => fitFastIca(x, {}, { signal: controller.signal })).toThrowError(/aborted/);
  });

  it.each<[string, FastIcaConfig]>([
    ['alpha', { alpha: 3 }],
    ['fun', { fun: 'tanh' as never }],
    ['components', { components: 0 }],
    ['maxIter', { maxIter: 0 }],
    ['tol', { tol: -1 }],
  ])('rejects a bad %s', (name, config) => {
    let error: unknown;
    try {
      fitFastIca(x, config);
    } catch (e) {
      error = e;
    }
    expect(isLesionEncError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect(String(error)).toContain(name);
  });

  it('rejects non-finite data and mismatched shapes', () => {
    const bad = { rows: 3, cols: 2, data: Float64Array.of(1, 2, 3, Number.NaN, 5, 6) };
    expect(() => fitFastIca(bad)).toThrowError(/finite/);
    const model = fitFastIca(x, { components: 5 });
    let error: unknown;
    try {
      transformIca(model, { rows: 1, cols: 3, data: new Float64Array(3) });
    } catch (e) {
      error = e;
    }
    expect(isLesionEncError(error, 'SHAPE_MISMATCH')).toBe(true);
  });
});
