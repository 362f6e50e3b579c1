// `lesionenc metrics`: AUC, ROC, threshold metrics and a bootstrap interval from labels and scores.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { parseArgs } from 'node:util';

import { LesionEncError, isLesionEncError } from '@lesionenc/base';
import { readNpy } from '@lesionenc/io';
import { evaluateBinaryClassifier, renderRocSvg } from '@lesionenc/metrics';

import { writeFileAtomic } from '../files';
import type { CliIo } from '../index';

const USAGE = `Usage:
  lesionenc metrics --labels y.json|y.npy --scores s.json|s.npy [--threshold 0.5]
                    [--bootstrap 2000] [--seed 0] [--patients ids.json] [--svg roc.svg]
                    [--name model] [--json]

Labels are 0/1 (JSON booleans too), scores are finite numbers, one per sample, as a JSON array
or a 1-D .npy. --patients gives one id per sample for a patient-level bootstrap; --bootstrap 0
turns the 95% interval off. --svg writes the ROC figure.`;

/** The bootstrap used for the interval unless told otherwise. */
const DEFAULT_BOOTSTRAP_ITERATIONS = 2000;

/** A bad command line: exit code 2 with the usage text. */
class UsageError extends Error {}

/** Reads one value per sample from a JSON array or a 1-D (or n x 1) .npy file. */
async function readVector(path: string, what: string): Promise<(number | string | boolean)[]> {
  if (extname(path).toLowerCase() === '.npy') {
    const array = await readNpy(path);
    const { shape } = array;
    const flat = shape.length === 1 || (shape.length === 2 && shape[1] === 1);
    if (!flat) {
      throw new LesionEncError(
        'SHAPE_MISMATCH',
        `${what}: expected a 1-D array, got shape [${shape.join(', ')}]`,
        { file: path },
      );
    }
    return Array.from(array.data);
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'an error';
    throw new LesionEncError(
      code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'INVALID_ARGUMENT',
      `${what}: expected a readable file, got ${code === 'ENOENT' ? 'nothing at this path' : code}`,
      { file: path, cause: error },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new LesionEncError(
      'CORRUPT_FILE',
      `${what}: expected a JSON array, got invalid JSON (${(error as Error).message.split('\n')[0]})`,
      { file: path, cause: error },
    );
  }
  if (!Array.isArray(parsed)) {
    throw new LesionEncError(
      'CORRUPT_FILE',
      `${what}: expected a JSON array, got ${parsed === null ? 'null' : typeof parsed}`,
      { file: path },
    );
  }
  const bad = parsed.findIndex(
    (v) => typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean',
  );
  if (bad >= 0) {
    throw new LesionEncError(
      'CORRUPT_FILE',
      `${what}: expected numbers, got ${JSON.stringify(parsed[bad])} at index ${bad}`,
      { file: path },
    );
  }
  return parsed as (number | string | boolean)[];
}

/** Numbers only: a string among labels or scores is a content error of that file. */
function numbersOf(values: (number | string | boolean)[], what: string, path: string): number[] {
  const bad = values.findIndex((v) => typeof v === 'string');
  if (bad >= 0) {
    throw new LesionEncError(
      'CORRUPT_FILE',
      `${what}: expected numbers, got ${JSON.stringify(values[bad])} at index ${bad}`,
      { file: path },
    );
  }
  return values as number[];
}

function numberOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) {
    throw new UsageError(`--${name}: expected a number, got '${value}'`);
  }
  return parsed;
}

const fixed = (x: number) => x.toFixed(3);

/**
 * `lesionenc metrics`: reads labels and scores, prints AUC, ROC, sensitivity, specificity and
 * accuracy at the threshold, and a bootstrap 95% interval of the AUC.
 *
 * @param args - Arguments after `metrics`.
 * @param io - Where output goes.
 * @returns 0 on success, 1 for a file that cannot be read or holds bad data (one line naming it),
 * 2 for bad usage.
 */
