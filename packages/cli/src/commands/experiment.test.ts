// `lesionenc experiment` on encoded cohorts made in code (the encoding path is the one of
// encode-cohort, tested there).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeEncodedCohort } from '../../../core/src/testing/encoded-cohort';
import { capture } from '../testing/capture';
import { runExperimentCommand } from './experiment';

const directory = mkdtempSync(join(tmpdir(), 'lesionenc-cli-experiment-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('lesionenc experiment', () => {
  let train: string;
  let test: string;
  beforeAll(async () => {
    train = await writeEncodedCohort(join(directory, 'A'), 30, 1);
    test = await writeEncodedCohort(join(directory, 'B'), 20, 2);
  });
  // The encoded cohorts and a report folder.
  const cohorts = (out: string) => ['--train', train, '--test', test, '--out', out];
  // A short severity run on them: 4 ICA components, 20 bootstrap resamples, wasm.
  const quickSeverity = (out: string, epochs: number) => [
    ...cohorts(out),
    ...['--task', 'severity', '--epochs', String(epochs), '--components', '4'],
    ...['--bootstrap', '20', '--backend', 'wasm'],
  ];

  it('trains and reports every method on encoded cohorts, the JSON the issue asks for', async () => {
    const out = join(directory, 'report');
    const { io, out: text } = capture();
    const args = [
      '--train',
      train,
      '--test',
      test,
      '--generic-train',
      train,
      '--generic-test',
      test,
      '--out',
      out,
      '--epochs',
      '3',
      '--components',
      '4',
      '--bootstrap',
      '50',
      '--backend',
      'wasm',
      '--json',
    ];
    expect(await runExperimentCommand(args, io, false)).toBe(0);
    const result = JSON.parse(text.join('')) as Record<
      string,
      Record<
        string,
        { auc: number; sensitivity: number; specificity: number; accuracy: number; ci95: unknown }
      >
    >;
    expect(Object.keys(result).sort()).toEqual(['progression', 'severity']);
    expect(Object.keys(result.severity!).sort()).toEqual([
      'BS_Pooling',
      'BS_RNN',
      'BS_Volumetric',
      'LE_Pooling',
      'LE_RNN',
    ]);
    for (const r of Object.values(result.severity!)) {
      expect(Object.keys(r)).toEqual(
        expect.arrayContaining(['auc', 'sensitivity', 'specificity', 'accuracy', 'ci95']),
      );
    }
    for (const file of ['severity.json', 'progression.md', 'severity-roc.svg', 'results.json']) {
      expect(existsSync(join(out, file))).toBe(true);
    }
  });

  it('leaves out the generic baselines without generic features, and says so', async () => {
    const { io, out: text, err } = capture();
    const args = [...quickSeverity(join(directory, 'le'), 1), '--json'];
    expect(await runExperimentCommand(args, io, false)).toBe(0);
    expect(Object.keys((JSON.parse(text.join('')) as { severity: object }).severity)).toHaveLength(
      3,
    );
    expect(err.join('')).toMatch(/BS_Pooling and BS_RNN are left out/);
  });

  it('exits 2 without the cohorts or with a bad option, and says which', async () => {
    const cohorts = ['--train', 'a', '--test', 'b', '--out', 'c'];
    for (const [args, message] of [
      [['--out', directory], /--train, --test and --out are required/],
      [[...cohorts, '--task', 'x'], /--task: expected severity, progression or both, got x/],
      [
        [...cohorts, '--slice-spacing', '0'],
        /--slice-spacing: expected auto, none or a spacing in mm, got 0/,
      ],
      [
        [...cohorts, '--validation-fraction', '1'],
        /--validation-fraction: expected a fraction in \[0, 1\), got 1/,
      ],
      [
        [...cohorts, '--reselect-every', '0'],
        /--reselect-every: expected a whole number of epochs >= 1, got 0/,
      ],
      [[...cohorts, '--learning-rate', '0'], /--learning-rate: expected a positive number, got 0/],
    ] as const) {
      const { io, err } = capture();
      expect(await runExperimentCommand([...args], io, false)).toBe(2);
      expect(err.join('')).toMatch(message);
    }
  });

  it('passes the training settings to the classifiers and records them', async () => {
    const models = join(directory, 'models');
    const { io } = capture();
    const args = [
      ...quickSeverity(join(directory, 'fixed-split'), 4),
      '--validation-fraction',
      '0.25',
      '--reselect-every',
      '4',
      '--learning-rate',
      '0.003',
      '--save-models',
      models,
      '--json',
    ];
    expect(await runExperimentCommand(args, io, false)).toBe(0);
    const described = JSON.parse(readFileSync(join(models, 'models.json'), 'utf8')) as {
      training: Record<string, unknown>;
    };
    expect(described.training).toMatchObject({
      epochs: 4,
      validationFraction: 0.25,
      reselectEvery: 4,
      learningRate: 0.003,
      seed: 0,
    });
  });
});
