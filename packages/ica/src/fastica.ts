// FastICA (Hyvarinen and Oja), the algorithm and defaults of scikit-learn 1.2.1's FastICA.
// Paper section 3.2: slice features are reduced to 64 independent components fitted on training scans.
import {
  type LongTaskOptions,
  LesionEncError,
  assert,
  createLogger,
  createRandom,
  throwIfAborted,
} from '@lesionenc/base';

import {
  type Matrix,
  gramOfRows,
  largestEigen,
  multiply,
  multiplyABt,
  symmetricEigen,
  transpose,
  zeros,
} from './internal/linalg';
import { multiplyABtFast } from './internal/native-linalg';
import { defaultThreadCount, gramOfColumnsParallel, sharedZeros } from './internal/parallel-gram';

const log = createLogger('lesionenc.ica');

/**
 * Singular values of the centred data below this fraction of the largest are taken as zero when
 * its rank is counted (see {@link IcaRankPolicy}).
 */
export const RANK_TOLERANCE = 1e-6;

/** The scikit-learn release whose FastICA this package follows (Debian 12's python3-sklearn). */
export const SKLEARN_REFERENCE_VERSION = '1.2.1';

/** How components are estimated: all at once with symmetric decorrelation, or one by one. */
export type IcaAlgorithm = 'parallel' | 'deflation';

/** The contrast function G (its derivative g is what the fixed-point update uses). */
export type IcaContrast = 'logcosh' | 'exp' | 'cube';

/**
 * Whitening: `unit-variance` rescales the sources to unit variance after the fit (scikit-learn
 * 1.3's default); `arbitrary-variance` leaves them as they come out of the fit (1.2's behaviour).
 */
export type IcaWhiten = 'unit-variance' | 'arbitrary-variance';

/**
 * How the whitening is computed. Both take the leading eigenpairs of a Gram matrix of the
 * centred data: `eigh` of the features' covariance (`d x d`, like scikit-learn's `eigh`), `svd`
 * of whichever of `X^T X` and `X X^T` is smaller, which gives the thin SVD's left vectors and
 * singular values. They agree to rounding; `svd` is the cheaper one when samples are fewer
 * than features.
 */
export type IcaWhitenSolver = 'svd' | 'eigh';

/**
 * What to do when the centred data has fewer independent directions than components asked for
 * (duplicate or constant features, fewer samples than components + 1): throw a
 * `DEGENERATE_INPUT` error, or fit only as many components as the rank allows and log a warning.
 */
export type IcaRankPolicy = 'error' | 'reduce';

/** Configuration of {@link fitFastIca}. */
export interface FastIcaConfig {
  /** Number of components; `undefined` keeps min(samples, features). */
  components?: number | undefined;
  /** @defaultValue `'parallel'` */
  algorithm?: IcaAlgorithm;
  /** @defaultValue `'logcosh'` */
  fun?: IcaContrast;
  /** The logcosh parameter, in [1, 2]. @defaultValue 1 */
  alpha?: number;
  /** @defaultValue `'unit-variance'` */
  whiten?: IcaWhiten;
  /** @defaultValue `'svd'` */
  whitenSolver?: IcaWhitenSolver;
  /** Maximum fixed-point iterations (per component for `deflation`). @defaultValue 200 */
  maxIter?: number;
  /** Convergence tolerance on the change of the unmixing rows. @defaultValue 1e-4 */
  tol?: number;
  /** Seed of the random initial unmixing matrix. @defaultValue 0 */
  seed?: number;
  /**
   * An explicit initial unmixing matrix (`components x components`, row-major), replacing the
   * seeded draw; with scikit-learn's `w_init` it reproduces scikit-learn's result.
   */
  wInit?: ArrayLike<number> | undefined;
  /** @defaultValue `'error'` */
  rankPolicy?: IcaRankPolicy;
}

/** The defaults of {@link FastIcaConfig}, those of scikit-learn 1.2.1 except `whiten`. */
export const DEFAULT_FAST_ICA = Object.freeze({
  algorithm: 'parallel',
  fun: 'logcosh',
  alpha: 1,
  whiten: 'unit-variance',
  whitenSolver: 'svd',
  maxIter: 200,
  tol: 1e-4,
  seed: 0,
  rankPolicy: 'error',
} as const satisfies Required<Omit<FastIcaConfig, 'components' | 'wInit'>>);

