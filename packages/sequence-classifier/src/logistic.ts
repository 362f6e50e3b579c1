// Logistic regression on the 4 volumetric features (the BS_Volumetric baseline of paper Table 3):
// standardised inputs, L2 penalty as scikit-learn's C, fitted by Newton's method.
import { LesionEncError, assert } from '@lesionenc/base';

import type { ClassWeights } from './train';

/** Configuration of {@link fitLogisticRegression}. */
export interface LogisticRegressionConfig {
  /** Inverse L2 strength, as scikit-learn's `C` (the intercept is not penalised). @defaultValue 1 */
  c?: number;
  /** Per-class sample weights; none by default. */
  classWeights?: ClassWeights | undefined;
  /** @defaultValue 100 */
  maxIter?: number;
  /** Stop when the largest Newton step is below this. @defaultValue 1e-10 */
  tol?: number;
}

/** The defaults of {@link LogisticRegressionConfig}. */
export const DEFAULT_LOGISTIC_REGRESSION = Object.freeze({ c: 1, maxIter: 100, tol: 1e-10 });

/** A fitted model: `p = sigmoid(((x - mean) / scale) . weights + intercept)`. */
export interface LogisticRegressionModel {
  readonly featureCount: number;
  readonly mean: Float64Array;
  /** Standard deviation of each feature (1 where it was 0). */
  readonly scale: Float64Array;
  readonly weights: Float64Array;
  readonly intercept: number;
  readonly iterations: number;
}

/** Rows of features, row-major. */
export interface FeatureRows {
  rows: number;
  cols: number;
  data: ArrayLike<number>;
}

/**
 * Fits an L2-penalised logistic regression (minimises
 * `C * sum_i w_i * logloss_i + ||weights||^2 / 2`, as scikit-learn's `lbfgs` solver does).
 *
 * @param x - Samples x features (4 volumetric features for the baseline).
 * @param labels - 0/1 per sample.
 * @param config - See {@link LogisticRegressionConfig}.
 * @returns The model.
 * @throws {@link LesionEncError} `SHAPE_MISMATCH`, `INVALID_ARGUMENT`, or `NOT_CONVERGED`.
 */
export function fitLogisticRegression(
  x: FeatureRows,
  labels: ArrayLike<number>,
  config: LogisticRegressionConfig = {},
): LogisticRegressionModel {
  const { c, maxIter, tol } = { ...DEFAULT_LOGISTIC_REGRESSION, ...config };
  checkRows(x, 'fitLogisticRegression input');
  const n = x.rows;
  const d = x.cols;
  assert(
    labels.length === n,
    'SHAPE_MISMATCH',
    () => `fitLogisticRegression labels: expected ${n}, got ${labels.length}`,
  );
  assert(c > 0, 'INVALID_ARGUMENT', () => `fitLogisticRegression c: expected > 0, got ${c}`);
  const y = Float64Array.from(labels);
  y.forEach((v, i) =>
    assert(
      v === 0 || v === 1,
      'INVALID_ARGUMENT',
      () => `fitLogisticRegression labels[${i}]: expected 0 or 1, got ${v}`,
    ),
  );
  const sampleWeight = Float64Array.from(y, (v) =>
    config.classWeights === undefined
      ? 1
      : v === 1
        ? config.classWeights.positive
        : config.classWeights.negative,
  );

  // Standardise with the population standard deviation, like StandardScaler.
  const mean = new Float64Array(d);
  const scale = new Float64Array(d);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (x.data[i * d + j] as number) / n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++)
      scale[j] =
        (scale[j] as number) + ((x.data[i * d + j] as number) - (mean[j] as number)) ** 2 / n;
  }
  for (let j = 0; j < d; j++)
    scale[j] = (scale[j] as number) > 0 ? Math.sqrt(scale[j] as number) : 1;
  const z = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++)
      z[i * d + j] = ((x.data[i * d + j] as number) - (mean[j] as number)) / (scale[j] as number);
  }

  // Newton's method on theta = [weights, intercept].
  const p = d + 1;
  const theta = new Float64Array(p);
  let iterations = 0;
  for (; iterations < maxIter; iterations++) {
    const gradient = new Float64Array(p);
    const hessian = new Float64Array(p * p);
    for (let j = 0; j < d; j++) {
      gradient[j] = theta[j] as number;
      hessian[j * p + j] = 1;
    }
    for (let i = 0; i < n; i++) {
      let s = theta[d] as number;
      for (let j = 0; j < d; j++) s += (theta[j] as number) * (z[i * d + j] as number);
      const prob = 1 / (1 + Math.exp(-s));
      const w = c * (sampleWeight[i] as number);
      const r = w * (prob - (y[i] as number));
      const curvature = w * prob * (1 - prob);
      for (let a = 0; a < p; a++) {
        const za = a === d ? 1 : (z[i * d + a] as number);
        gradient[a] = (gradient[a] as number) + r * za;
        for (let b = 0; b < p; b++) {
          const zb = b === d ? 1 : (z[i * d + b] as number);
          hessian[a * p + b] = (hessian[a * p + b] as number) + curvature * za * zb;
        }
      }
    }
    const step = solve(hessian, gradient, p);
    let largest = 0;
    for (let a = 0; a < p; a++) {
      theta[a] = (theta[a] as number) - (step[a] as number);
      largest = Math.max(largest, Math.abs(step[a] as number));
    }
    if (largest < tol) {
      iterations++;
      break;
    }
    if (iterations === maxIter - 1) {
      throw new LesionEncError(
        'NOT_CONVERGED',
        `fitLogisticRegression: expected convergence within ${maxIter} Newton steps, got a last step of ${largest}`,
      );
    }
  }
  return Object.freeze({
    featureCount: d,
    mean,
    scale,
    weights: theta.slice(0, d),
    intercept: theta[d] as number,
    iterations,
  });
}

