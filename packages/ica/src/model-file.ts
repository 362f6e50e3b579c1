// Versioned JSON form of a fitted FastICA model: mean, whitening and unmixing, validated on load.
import { LesionEncError, assert } from '@lesionenc/base';

import {
  type FastIcaModel,
  type IcaAlgorithm,
  type IcaContrast,
  type IcaRankPolicy,
  type IcaWhiten,
  type IcaWhitenSolver,
  SKLEARN_REFERENCE_VERSION,
  buildModel,
} from './fastica';

/** The `format` field of an ICA model file. */
export const ICA_MODEL_FORMAT = 'lesionenc-ica';

/** The version this package writes and reads. */
export const ICA_MODEL_VERSION = 1;

/** The JSON document of a model (arrays nested row by row, so NumPy reads them as they are). */
export interface IcaModelJson {
  format: typeof ICA_MODEL_FORMAT;
  version: typeof ICA_MODEL_VERSION;
  /** The scikit-learn release whose algorithm was followed. */
  reference: string;
  nFeatures: number;
  nComponents: number;
  config: FastIcaModel['config'];
  convergence: FastIcaModel['convergence'];
  mean: number[];
  /** nComponents rows of nFeatures. */
  whitening: number[][];
  /** nComponents rows of nComponents. */
  unmixing: number[][];
}

/**
 * Serialises a model to its JSON document.
 *
 * @param model - A fitted model.
 * @returns The document; `JSON.stringify` it to store it.
 */
export function icaModelToJson(model: FastIcaModel): IcaModelJson {
  const rows = (data: Float64Array, count: number, width: number) =>
    Array.from({ length: count }, (_, r) => Array.from(data.subarray(r * width, (r + 1) * width)));
  return {
    format: ICA_MODEL_FORMAT,
    version: ICA_MODEL_VERSION,
    reference: `scikit-learn ${SKLEARN_REFERENCE_VERSION} FastICA`,
    nFeatures: model.nFeatures,
    nComponents: model.nComponents,
    config: { ...model.config },
    convergence: { ...model.convergence },
    mean: Array.from(model.mean),
    whitening: rows(model.whitening, model.nComponents, model.nFeatures),
    unmixing: rows(model.unmixing, model.nComponents, model.nComponents),
  };
}

/**
 * Reads a model from its JSON document (parsed or as text), checking every field.
 *
 * @param input - The document or its text.
 * @param file - The file it came from, named in errors.
 * @returns The model.
 * @throws {@link LesionEncError} `MODEL_FORMAT` when the document is not a valid model of a
 *   supported version, `CORRUPT_FILE` when the text is not JSON.
 */
export function icaModelFromJson(input: unknown, file?: string): FastIcaModel {
  const where = file === undefined ? {} : { file };
  let doc: unknown = input;
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input);
    } catch (cause) {
      throw new LesionEncError('CORRUPT_FILE', 'ICA model: expected JSON, got unparsable text', {
        ...where,
        cause,
      });
    }
  }
  const fail = (message: string): never => {
    throw new LesionEncError('MODEL_FORMAT', `ICA model ${message}`, where);
  };
  if (typeof doc !== 'object' || doc === null)
    return fail(`: expected an object, got ${typeof doc}`);
  const o = doc as Record<string, unknown>;
  if (o.format !== ICA_MODEL_FORMAT) {
    fail(`format: expected '${ICA_MODEL_FORMAT}', got ${JSON.stringify(o.format)}`);
  }
  if (o.version !== ICA_MODEL_VERSION) {
    fail(`version: expected ${ICA_MODEL_VERSION}, got ${JSON.stringify(o.version)}`);
  }
  const positive = (name: string): number => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      return fail(`${name}: expected a positive integer, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const d = positive('nFeatures');
  const k = positive('nComponents');
  if (k > d) fail(`nComponents: expected at most nFeatures (${d}), got ${k}`);
  const vector = (name: string, value: unknown, length: number): Float64Array => {
    if (!Array.isArray(value) || value.length !== length) {
      return fail(`${name}: expected ${length} numbers, got ${describeLength(value)}`);
    }
    const out = new Float64Array(length);
    for (let i = 0; i < length; i++) {
      const v: unknown = value[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        return fail(`${name}[${i}]: expected a finite number, got ${JSON.stringify(v)}`);
      }
      out[i] = v;
    }
    return out;
  };
  const matrix = (name: string, rowCount: number, width: number): Float64Array => {
    const value = o[name];
    if (!Array.isArray(value) || value.length !== rowCount) {
      return fail(`${name}: expected ${rowCount} rows, got ${describeLength(value)}`);
    }
    const out = new Float64Array(rowCount * width);
    value.forEach((row, r) => out.set(vector(`${name}[${r}]`, row, width), r * width));
    return out;
  };
  const mean = vector('mean', o.mean, d);
  const whitening = matrix('whitening', k, d);
  const unmixing = matrix('unmixing', k, k);

  const config = (o.config ?? {}) as Record<string, unknown>;
  const pick = <T extends string>(name: string, allowed: readonly T[]): T => {
    const v = config[name];
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      return fail(
        `config.${name}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`,
      );
    }
    return v as T;
  };
  const num = (record: Record<string, unknown>, name: string): number => {
    const v = record[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      return fail(`${name}: expected a finite number, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const convergence = (o.convergence ?? {}) as Record<string, unknown>;
  assert(
    typeof convergence.converged === 'boolean',
    'MODEL_FORMAT',
    () =>
      `ICA model convergence.converged: expected a boolean, got ${JSON.stringify(convergence.converged)}`,
  );
  return buildModel({
    nFeatures: d,
    nComponents: k,
    mean,
    whitening,
    unmixing,
    convergence: {
      converged: convergence.converged,
      iterations: num(convergence, 'iterations'),
      lastChange: num(convergence, 'lastChange'),
    },
    config: {
      components: k,
      algorithm: pick<IcaAlgorithm>('algorithm', ['parallel', 'deflation']),
      fun: pick<IcaContrast>('fun', ['logcosh', 'exp', 'cube']),
      alpha: num(config, 'alpha'),
      whiten: pick<IcaWhiten>('whiten', ['unit-variance', 'arbitrary-variance']),
      whitenSolver: pick<IcaWhitenSolver>('whitenSolver', ['svd', 'eigh']),
      maxIter: num(config, 'maxIter'),
      tol: num(config, 'tol'),
      seed: num(config, 'seed'),
      rankPolicy: pick<IcaRankPolicy>('rankPolicy', ['error', 'reduce']),
    },
  });
}

function describeLength(value: unknown): string {
  return Array.isArray(value) ? `${value.length}` : typeof value;
}
