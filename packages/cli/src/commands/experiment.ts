// `lesionenc experiment`: the paper's experiment from two cohort manifests (one hospital to train,
// the other to test): encode both with the lesion encoder and a generic encoder, then train and
// evaluate the five methods.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import {
  type BackendName,
  type ExperimentTask,
  createLesionEncoder,
  encodeCohort,
  initBackend,
  isLesionEncError,
  runExperiment,
} from '@lesionenc/core';

import type { CliIo } from '../index';
import { createProgressBar } from '../progress';

const USAGE = `Usage:
  lesionenc experiment --train <manifest|index.json> --test <manifest|index.json> --out dir
                       [--task severity|progression|both] [--weights dir] [--generic-weights dir]
                       [--size 256] [--workers N] [--epochs 100] [--components 64]
                       [--bootstrap 1000] [--seed 0] [--backend auto|wasm|cpu] [--json]
                       [--generic-train index.json --generic-test index.json]
                       [--save-models dir] [--slice-spacing auto|none|mm]
                       [--slice-lesion-shares] [--validation-fraction 0.2]
                       [--reselect-every 20] [--learning-rate 0.001]

Encodes both cohorts (resumable, under <out>/encoded) with the lesion encoder (--weights, or the
shipped weights) and with a generic encoder (--generic-weights, for example converted ImageNet
weights; otherwise an encoder never trained on lesions, as the report says), then trains
BS_Volumetric, BS_Pooling, BS_RNN, LE_Pooling and LE_RNN on --train and evaluates them per
patient on --test. Writes per-task reports (JSON, Markdown, HTML, ROC SVG) and results.json.
Cohorts already encoded (the index.json of encode-cohort) are used as they are; then the generic
baselines need --generic-train and --generic-test, and are left out without them.
--save-models keeps the lesion-encoder models trained on --train for \`assess\`: ica.json, and
severity/ and progression/ (LE_RNN), severity-volumetric/ and progression-volumetric/
(BS_Volumetric), with models.json saying how they were made and how they did on --test.
--slice-spacing brings every feature sequence to one slice spacing before the sequence
classifiers: auto (the default) takes the training hospital's median spacing, none leaves the
sequences as they are.
--slice-lesion-shares appends to each slice's ICA sources the shares of its lung that the lesion
encoder labelled ground-glass, consolidation and effusion (LE_Pooling and LE_RNN; an addition to
the paper, which uses the bottleneck features alone).
--validation-fraction, --reselect-every and --learning-rate set the sequence classifiers'
training: the share of training scans held out (whole patients), how often (in epochs) that
share is drawn again, and Adam's step. The weights of the lowest validation loss are kept; once
the split has been drawn again, the validation scans include some trained on, so that loss
flatters late epochs: --reselect-every at or above --epochs keeps one held-out split throughout.`;

// An encoded cohort (encode-cohort's index.json) rather than a manifest to encode.
async function isEncodedIndex(path: string): Promise<boolean> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { scans?: { features?: unknown }[] };
    return (
      Array.isArray(parsed.scans) && parsed.scans.every((s) => typeof s?.features === 'string')
    );
  } catch {
    return false;
  }
}

/**
 * `lesionenc experiment`.
 *
 * @param args - Arguments after the command name.
 * @param io - Where text goes.
 * @param tty - Whether stderr is a terminal.
 * @returns 0 done, 1 failure, 2 usage.
 */