/** A row-major matrix of samples (rows) by features (columns). */
export interface IcaMatrix {
  rows: number;
  cols: number;
  data: Float64Array | Float32Array;
}

/** Options of one {@link fitFastIca} call (they do not change the model, only how it is made). */
export interface FitFastIcaOptions extends LongTaskOptions {
  /**
   * Threads for the features' Gram matrix, the largest step (Node worker threads; the result
   * differs from the single-threaded one only by summation order).
   * @defaultValue the processors Node reports (1 outside Node)
   */
  threads?: number;
}

/** How the fixed-point iteration ended. */
export interface IcaConvergence {
  converged: boolean;
  /** Iterations run (for `deflation`, the most any component needed). */
  iterations: number;
  /** The last change, max over rows of | |<w_new, w_old>| - 1 |. */
  lastChange: number;
}

/** A fitted FastICA model. Sources are `S = (X - mean) components^T`. */
export interface FastIcaModel {
  readonly nFeatures: number;
  readonly nComponents: number;
  readonly whiten: IcaWhiten;
  /** Feature means of the training data (length `nFeatures`). */
  readonly mean: Float64Array;
  /** Whitening matrix K (`nComponents x nFeatures`, row-major), like `whitening_`. */
  readonly whitening: Float64Array;
  /** Unmixing W in whitened space (`nComponents x nComponents`), `_unmixing`. */
  readonly unmixing: Float64Array;
  /** `W K` (`nComponents x nFeatures`), like `components_`. */
  readonly components: Float64Array;
  /** Pseudo-inverse of `components` (`nFeatures x nComponents`), like `mixing_`. */
  readonly mixing: Float64Array;
  readonly convergence: IcaConvergence;
  /** The configuration the model was fitted with, defaults filled in. */
  readonly config: Readonly<Omit<Required<FastIcaConfig>, 'wInit'>>;
}

/**
 * Fits FastICA to training data (paper section 3.2: fit on the training slices only, then
 * {@link transformIca} the test slices with the same model).
 *
 * Follows scikit-learn 1.2.1 step by step: centre, whiten with the leading eigenvectors scaled by
 * `sqrt(n)`, draw a standard normal `W0` (seeded), then iterate the parallel (symmetric
 * decorrelation) or deflation (Gram-Schmidt) fixed point until the change is below `tol`. The
 * random numbers differ from NumPy's, so without `wInit` components can come out in another order
 * and sign, as with another `random_state`.
 *
 * @param x - Training samples x features.
 * @param config - See {@link FastIcaConfig}.
 * @param options - `onProgress` (stage `ica`, one event per iteration) and `signal`.
 * @returns The fitted model; `convergence.converged` is false (and a warning is logged) when the
 *   iteration stopped at `maxIter`.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for a bad configuration, `SHAPE_MISMATCH`
 *   for a bad matrix, `DEGENERATE_INPUT` for non-finite values or (with `rankPolicy: 'error'`)
 *   data of lower rank than the components asked for, `ABORTED` when the signal fires.
 * @example
 * ```ts
 * const model = fitFastIca({ rows: n, cols: 1280, data }, { components: 64, seed: 0 });
 * const sources = transformIca(model, testSlices);
 * ```
 */