export async function runMetrics(args: string[], io: CliIo): Promise<number> {
  let files = '';
  try {
    const { values } = (() => {
      try {
        return parseArgs({
          args,
          options: {
            labels: { type: 'string' },
            scores: { type: 'string' },
            threshold: { type: 'string' },
            bootstrap: { type: 'string' },
            seed: { type: 'string' },
            patients: { type: 'string' },
            svg: { type: 'string' },
            name: { type: 'string' },
            json: { type: 'boolean', default: false },
            help: { type: 'boolean', short: 'h', default: false },
          },
        });
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    })();
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    if (values.labels === undefined || values.scores === undefined) {
      throw new UsageError('expected --labels and --scores');
    }
    const threshold = numberOption(values.threshold, 'threshold', 0.5);
    const iterations = numberOption(values.bootstrap, 'bootstrap', DEFAULT_BOOTSTRAP_ITERATIONS);
    if (!Number.isInteger(iterations) || iterations < 0) {
      throw new UsageError(`--bootstrap: expected a whole number >= 0, got '${values.bootstrap}'`);
    }
    const seed = numberOption(values.seed, 'seed', 0);
    if (!Number.isInteger(seed))
      throw new UsageError(`--seed: expected an integer, got '${values.seed}'`);

    const labels = numbersOf(await readVector(values.labels, 'labels'), 'labels', values.labels);
    const scores = numbersOf(await readVector(values.scores, 'scores'), 'scores', values.scores);
    const patientIds =
      values.patients === undefined
        ? undefined
        : ((await readVector(values.patients, 'patients')) as (string | number)[]);
    files = [values.labels, values.scores, values.patients]
      .filter((f) => f !== undefined)
      .join(', ');

    const result = evaluateBinaryClassifier(labels, scores, {
      threshold,
      bootstrap:
        iterations === 0
          ? false
          : { iterations, seed, ...(patientIds === undefined ? {} : { patientIds }) },
    });
    if (values.svg !== undefined) {
      const svg = renderRocSvg([
        {
          name: values.name ?? basename(values.scores, extname(values.scores)),
          fpr: result.roc.fpr,
          tpr: result.roc.tpr,
          auc: result.auc,
          ...(result.ci95 === null ? {} : { aucCi: result.ci95.auc }),
        },
      ]);
      files = values.svg;
      await writeFileAtomic(values.svg, svg);
    }

    if (values.json) {
      io.out(
        JSON.stringify({
          auc: result.auc,
          sensitivity: result.sensitivity,
          specificity: result.specificity,
          accuracy: result.accuracy,
          precision: result.precision,
          f1: result.f1,
          threshold: result.threshold,
          samples: result.samples,
          positives: result.positives,
          negatives: result.negatives,
          confusion: {
            tp: result.atThreshold.tp,
            fp: result.atThreshold.fp,
            tn: result.atThreshold.tn,
            fn: result.atThreshold.fn,
          },
          roc: result.roc,
          ci95: result.ci95 === null ? null : { auc: result.ci95.auc },
          bootstrap: result.bootstrap,
        }),
      );
      return 0;
    }
    const ci =
      result.ci95 === null
        ? ''
        : ` (95% CI ${fixed(result.ci95.auc[0])}-${fixed(result.ci95.auc[1])}, ${iterations} ` +
          `stratified ${patientIds === undefined ? 'sample' : 'patient'} bootstrap resamples)`;
    const m = result.atThreshold;
    io.out(`${result.samples} samples, ${result.positives} positive, ${result.negatives} negative`);
    io.out(`AUC ${fixed(result.auc)}${ci}`);
    io.out(
      `at threshold ${result.threshold}: sensitivity ${fixed(m.sensitivity)}, specificity ` +
        `${fixed(m.specificity)}, accuracy ${fixed(m.accuracy)}, precision ${fixed(m.precision)}, ` +
        `F1 ${fixed(m.f1)} (TP ${m.tp}, FP ${m.fp}, TN ${m.tn}, FN ${m.fn})`,
    );
    for (const point of result.operatingPoints) {
      const name =
        point.rule.kind === 'youden'
          ? "Youden's J"
          : point.rule.kind === 'sensitivity'
            ? `sensitivity >= ${point.rule.target}`
            : point.rule.kind === 'specificity'
              ? `specificity >= ${point.rule.target}`
              : 'threshold';
      io.out(
        `${name}: threshold ${point.metrics.threshold}, sensitivity ${fixed(point.metrics.sensitivity)}, ` +
          `specificity ${fixed(point.metrics.specificity)}`,
      );
    }
    if (values.svg !== undefined) io.out(`ROC figure written to ${values.svg}`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`lesionenc metrics: ${error.message}\n${USAGE}`);
      return 2;
    }
    if (isLesionEncError(error)) {
      const where = error.file === undefined && files !== '' ? `${files}: ` : '';
      io.err(
        `lesionenc metrics: ${where}${error.message} [${error.code}]`.replace(/\s*\n\s*/g, ' '),
      );
      return 1;
    }
    throw error;
  }
}
