// `lesionenc ica fit|transform`: fits FastICA on training slice features and applies it.
import { rename, readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { LesionEncError, isLesionEncError } from '@lesionenc/base';
import {
  type FastIcaConfig,
  type IcaMatrix,
  fitFastIca,
  icaModelFromJson,
  icaModelToJson,
  transformIca,
} from '@lesionenc/ica';
import { type NpyArray, readNpy, writeNpy } from '@lesionenc/io';

import type { CliIo } from '../index';

const USAGE = `Usage:
  lesionenc ica fit --input X.npy --components 64 [--seed 0] [--whiten unit-variance|arbitrary-variance]
                    [--fun logcosh|exp|cube] [--algorithm parallel|deflation] [--max-iter 200]
                    [--tol 1e-4] [--lengths L.npy] --out ica.json
  lesionenc ica transform --model ica.json --input X.npy [--lengths L.npy] --out S.npy

X is [samples, features], or [scans, slices, features] zero-padded (true lengths in L, or
all-zero rows taken as padding); padding is left out of the fit and stays zero in S.`;

/** Rows of a 2-D or 3-D feature array, and where each real row sits. */
interface Rows {
  matrix: IcaMatrix;
  /** For 3-D input: the flat index (scan * slices + slice) of each row of `matrix`. */
  positions?: Int32Array;
  shape: readonly number[];
}

async function readRows(path: string, lengthsPath: string | undefined): Promise<Rows> {
  const array = await readNpy(path);
  const { shape, data } = array;
  if (shape.length === 2) {
    return {
      matrix: { rows: shape[0] as number, cols: shape[1] as number, data: toFloat(data) },
      shape,
    };
  }
  if (shape.length !== 3) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `feature array: expected 2 or 3 axes, got shape [${shape.join(', ')}]`,
      { file: path },
    );
  }
  const [scans, slices, features] = shape as [number, number, number];
  const lengths =
    lengthsPath === undefined ? undefined : await readLengths(lengthsPath, scans, slices);
  const positions: number[] = [];
  for (let s = 0; s < scans; s++) {
    for (let t = 0; t < slices; t++) {
      const offset = (s * slices + t) * features;
      const real =
        lengths === undefined
          ? data.subarray(offset, offset + features).some((v) => v !== 0)
          : t < (lengths[s] as number);
      if (real) positions.push(s * slices + t);
    }
  }
  const rows = new Float64Array(positions.length * features);
  positions.forEach((p, r) =>
    rows.set(data.subarray(p * features, (p + 1) * features), r * features),
  );
  return {
    matrix: { rows: positions.length, cols: features, data: rows },
    positions: Int32Array.from(positions),
    shape,
  };
}

/**
 * Reads a lengths file: one non-negative integer per scan, at most the slice count.
 *
 * @param path - `.npy` file of shape [scans].
 * @param scans - Expected count.
 * @param slices - Largest allowed length.
 * @returns The lengths.
 */
export async function readLengths(
  path: string,
  scans: number,
  slices: number,
): Promise<Int32Array> {
  const { data, shape } = await readNpy(path);
  if (shape.length !== 1 || shape[0] !== scans) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `lengths: expected shape [${scans}], got [${shape.join(', ')}]`,
      { file: path },
    );
  }
  const out = new Int32Array(scans);
  for (let i = 0; i < scans; i++) {
    const v = data[i] as number;
    if (!Number.isInteger(v) || v < 0 || v > slices) {
      throw new LesionEncError(
        'SHAPE_MISMATCH',
        `lengths[${i}]: expected an integer in [0, ${slices}], got ${v}`,
        { file: path },
      );
    }
    out[i] = v;
  }
  return out;
}

function toFloat(data: NpyArray['data']): Float64Array | Float32Array {
  return data instanceof Float64Array || data instanceof Float32Array
    ? data
    : Float64Array.from(data);
}

async function writeTextAtomic(path: string, text: string): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}-${Date.now()}`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}

function numberOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) {
    throw new LesionEncError('INVALID_ARGUMENT', `--${name}: expected a number, got '${value}'`);
  }
  return n;
}

async function fit(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      input: { type: 'string' },
      lengths: { type: 'string' },
      components: { type: 'string' },
      seed: { type: 'string' },
      whiten: { type: 'string' },
      fun: { type: 'string' },
      algorithm: { type: 'string' },
      'max-iter': { type: 'string' },
      tol: { type: 'string' },
      out: { type: 'string' },
    },
  });
  if (values.input === undefined || values.out === undefined || values.components === undefined) {
    io.err(USAGE);
    return 2;
  }
  const rows = await readRows(values.input, values.lengths);
  const config: FastIcaConfig = {
    components: numberOption(values.components, 'components'),
    seed: numberOption(values.seed, 'seed'),
    maxIter: numberOption(values['max-iter'], 'max-iter'),
    tol: numberOption(values.tol, 'tol'),
    whiten: values.whiten as FastIcaConfig['whiten'],
    fun: values.fun as FastIcaConfig['fun'],
    algorithm: values.algorithm as FastIcaConfig['algorithm'],
  };
  const started = performance.now();
  const model = fitFastIca(rows.matrix, config);
  await writeTextAtomic(values.out, JSON.stringify(icaModelToJson(model)));
  const { converged, iterations, lastChange } = model.convergence;
  io.out(
    `fitted ${model.nComponents} components on ${rows.matrix.rows} x ${rows.matrix.cols} in ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s: ${iterations} iterations, ` +
      `${converged ? 'converged' : 'NOT converged'} (last change ${lastChange.toExponential(2)})`,
  );
  io.out(`wrote ${values.out}`);
  return 0;
}

async function transform(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      input: { type: 'string' },
      lengths: { type: 'string' },
      out: { type: 'string' },
    },
  });
  if (values.model === undefined || values.input === undefined || values.out === undefined) {
    io.err(USAGE);
    return 2;
  }
  const modelPath = values.model;
  const text = await readFile(modelPath, 'utf8').catch((cause: unknown) => {
    throw new LesionEncError('FILE_NOT_FOUND', 'ICA model: expected a readable file', {
      file: modelPath,
      cause,
    });
  });
  const model = icaModelFromJson(text, modelPath);
  const rows = await readRows(values.input, values.lengths);
  const sources = transformIca(model, rows.matrix);
  const k = model.nComponents;
  if (rows.positions === undefined) {
    await writeNpy(values.out, { data: Float64Array.from(sources.data), shape: [sources.rows, k] });
  } else {
    const [scans, slices] = rows.shape as [number, number, number];
    const out = new Float32Array(scans * slices * k);
    rows.positions.forEach((p, r) => out.set(sources.data.subarray(r * k, (r + 1) * k), p * k));
    await writeNpy(values.out, { data: out, shape: [scans, slices, k] });
  }
  io.out(`wrote ${values.out} (${rows.matrix.rows} rows x ${k} components)`);
  return 0;
}

/**
 * Runs `lesionenc ica <fit|transform> ...`.
 *
 * @param args - Arguments after `ica`.
 * @param io - Where output goes.
 * @returns 0 on success, 1 when the library reported a failure, 2 for bad usage.
 */
export async function runIca(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  try {
    if (sub === 'fit') return await fit(rest, io);
    if (sub === 'transform') return await transform(rest, io);
  } catch (error) {
    if (isLesionEncError(error)) {
      io.err(`lesionenc ica: ${error.message}`);
      return 1;
    }
    if (error instanceof TypeError && 'code' in error) {
      io.err(`lesionenc ica: ${error.message}\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  io.err(USAGE);
  return 2;
}