export function fitFastIca(
  x: IcaMatrix,
  config: FastIcaConfig = {},
  options: FitFastIcaOptions = {},
): FastIcaModel {
  const settings = resolveConfig(config);
  checkMatrix(x, 'fitFastIca input');
  const n = x.rows;
  const d = x.cols;
  assert(
    n >= 2,
    'DEGENERATE_INPUT',
    () => `fitFastIca input: expected at least 2 samples, got ${n}`,
  );

  let k = settings.components ?? Math.min(n, d);
  if (k > Math.min(n, d)) {
    log.warn(`n_components is too large: it will be set to ${Math.min(n, d)}`, {
      requested: k,
    });
    k = Math.min(n, d);
  }
  const stage = 'ica';
  options.onProgress?.({ stage, status: 'start', fraction: 0, message: 'whitening' });

  const threads = options.threads ?? defaultThreadCount();
  assert(
    Number.isInteger(threads) && threads >= 1,
    'INVALID_ARGUMENT',
    () => `fitFastIca threads: expected a positive integer, got ${threads}`,
  );

  // Centre.
  const mean = new Float64Array(d);
  const centred = sharedZeros(n, d, threads);
  const c = centred.data;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (x.data[i * d + j] as number);
  }
  for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) / n;
  for (let i = 0; i < n; i++) {
    const r = i * d;
    for (let j = 0; j < d; j++) c[r + j] = (x.data[r + j] as number) - (mean[j] as number);
  }
  throwIfAborted(options.signal, 'fitFastIca');

  // Whitening from the leading eigenpairs of the smaller (svd) or the feature (eigh) Gram matrix.
  const { vectors: u, singular } = leadingDirections(centred, k, settings.whitenSolver, threads);
  const rank = numericalRank(singular);
  if (rank < k) {
    const message =
      `fitFastIca input: expected data of rank >= ${k} after centring (the components asked ` +
      `for), got rank ${rank} (${n} samples x ${d} features)`;
    if (settings.rankPolicy === 'error') {
      throw new LesionEncError('DEGENERATE_INPUT', message, { details: { rank, components: k } });
    }
    log.warn(`${message}; fitting ${rank} components`, { rank, requested: k });
    k = rank;
  }
  assert(
    k >= 1,
    'DEGENERATE_INPUT',
    () => 'fitFastIca input: expected non-constant data, got rank 0',
  );

  // K = (u / s)^T restricted to k rows, signs fixed so that u's first row is positive.
  const whitening = new Float64Array(k * d);
  for (let comp = 0; comp < k; comp++) {
    const sign = (u.data[comp] as number) < 0 ? -1 : 1;
    const scale = sign / (singular[comp] as number);
    for (let f = 0; f < d; f++)
      whitening[comp * d + f] = (u.data[f * u.cols + comp] as number) * scale;
  }
  // X1 = K Xc^T sqrt(n): k x n, white (kept in both layouts, for the products of the iteration).
  const x1T = multiplyABtFast(centred, { rows: k, cols: d, data: whitening });
  const rootN = Math.sqrt(n);
  for (let i = 0; i < x1T.data.length; i++) x1T.data[i] = (x1T.data[i] as number) * rootN;
  const x1 = transpose(x1T);
  throwIfAborted(options.signal, 'fitFastIca');

  const wInit = initialUnmixing(settings, k);
  const progress = (iteration: number, change: number) => {
    throwIfAborted(options.signal, 'fitFastIca');
    options.onProgress?.({
      stage,
      status: 'progress',
      fraction: Math.min(1, iteration / settings.maxIter),
      completed: iteration,
      total: settings.maxIter,
      message: `change ${change.toExponential(2)}`,
    });
  };
  const contrast = makeContrast(settings.fun, settings.alpha);
  const fitted =
    settings.algorithm === 'parallel'
      ? icaParallel(x1, x1T, wInit, contrast, settings.maxIter, settings.tol, progress)
      : icaDeflation(x1, wInit, contrast, settings.maxIter, settings.tol, progress);
  const unmixing = fitted.w.data;
  if (!fitted.convergence.converged) {
    log.warn(
      'FastICA did not converge: consider increasing the tolerance or the maximum number of ' +
        'iterations',
      { ...fitted.convergence, maxIter: settings.maxIter, tol: settings.tol },
    );
  }

  // unit-variance: rescale W so the training sources (W X1 / sqrt(n)) have unit std.
  if (settings.whiten === 'unit-variance') {
    const sources = multiplyABtFast(fitted.w, x1T);
    for (let comp = 0; comp < k; comp++) {
      let sum = 0;
      let sumSquares = 0;
      for (let s = 0; s < n; s++) {
        const v = (sources.data[comp * n + s] as number) / rootN;
        sum += v;
        sumSquares += v * v;
      }
      const std = Math.sqrt(Math.max(0, sumSquares / n - (sum / n) ** 2));
      for (let j = 0; j < k; j++) unmixing[comp * k + j] = (unmixing[comp * k + j] as number) / std;
    }
  }
  options.onProgress?.({ stage, status: 'done', fraction: 1 });
  return buildModel({
    mean,
    whitening,
    unmixing,
    nFeatures: d,
    nComponents: k,
    convergence: fitted.convergence,
    config: { ...settings, components: k },
  });
}