export async function runExperimentCommand(
  args: string[],
  io: CliIo,
  tty = process.stderr.isTTY === true,
): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        train: { type: 'string' },
        test: { type: 'string' },
        out: { type: 'string' },
        task: { type: 'string', default: 'both' },
        weights: { type: 'string' },
        'generic-weights': { type: 'string' },
        'generic-train': { type: 'string' },
        'generic-test': { type: 'string' },
        size: { type: 'string', default: '256' },
        workers: { type: 'string', default: '1' },
        epochs: { type: 'string', default: '100' },
        components: { type: 'string', default: '64' },
        bootstrap: { type: 'string', default: '1000' },
        seed: { type: 'string', default: '0' },
        backend: { type: 'string', default: 'auto' },
        json: { type: 'boolean', default: false },
        'save-models': { type: 'string' },
        'slice-spacing': { type: 'string', default: 'auto' },
        'slice-lesion-shares': { type: 'boolean', default: false },
        'validation-fraction': { type: 'string', default: '0.2' },
        'reselect-every': { type: 'string', default: '20' },
        'learning-rate': { type: 'string', default: '0.001' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    io.err(`lesionenc experiment: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const numbers = Object.fromEntries(
    (['size', 'workers', 'epochs', 'components', 'bootstrap', 'seed'] as const).map((k) => [
      k,
      Number(values[k]),
    ]),
  ) as Record<'size' | 'workers' | 'epochs' | 'components' | 'bootstrap' | 'seed', number>;
  const tasks: Record<string, ExperimentTask[]> = {
    severity: ['severity'],
    progression: ['progression'],
    both: ['severity', 'progression'],
  };
  const spacingText = values['slice-spacing'];
  const sliceSpacingMm =
    spacingText === 'auto' ? 'auto' : spacingText === 'none' ? null : Number(spacingText);
  const fractionText = values['validation-fraction'];
  const validationFraction = Number(fractionText);
  const reselectEvery = Number(values['reselect-every']);
  const learningRate = Number(values['learning-rate']);
  // The first problem with the options, if any.
  const problem = (
    [
      [
        !(validationFraction >= 0 && validationFraction < 1),
        `--validation-fraction: expected a fraction in [0, 1), got ${fractionText}`,
      ],
      [
        !(Number.isInteger(reselectEvery) && reselectEvery >= 1),
        `--reselect-every: expected a whole number of epochs >= 1, got ${values['reselect-every']}`,
      ],
      [
        !(Number.isFinite(learningRate) && learningRate > 0),
        `--learning-rate: expected a positive number, got ${values['learning-rate']}`,
      ],
      [
        typeof sliceSpacingMm === 'number' &&
          !(Number.isFinite(sliceSpacingMm) && sliceSpacingMm > 0),
        `--slice-spacing: expected auto, none or a spacing in mm, got ${spacingText}`,
      ],
      [
        values.train === undefined || values.test === undefined || values.out === undefined,
        '--train, --test and --out are required',
      ],
      [
        tasks[values.task] === undefined,
        `--task: expected severity, progression or both, got ${values.task}`,
      ],
      [
        !Object.values(numbers).every((n) => Number.isInteger(n) && n >= 0) ||
          numbers.workers < 1 ||
          numbers.size % 32 !== 0 ||
          numbers.size < 32,
        'numeric options: expected non-negative integers (workers >= 1, size a multiple of 32)',
      ],
    ] as const
  ).find(([bad]) => bad)?.[1];
  if (problem !== undefined) {
    io.err(`lesionenc experiment: ${problem}\n${USAGE}`);
    return 2;
  }

  const bar = createProgressBar(io, tty);
  try {
    const backend = await initBackend({ backend: values.backend as BackendName });
    const encodedDir = join(values.out!, 'encoded');
    const indexes: Record<string, string | undefined> = {};
    const preEncoded =
      (await isEncodedIndex(values.train!)) && (await isEncodedIndex(values.test!));
    if (preEncoded) {
      indexes['train-le'] = values.train;
      indexes['test-le'] = values.test;
      indexes['train-generic'] = values['generic-train'];
      indexes['test-generic'] = values['generic-test'];
      if (indexes['train-generic'] === undefined || indexes['test-generic'] === undefined) {
        io.err(
          'note: no generic features given (--generic-train, --generic-test): BS_Pooling and BS_RNN are left out',
        );
      }
    }
    for (const [kind, weights] of preEncoded
      ? []
      : ([
          ['le', values.weights ?? 'shipped'],
          ['generic', values['generic-weights'] ?? null],
        ] as const)) {
      const encoder = await createLesionEncoder({
        lesionWeights: weights,
        // The generic baselines use features only: the decoder's labels would mean nothing.
        featuresOnly: kind === 'generic',
        workers: numbers.workers,
        unet: { inputSizePx: [numbers.size, numbers.size] },
      });
      try {
        for (const [split, manifest] of [
          ['train', values.train!],
          ['test', values.test!],
        ] as const) {
          const result = await encodeCohort(manifest, {
            encoder,
            outDir: join(encodedDir, `${split}-${kind}`),
            onProgress: bar.onProgress,
          });
          bar.finish();
          if (result.failed.length > 0) {
            for (const f of result.failed)
              io.err(`failed: ${f.patient}/${f.scan}: ${f.message} [${f.code}]`);
            io.err(
              `lesionenc experiment: ${result.failed.length} scans of ${manifest} could not be encoded`,
            );
            return 1;
          }
          indexes[`${split}-${kind}`] = result.index;
        }
      } finally {
        await encoder.dispose();
      }
    }
    if (!preEncoded && values['generic-weights'] === undefined) {
      io.err(
        'note: the generic baselines use an encoder never trained on lesions (no converted ImageNet weights given)',
      );
    }
    const result = await runExperiment(
      {
        trainIndex: indexes['train-le']!,
        testIndex: indexes['test-le']!,
        ...(indexes['train-generic'] === undefined || indexes['test-generic'] === undefined
          ? {}
          : {
              genericTrainIndex: indexes['train-generic'],
              genericTestIndex: indexes['test-generic'],
            }),
        tasks: tasks[values.task]!,
        icaComponents: numbers.components,
        epochs: numbers.epochs,
        bootstrap: numbers.bootstrap,
        seed: numbers.seed,
        sliceSpacingMm,
        sliceLesionShares: values['slice-lesion-shares'],
        training: { validationFraction, reselectEvery, learningRate },
        outDir: values.out!,
        ...(values['save-models'] === undefined ? {} : { modelsDir: values['save-models'] }),
      },
      { onProgress: bar.onProgress },
    );
    bar.finish();
    if (values.json) {
      io.out(JSON.stringify(result, null, 2));
    } else {
      for (const [task, methods] of Object.entries(result)) {
        io.out(`${task}:`);
        for (const [method, r] of Object.entries(methods ?? {})) {
          io.out(
            `  ${method.padEnd(14)} AUC ${r.auc.toFixed(3)} [${r.ci95?.auc.map((v) => v.toFixed(3)).join(', ') ?? '-'}]` +
              `  sensitivity ${r.sensitivity.toFixed(3)}  specificity ${r.specificity.toFixed(3)}  accuracy ${r.accuracy.toFixed(3)}` +
              (r.pValueVsLeRnn === null ? '' : `  p vs LE_RNN ${r.pValueVsLeRnn.toFixed(3)}`),
          );
        }
      }
      io.out(`reports in ${values.out} (${backend.name})`);
    }
    return 0;
  } catch (error) {
    bar.finish();
    if (isLesionEncError(error)) {
      io.err(`lesionenc experiment: ${error.message} [${error.code}]`);
      return 1;
    }
    throw error;
  }
}