/**
 * Positive-class probabilities.
 *
 * @param model - A fitted model.
 * @param x - Samples x `model.featureCount`.
 * @returns One probability per sample.
 * @throws {@link LesionEncError} `SHAPE_MISMATCH` when the feature count differs.
 */
export function predictLogisticRegression(
  model: LogisticRegressionModel,
  x: FeatureRows,
): Float64Array {
  checkRows(x, 'predictLogisticRegression input');
  assert(
    x.cols === model.featureCount,
    'SHAPE_MISMATCH',
    () => `predictLogisticRegression input: expected ${model.featureCount} features, got ${x.cols}`,
  );
  const out = new Float64Array(x.rows);
  for (let i = 0; i < x.rows; i++) {
    let s = model.intercept;
    for (let j = 0; j < x.cols; j++) {
      const zj =
        ((x.data[i * x.cols + j] as number) - (model.mean[j] as number)) /
        (model.scale[j] as number);
      s += (model.weights[j] as number) * zj;
    }
    out[i] = 1 / (1 + Math.exp(-s));
  }
  return out;
}

function checkRows(x: FeatureRows, what: string): void {
  assert(
    x.data.length === x.rows * x.cols && x.rows >= 1 && x.cols >= 1,
    'SHAPE_MISMATCH',
    () => `${what}: expected ${x.rows} x ${x.cols} values, got ${x.data.length}`,
  );
  for (let i = 0; i < x.data.length; i++) {
    assert(
      Number.isFinite(x.data[i]),
      'INVALID_ARGUMENT',
      () => `${what}: expected finite values, got ${x.data[i]} at index ${i}`,
    );
  }
}

// Solves the symmetric positive definite system A s = b (Cholesky).
function solve(a: Float64Array, b: Float64Array, p: number): Float64Array {
  const l = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * p + j] as number;
      for (let k = 0; k < j; k++) s -= (l[i * p + k] as number) * (l[j * p + k] as number);
      l[i * p + j] = i === j ? Math.sqrt(Math.max(s, 1e-300)) : s / (l[j * p + j] as number);
    }
  }
  const y = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (l[i * p + k] as number) * (y[k] as number);
    y[i] = s / (l[i * p + i] as number);
  }
  const out = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let s = y[i] as number;
    for (let k = i + 1; k < p; k++) s -= (l[k * p + i] as number) * (out[k] as number);
    out[i] = s / (l[i * p + i] as number);
  }
  return out;
}