/**
 * Sources of new samples: `(X - mean) components^T`.
 *
 * @param model - A fitted model.
 * @param x - Samples x `model.nFeatures`.
 * @returns Samples x `model.nComponents`.
 * @throws {@link LesionEncError} `SHAPE_MISMATCH` when the feature count differs.
 */
export function transformIca(model: FastIcaModel, x: IcaMatrix): IcaMatrix {
  checkMatrix(x, 'transformIca input');
  assert(
    x.cols === model.nFeatures,
    'SHAPE_MISMATCH',
    () => `transformIca input: expected ${model.nFeatures} features, got ${x.cols}`,
  );
  const centred = zeros(x.rows, x.cols);
  for (let i = 0; i < x.rows; i++) {
    const r = i * x.cols;
    for (let j = 0; j < x.cols; j++) {
      centred.data[r + j] = (x.data[r + j] as number) - (model.mean[j] as number);
    }
  }
  return multiplyABtFast(centred, {
    rows: model.nComponents,
    cols: model.nFeatures,
    data: model.components,
  });
}

/**
 * Features back from sources: `S mixing^T + mean` (exact on the training data only when
 * `nComponents` equals the rank of the data).
 *
 * @param model - A fitted model.
 * @param sources - Samples x `model.nComponents`.
 * @returns Samples x `model.nFeatures`.
 * @throws {@link LesionEncError} `SHAPE_MISMATCH` when the component count differs.
 */
export function inverseTransformIca(model: FastIcaModel, sources: IcaMatrix): IcaMatrix {
  checkMatrix(sources, 'inverseTransformIca input');
  assert(
    sources.cols === model.nComponents,
    'SHAPE_MISMATCH',
    () =>
      `inverseTransformIca input: expected ${model.nComponents} components, got ${sources.cols}`,
  );
  const s: Matrix = {
    rows: sources.rows,
    cols: sources.cols,
    data: Float64Array.from(sources.data),
  };
  const out = multiplyABtFast(s, {
    rows: model.nFeatures,
    cols: model.nComponents,
    data: model.mixing,
  });
  for (let i = 0; i < out.rows; i++) {
    for (let j = 0; j < out.cols; j++) {
      out.data[i * out.cols + j] =
        (out.data[i * out.cols + j] as number) + (model.mean[j] as number);
    }
  }
  return out;
}

/** The stored parts of a model, from which {@link buildModel} derives the rest. */
export interface FastIcaParts {
  nFeatures: number;
  nComponents: number;
  mean: Float64Array;
  whitening: Float64Array;
  unmixing: Float64Array;
  convergence: IcaConvergence;
  config: Omit<Required<FastIcaConfig>, 'wInit'>;
}

/**
 * Assembles a model from its stored parts: `components = W K` and `mixing = pinv(components)`.
 *
 * @param parts - Mean, whitening, unmixing and metadata.
 * @returns The model.
 */
export function buildModel(parts: FastIcaParts): FastIcaModel {
  const { nFeatures: d, nComponents: k } = parts;
  const components = multiply(
    { rows: k, cols: k, data: parts.unmixing },
    { rows: k, cols: d, data: parts.whitening },
  );
  // components has full row rank, so pinv = C^T (C C^T)^-1.
  const ccT = multiplyABt(components, components);
  const inverse = inverseSymmetric(ccT);
  const mixingT = multiply(inverse, components);
  const mixing = transpose(mixingT).data;
  return Object.freeze({
    nFeatures: d,
    nComponents: k,
    whiten: parts.config.whiten,
    mean: parts.mean,
    whitening: parts.whitening,
    unmixing: parts.unmixing,
    components: components.data,
    mixing,
    convergence: Object.freeze({ ...parts.convergence }),
    config: Object.freeze({ ...parts.config }),
  });
}

