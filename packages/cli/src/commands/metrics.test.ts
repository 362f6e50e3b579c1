// `lesionenc metrics` end to end on JSON and .npy files: output, exit codes and error lines.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { writeNpy } from '@lesionenc/io';
import { afterAll, describe, expect, it } from 'vitest';

import { capture } from '../testing/capture';
import { runMetrics } from './metrics';

/** Agreement of the printed numbers with scikit-learn (JSON keeps every digit). */
const SKLEARN_TOLERANCE = 1e-12;

interface Fixture {
  binary: {
    name: string;
    labels: number[];
    scores: number[];
    auc: number;
    roc: { fpr: number[]; tpr: number[]; thresholds: number[] };
    at_threshold: {
      threshold: number;
      sensitivity: number;
      specificity: number;
      accuracy: number;
    }[];
  }[];
}
const fixture = JSON.parse(
  readFileSync(new URL('../../../metrics/fixtures/metrics-fixtures.json', import.meta.url), 'utf8'),
) as Fixture;

const directory = mkdtempSync(join(tmpdir(), 'lesionenc-cli-metrics-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function writeText(name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}

function writeJson(name: string, value: unknown): string {
  const path = join(directory, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

const maxDiff = (a: number[], b: number[]) =>
  a.length !== b.length ? Infinity : Math.max(...a.map((v, i) => Math.abs(v - (b[i] as number))));

describe('lesionenc metrics', () => {
  const ties = fixture.binary.find((b) => b.name === 'ties');
  if (ties === undefined) throw new Error('fixture missing');
  const labelsJson = writeJson('y.json', ties.labels);
  const scoresJson = writeJson('s.json', ties.scores);

  it('prints the JSON summary, equal to scikit-learn', async () => {
    const run = capture();
    const code = await runMetrics(
      ['--labels', labelsJson, '--scores', scoresJson, '--json', '--bootstrap', '300'],
      run.io,
    );
    expect(code).toBe(0);
    const result = JSON.parse(run.out.join('')) as {
      auc: number;
      sensitivity: number;
      specificity: number;
      accuracy: number;
      threshold: number;
      roc: { fpr: number[]; tpr: number[]; thresholds: number[] };
      ci95: { auc: [number, number] };
    };
    const at = ties.at_threshold.find((t) => t.threshold === 0.5);
    if (at === undefined) throw new Error('fixture threshold missing');
    expect(Math.abs(result.auc - ties.auc)).toBeLessThanOrEqual(SKLEARN_TOLERANCE);
    expect(result.threshold).toBe(0.5);
    expect(Math.abs(result.sensitivity - at.sensitivity)).toBeLessThanOrEqual(SKLEARN_TOLERANCE);
    expect(Math.abs(result.specificity - at.specificity)).toBeLessThanOrEqual(SKLEARN_TOLERANCE);
    expect(Math.abs(result.accuracy - at.accuracy)).toBeLessThanOrEqual(SKLEARN_TOLERANCE);
    expect(maxDiff(result.roc.fpr, ties.roc.fpr)).toBeLessThanOrEqual(SKLEARN_TOLERANCE);
    expect(maxDiff(result.roc.tpr, ties.roc.tpr)).toBeLessThanOrEqual(SKLEARN_TOLERANCE);
    expect(maxDiff(result.roc.thresholds, ties.roc.thresholds)).toBeLessThanOrEqual(
      SKLEARN_TOLERANCE,
    );
    const [lo, hi] = result.ci95.auc;
    expect(lo).toBeLessThan(result.auc);
    expect(hi).toBeGreaterThan(result.auc);
    expect(hi).toBeLessThanOrEqual(1);
  });

  it('reads .npy labels and scores and honours --threshold', async () => {
    const c = fixture.binary.find((b) => b.name === 'rare-positives');
    if (c === undefined) throw new Error('fixture missing');
    const y = join(directory, 'y.npy');
    const s = join(directory, 's.npy');
    await writeNpy(y, { data: Uint8Array.from(c.labels), shape: [c.labels.length] });
    await writeNpy(s, { data: Float64Array.from(c.scores), shape: [c.scores.length, 1] });
    const run = capture();
    expect(
      await runMetrics(
        ['--labels', y, '--scores', s, '--threshold', '0.3', '--bootstrap', '0', '--json'],
        run.io,
      ),
    ).toBe(0);
    const result = JSON.parse(run.out.join('')) as { auc: number; sensitivity: number; ci95: null };
    const at = c.at_threshold.find((t) => t.threshold === 0.3);
    expect(Math.abs(result.auc - c.auc)).toBeLessThanOrEqual(SKLEARN_TOLERANCE);
    expect(Math.abs(result.sensitivity - (at?.sensitivity ?? Number.NaN))).toBeLessThanOrEqual(
      SKLEARN_TOLERANCE,
    );
    expect(result.ci95).toBeNull();
  });

  it('prints a readable summary and writes the ROC figure atomically', async () => {
    const svg = join(directory, 'roc.svg');
    const run = capture();
    expect(
      await runMetrics(
        ['--labels', labelsJson, '--scores', scoresJson, '--bootstrap', '200', '--svg', svg],
        run.io,
      ),
    ).toBe(0);
    const text = run.out.join('\n');
    expect(text).toContain(`AUC ${ties.auc.toFixed(3)} (95% CI`);
    expect(text).toMatch(/at threshold 0\.5: sensitivity \d\.\d{3}/);
    expect(text).toMatch(/Youden's J: threshold/);
    const figure = readFileSync(svg, 'utf8');
    expect(figure.startsWith('<?xml')).toBe(true);
    expect(figure.match(/class="roc-curve"/g)?.length).toBe(1);
    expect(readdirSync(directory).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a patient-level bootstrap reads the ids', async () => {
    const ids = writeJson(
      'ids.json',
      ties.labels.map((_, i) => `p${Math.floor(i / 2)}`),
    );
    const run = capture();
    expect(
      await runMetrics(
        [
          '--labels',
          labelsJson,
          '--scores',
          scoresJson,
          '--patients',
          ids,
          '--bootstrap',
          '100',
          '--json',
        ],
        run.io,
      ),
    ).toBe(0);
    const result = JSON.parse(run.out.join('')) as { bootstrap: { units: number } };
    expect(result.bootstrap.units).toBe(ties.labels.length / 2);
  });

  it.each([
    [
      'a missing file',
      () => [join(directory, 'none.json'), scoresJson],
      'none.json',
      'FILE_NOT_FOUND',
    ],
    [
      'invalid JSON',
      () => [writeText('bad.json', '[0, 1,'), scoresJson],
      'bad.json',
      'CORRUPT_FILE',
    ],
    [
      'one class only',
      () => [
        writeJson(
          'ones.json',
          ties.labels.map(() => 1),
        ),
        scoresJson,
      ],
      'ones.json',
      'DEGENERATE_INPUT',
    ],
    [
      'a length mismatch',
      () => [labelsJson, writeJson('short.json', ties.scores.slice(1))],
      'short.json',
      'SHAPE_MISMATCH',
    ],
    [
      'a label 2',
      () => [
        writeJson(
          'two.json',
          ties.labels.map(() => 2),
        ),
        scoresJson,
      ],
      'two.json',
      'INVALID_ARGUMENT',
    ],
    [
      'a string score',
      () => [
        labelsJson,
        writeJson(
          'str.json',
          ties.scores.map((s, i) => (i === 3 ? 'x' : s)),
        ),
      ],
      'str.json',
      'CORRUPT_FILE',
    ],
  ])('%s exits 1 with one line naming the file', async (_name, files, named, code) => {
    const [labels, scores] = files();
    const run = capture();
    expect(
      await runMetrics(
        ['--labels', labels as string, '--scores', scores as string, '--bootstrap', '0'],
        run.io,
      ),
    ).toBe(1);
    expect(run.err.length).toBe(1);
    expect(run.err[0]).not.toContain('\n');
    expect(run.err[0]).toContain(named);
    expect(run.err[0]).toContain(`[${code}]`);
  });

  it('NaN scores in a .npy exit 1 naming the file', async () => {
    const s = join(directory, 'nan.npy');
    const data = Float32Array.from(ties.scores);
    data[5] = Number.NaN;
    await writeNpy(s, { data, shape: [data.length] });
    const run = capture();
    expect(await runMetrics(['--labels', labelsJson, '--scores', s], run.io)).toBe(1);
    expect(run.err[0]).toContain('nan.npy');
    expect(run.err[0]).toContain('[INVALID_ARGUMENT]');
  });

  it.each([
    ['no arguments', []],
    ['no scores', ['--labels', 'y.json']],
    ['a bad threshold', ['--labels', 'y.json', '--scores', 's.json', '--threshold', 'high']],
    ['a negative bootstrap', ['--labels', 'y.json', '--scores', 's.json', '--bootstrap', '-1']],
    ['an unknown option', ['--labels', 'y.json', '--scores', 's.json', '--colour']],
  ])('%s exits 2 with the usage', async (_name, args) => {
    const run = capture();
    expect(await runMetrics(args, run.io)).toBe(2);
    expect(run.err.join('\n')).toContain('Usage:');
  });
});
