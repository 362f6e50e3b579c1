// `lesionenc classifier train|predict`: scan classifiers (BiLSTM, pooling, volumetric baseline).
import { readFile, rename, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { LesionEncError, isLesionEncError } from '@lesionenc/base';
import { type BackendName, initBackend } from '@lesionenc/core';
import { readNpy } from '@lesionenc/io';
import {
  type SequenceBatch,
  createSequenceClassifier,
  fitLogisticRegression,
  loadClassifier,
  predictLogisticRegression,
  saveLogisticRegression,
  saveSequenceClassifier,
  trainSequenceClassifier,
} from '@lesionenc/sequence-classifier';

import type { CliIo } from '../index';
import { readLengths } from './ica';

const USAGE = `Usage:
  lesionenc classifier train --model rnn|pooling|volumetric --features X.npy [--lengths L.npy]
                             --labels y.json [--seed 0] [--epochs 100] [--backend auto] --out DIR
  lesionenc classifier predict --model DIR --features X.npy [--lengths L.npy] [--backend auto]
                               --out scores.json

X is [scans, slices, features] zero-padded with true lengths in L (rnn, pooling), or
[scans, 4] volumetric features. y.json is [0, 1, ...] or {"labels": [...]}.
scores.json is {"scores": [...]}, the positive-class probability of each scan.`;

async function readLabels(path: string, count: number): Promise<number[]> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new LesionEncError('CORRUPT_FILE', 'labels: expected a JSON file', { file: path, cause });
  }
  const labels = Array.isArray(doc) ? doc : (doc as { labels?: unknown } | null)?.labels;
  if (
    !Array.isArray(labels) ||
    labels.length !== count ||
    !labels.every((v) => v === 0 || v === 1)
  ) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `labels: expected ${count} labels of 0 or 1 (one per scan), got ${Array.isArray(labels) ? labels.length : typeof labels}`,
      { file: path },
    );
  }
  return labels as number[];
}

async function readSequences(
  path: string,
  lengthsPath: string | undefined,
): Promise<SequenceBatch> {
  const { data, shape } = await readNpy(path);
  if (shape.length !== 3) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `sequence features: expected [scans, slices, features], got [${shape.join(', ')}]`,
      { file: path },
    );
  }
  const [scans, slices, features] = shape as [number, number, number];
  return {
    features: data instanceof Float32Array ? data : Float32Array.from(data),
    shape: [scans, slices, features],
    lengths: lengthsPath === undefined ? undefined : await readLengths(lengthsPath, scans, slices),
  };
}

async function readVolumetric(path: string) {
  const { data, shape } = await readNpy(path);
  if (shape.length !== 2) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `volumetric features: expected [scans, features], got [${shape.join(', ')}]`,
      { file: path },
    );
  }
  return { rows: shape[0] as number, cols: shape[1] as number, data };
}

async function train(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      features: { type: 'string' },
      lengths: { type: 'string' },
      labels: { type: 'string' },
      seed: { type: 'string', default: '0' },
      epochs: { type: 'string' },
      backend: { type: 'string', default: 'auto' },
      out: { type: 'string' },
    },
  });
  const { model: kind, features, labels: labelsPath, out } = values;
  if (
    kind === undefined ||
    features === undefined ||
    labelsPath === undefined ||
    out === undefined
  ) {
    io.err(USAGE);
    return 2;
  }
  const seed = Number(values.seed);
  if (kind === 'volumetric') {
    const x = await readVolumetric(features);
    const labels = await readLabels(labelsPath, x.rows);
    const model = fitLogisticRegression(x, labels);
    await saveLogisticRegression(model, out);
    io.out(`fitted logistic regression on ${x.rows} scans x ${x.cols} features; wrote ${out}`);
    return 0;
  }
  if (kind !== 'rnn' && kind !== 'pooling') {
    io.err(`lesionenc classifier: --model expected rnn, pooling or volumetric, got '${kind}'`);
    return 2;
  }
  const backend = await initBackend({ backend: values.backend as BackendName });
  const batch = await readSequences(features, values.lengths);
  const labels = await readLabels(labelsPath, batch.shape[0]);
  const classifier = createSequenceClassifier({ kind, featureSize: batch.shape[2], seed });
  try {
    const epochs = values.epochs === undefined ? undefined : Number(values.epochs);
    const result = await trainSequenceClassifier(
      classifier,
      { ...batch, labels },
      { seed, ...(epochs === undefined ? {} : { epochs }) },
      {
        onProgress: (event) => {
          if (event.status === 'progress')
            io.err(`epoch ${event.completed}/${event.total}: ${event.message ?? ''}`);
        },
      },
    );
    await saveSequenceClassifier(classifier, out, result.log);
    io.out(
      `trained ${kind} on ${batch.shape[0]} scans (${backend.name}); best validation loss ` +
        `${result.bestValidationLoss.toFixed(4)} at epoch ${result.bestEpoch + 1}; wrote ${out}`,
    );
  } finally {
    classifier.dispose();
  }
  return 0;
}

async function predict(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      features: { type: 'string' },
      lengths: { type: 'string' },
      backend: { type: 'string', default: 'auto' },
      out: { type: 'string' },
    },
  });
  if (values.model === undefined || values.features === undefined || values.out === undefined) {
    io.err(USAGE);
    return 2;
  }
  const loaded = await loadClassifier(values.model);
  let scores: number[];
  if (loaded.kind === 'volumetric') {
    scores = Array.from(
      predictLogisticRegression(loaded.model, await readVolumetric(values.features)),
    );
  } else {
    await initBackend({ backend: values.backend as BackendName });
    try {
      const batch = await readSequences(values.features, values.lengths);
      scores = Array.from(await loaded.classifier.predict(batch));
    } finally {
      loaded.classifier.dispose();
    }
  }
  const temporary = `${values.out}.tmp-${process.pid}-${Date.now()}`;
  await writeFile(temporary, JSON.stringify({ scores }));
  await rename(temporary, values.out);
  io.out(`scored ${scores.length} scans with the ${loaded.kind} model; wrote ${values.out}`);
  return 0;
}

/**
 * Runs `lesionenc classifier <train|predict> ...`.
 *
 * @param args - Arguments after `classifier`.
 * @param io - Where output goes.
 * @returns 0 on success, 1 when the library reported a failure, 2 for bad usage.
 */
export async function runClassifier(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  try {
    if (sub === 'train') return await train(rest, io);
    if (sub === 'predict') return await predict(rest, io);
  } catch (error) {
    if (isLesionEncError(error)) {
      io.err(`lesionenc classifier: ${error.message}`);
      return 1;
    }
    if (error instanceof TypeError && 'code' in error) {
      io.err(`lesionenc classifier: ${error.message}\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  io.err(USAGE);
  return 2;
}