type ResolvedConfig = Omit<Required<FastIcaConfig>, 'components' | 'wInit'> & {
  components: number | undefined;
  wInit: ArrayLike<number> | undefined;
};

function resolveConfig(config: FastIcaConfig): ResolvedConfig {
  const settings: ResolvedConfig = {
    ...DEFAULT_FAST_ICA,
    ...Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)),
    components: config.components,
    wInit: config.wInit,
  };
  const oneOf = (name: string, value: string, allowed: readonly string[]) =>
    assert(
      allowed.includes(value),
      'INVALID_ARGUMENT',
      () => `FastICA ${name}: expected one of ${allowed.join(', ')}, got '${value}'`,
    );
  oneOf('algorithm', settings.algorithm, ['parallel', 'deflation']);
  oneOf('fun', settings.fun, ['logcosh', 'exp', 'cube']);
  oneOf('whiten', settings.whiten, ['unit-variance', 'arbitrary-variance']);
  oneOf('whitenSolver', settings.whitenSolver, ['svd', 'eigh']);
  oneOf('rankPolicy', settings.rankPolicy, ['error', 'reduce']);
  const { components, alpha, maxIter, tol, seed } = settings;
  assert(
    components === undefined || (Number.isInteger(components) && components >= 1),
    'INVALID_ARGUMENT',
    () => `FastICA components: expected a positive integer, got ${String(components)}`,
  );
  assert(
    Number.isFinite(alpha) && alpha >= 1 && alpha <= 2,
    'INVALID_ARGUMENT',
    () => `FastICA alpha: expected a number in [1, 2], got ${alpha}`,
  );
  assert(
    Number.isInteger(maxIter) && maxIter >= 1,
    'INVALID_ARGUMENT',
    () => `FastICA maxIter: expected a positive integer, got ${maxIter}`,
  );
  assert(
    Number.isFinite(tol) && tol > 0,
    'INVALID_ARGUMENT',
    () => `FastICA tol: expected a positive number, got ${tol}`,
  );
  assert(
    Number.isInteger(seed),
    'INVALID_ARGUMENT',
    () => `FastICA seed: expected an integer, got ${seed}`,
  );
  return settings;
}

function checkMatrix(x: IcaMatrix, what: string): void {
  assert(
    Number.isInteger(x.rows) && Number.isInteger(x.cols) && x.rows >= 1 && x.cols >= 1,
    'SHAPE_MISMATCH',
    () => `${what}: expected positive integer rows and cols, got ${x.rows} x ${x.cols}`,
  );
  assert(
    x.data.length === x.rows * x.cols,
    'SHAPE_MISMATCH',
    () =>
      `${what}: expected ${x.rows} x ${x.cols} = ${x.rows * x.cols} values, got ${x.data.length}`,
  );
  for (let i = 0; i < x.data.length; i++) {
    if (!Number.isFinite(x.data[i])) {
      throw new LesionEncError(
        'DEGENERATE_INPUT',
        `${what}: expected finite values, got ${x.data[i]} at row ${Math.floor(i / x.cols)}, ` +
          `column ${i % x.cols}`,
      );
    }
  }
}

// The k leading left singular vectors (d x k) of the centred data's transpose and the singular
// values, through the eigendecomposition of a Gram matrix.
function leadingDirections(
  centred: Matrix,
  k: number,
  solver: IcaWhitenSolver,
  threads: number,
): { vectors: Matrix; singular: Float64Array } {
  const n = centred.rows;
  const d = centred.cols;
  const viaSamples = solver === 'svd' && n < d;
  const gram = viaSamples ? gramOfRows(centred) : gramOfColumnsParallel(centred, threads);
  const size = gram.rows;
  const eigen =
    k * 4 < size && size > 64 ? largestEigen(gram, k) : descending(symmetricEigen(gram), k);
  const singular = new Float64Array(k);
  for (let i = 0; i < k; i++) singular[i] = Math.sqrt(Math.max(0, eigen.values[i] as number));
  if (!viaSamples) return { vectors: eigen.vectors, singular };

  // u = Xc^T v / s for each sample-space eigenvector v (zero where s is zero).
  const vT = transpose(eigen.vectors); // k x n
  const uT = multiply(vT, centred); // k x d
  for (let comp = 0; comp < k; comp++) {
    const s = singular[comp] as number;
    const inv = s > 0 ? 1 / s : 0;
    for (let f = 0; f < d; f++) uT.data[comp * d + f] = (uT.data[comp * d + f] as number) * inv;
  }
  return { vectors: transpose(uT), singular };
}

function descending(eigen: { values: Float64Array; vectors: Matrix }, k: number) {
  const n = eigen.values.length;
  const values = new Float64Array(k);
  const vectors = zeros(n, k);
  for (let c = 0; c < k; c++) {
    const src = n - 1 - c;
    values[c] = eigen.values[src] as number;
    for (let i = 0; i < n; i++) vectors.data[i * k + c] = eigen.vectors.data[i * n + src] as number;
  }
  return { values, vectors };
}

// Singular values at or below RANK_TOLERANCE of the largest count as zero: a Gram matrix carries
// eigenvalues to about eps of the largest, hence singular values only to about sqrt(eps).
function numericalRank(singular: Float64Array): number {
  const largest = singular[0] ?? 0;
  if (!(largest > 0)) return 0;
  let rank = 0;
  for (const s of singular) if (s > largest * RANK_TOLERANCE) rank++;
  return rank;
}

function initialUnmixing(settings: ResolvedConfig, k: number): Matrix {
  if (settings.wInit !== undefined) {
    const w = settings.wInit;
    assert(
      w.length === k * k,
      'SHAPE_MISMATCH',
      () => `FastICA wInit: expected ${k} x ${k} = ${k * k} values, got ${w.length}`,
    );
    return { rows: k, cols: k, data: Float64Array.from(w) };
  }
  const random = createRandom(settings.seed);
  const out = zeros(k, k);
  for (let i = 0; i < k * k; i++) out.data[i] = random.normal();
  return out;
}

/** g applied in place to a row; returns the mean of g' over the row. */
type Contrast = (values: Float64Array, from: number, to: number) => number;

function makeContrast(fun: IcaContrast, alpha: number): Contrast {
  if (fun === 'logcosh') {
    return (v, from, to) => {
      let derivative = 0;
      for (let i = from; i < to; i++) {
        const t = Math.tanh(alpha * (v[i] as number));
        v[i] = t;
        derivative += alpha * (1 - t * t);
      }
      return derivative / (to - from);
    };
  }
  if (fun === 'exp') {
    return (v, from, to) => {
      let derivative = 0;
      for (let i = from; i < to; i++) {
        const x = v[i] as number;
        const x2 = x * x;
        const e = Math.exp(-x2 / 2);
        v[i] = x * e;
        derivative += (1 - x2) * e;
      }
      return derivative / (to - from);
    };
  }
  return (v, from, to) => {
    let derivative = 0;
    for (let i = from; i < to; i++) {
      const x = v[i] as number;
      v[i] = x * x * x;
      derivative += 3 * x * x;
    }
    return derivative / (to - from);
  };
}

// W <- (W W^T)^(-1/2) W.
function symmetricDecorrelation(w: Matrix): Matrix {
  const { values, vectors } = symmetricEigen(multiplyABt(w, w));
  const k = w.rows;
  const scaled = zeros(k, k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const s = Math.max(values[j] as number, Number.MIN_VALUE);
      scaled.data[i * k + j] = (vectors.data[i * k + j] as number) / Math.sqrt(s);
    }
  }
  return multiply(multiplyABt(scaled, vectors), w);
}

interface Fitted {
  w: Matrix;
  convergence: IcaConvergence;
}

// x1 is k x n, x1T its transpose.
function icaParallel(
  x1: Matrix,
  x1T: Matrix,
  wInit: Matrix,
  g: Contrast,
  maxIter: number,
  tol: number,
  progress: (iteration: number, change: number) => void,
): Fitted {
  const k = x1.rows;
  const n = x1.cols;
  let w = symmetricDecorrelation(wInit);
  let change = Infinity;
  let iteration = 0;
  while (iteration < maxIter) {
    iteration++;
    const wx = multiplyABtFast(w, x1T);
    const derivative = new Float64Array(k);
    for (let r = 0; r < k; r++) derivative[r] = g(wx.data, r * n, (r + 1) * n);
    const update = multiplyABtFast(wx, x1);
    for (let r = 0; r < k; r++) {
      for (let j = 0; j < k; j++) {
        const idx = r * k + j;
        update.data[idx] =
          (update.data[idx] as number) / n - (derivative[r] as number) * (w.data[idx] as number);
      }
    }
    const next = symmetricDecorrelation(update);
    change = 0;
    for (let r = 0; r < k; r++) {
      let dot = 0;
      for (let j = 0; j < k; j++)
        dot += (next.data[r * k + j] as number) * (w.data[r * k + j] as number);
      change = Math.max(change, Math.abs(Math.abs(dot) - 1));
    }
    w = next;
    progress(iteration, change);
    if (change < tol) break;
  }
  return { w, convergence: { converged: change < tol, iterations: iteration, lastChange: change } };
}

function icaDeflation(
  x1: Matrix,
  wInit: Matrix,
  g: Contrast,
  maxIter: number,
  tol: number,
  progress: (iteration: number, change: number) => void,
): Fitted {
  const k = x1.rows;
  const n = x1.cols;
  const w = zeros(k, k);
  const wx = new Float64Array(n);
  let mostIterations = 0;
  let worstChange = 0;
  for (let comp = 0; comp < k; comp++) {
    let v = Float64Array.from(wInit.data.subarray(comp * k, (comp + 1) * k));
    normalise(v);
    let change = Infinity;
    let iteration = 0;
    while (iteration < maxIter) {
      iteration++;
      wx.fill(0);
      for (let r = 0; r < k; r++) {
        const vr = v[r] as number;
        const row = r * n;
        for (let s = 0; s < n; s++) wx[s] = (wx[s] as number) + vr * (x1.data[row + s] as number);
      }
      const derivative = g(wx, 0, n);
      const next = new Float64Array(k);
      for (let r = 0; r < k; r++) {
        let dot = 0;
        const row = r * n;
        for (let s = 0; s < n; s++) dot += (x1.data[row + s] as number) * (wx[s] as number);
        next[r] = dot / n - derivative * (v[r] as number);
      }
      // Gram-Schmidt against the components already found.
      const projections = new Float64Array(comp);
      for (let prev = 0; prev < comp; prev++) {
        let dot = 0;
        for (let j = 0; j < k; j++) dot += (next[j] as number) * (w.data[prev * k + j] as number);
        projections[prev] = dot;
      }
      for (let prev = 0; prev < comp; prev++) {
        for (let j = 0; j < k; j++) {
          next[j] =
            (next[j] as number) - (projections[prev] as number) * (w.data[prev * k + j] as number);
        }
      }
      normalise(next);
      let dot = 0;
      for (let j = 0; j < k; j++) dot += (next[j] as number) * (v[j] as number);
      change = Math.abs(Math.abs(dot) - 1);
      v = next;
      if (change < tol) break;
    }
    w.data.set(v, comp * k);
    mostIterations = Math.max(mostIterations, iteration);
    worstChange = Math.max(worstChange, change);
    progress(Math.round(((comp + 1) / k) * maxIter), change);
  }
  return {
    w,
    convergence: {
      converged: worstChange < tol,
      iterations: mostIterations,
      lastChange: worstChange,
    },
  };
}

function normalise(v: Float64Array): void {
  let sumSquares = 0;
  for (const value of v) sumSquares += value * value;
  const scale = 1 / Math.sqrt(sumSquares);
  for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) * scale;
}

function inverseSymmetric(a: Matrix): Matrix {
  const { values, vectors } = symmetricEigen(a);
  const n = a.rows;
  const scaled = zeros(n, n);
  const largest = Math.max(...Array.from(values, Math.abs));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const s = values[j] as number;
      // Directions with no variance (cannot occur for a full-rank model) map to zero.
      const inv = Math.abs(s) > largest * 1e-13 ? 1 / s : 0;
      scaled.data[i * n + j] = (vectors.data[i * n + j] as number) * inv;
    }
  }
  return multiplyABt(scaled, vectors);
}
