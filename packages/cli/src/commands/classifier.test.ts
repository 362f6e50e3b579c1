// `lesionenc classifier train` and `predict` end to end for the three model kinds.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createRandom } from '@lesionenc/base';
import { writeNpy } from '@lesionenc/io';
import { afterAll, describe, expect, it } from 'vitest';

import { capture } from '../testing/capture';
import { runClassifier } from './classifier';

const directory = mkdtempSync(join(tmpdir(), 'lesionenc-cli-classifier-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const random = createRandom(5);
const SCANS = 24;
const labels = Array.from({ length: SCANS }, (_, i) => i % 2);
writeFileSync(join(directory, 'y.json'), JSON.stringify({ labels }));

describe('lesionenc classifier', () => {
  it.each(['pooling', 'rnn'] as const)('trains and predicts a %s model', async (kind) => {
    const steps = 6;
    const features = new Float32Array(SCANS * steps * 3);
    const lengths = Int32Array.from({ length: SCANS }, (_, i) => 3 + (i % 4));
    for (let i = 0; i < SCANS; i++) {
      for (let t = 0; t < (lengths[i] as number); t++) {
        for (let f = 0; f < 3; f++)
          features[(i * steps + t) * 3 + f] = random.normal(labels[i] ?? 0, 1);
      }
    }
    const x = join(directory, `${kind}-x.npy`);
    const l = join(directory, `${kind}-l.npy`);
    await writeNpy(x, { data: features, shape: [SCANS, steps, 3] });
    await writeNpy(l, { data: lengths, shape: [SCANS] });
    const modelDir = join(directory, `${kind}-model`);
    const trained = capture();
    const code = await runClassifier(
      [
        'train',
        '--model',
        kind,
        '--features',
        x,
        '--lengths',
        l,
        '--labels',
        join(directory, 'y.json'),
        '--epochs',
        '2',
        '--backend',
        'cpu',
        '--out',
        modelDir,
      ],
      trained.io,
    );
    expect(code).toBe(0);
    expect(trained.err.filter((line) => line.startsWith('epoch'))).toHaveLength(2);
    const scoresPath = join(directory, `${kind}-scores.json`);
    const predicted = capture();
    expect(
      await runClassifier(
        [
          'predict',
          '--model',
          modelDir,
          '--features',
          x,
          '--lengths',
          l,
          '--backend',
          'cpu',
          '--out',
          scoresPath,
        ],
        predicted.io,
      ),
    ).toBe(0);
    const { scores } = JSON.parse(readFileSync(scoresPath, 'utf8')) as { scores: number[] };
    expect(scores).toHaveLength(SCANS);
    expect(scores.every((s) => s > 0 && s < 1)).toBe(true);
    const log = JSON.parse(readFileSync(join(modelDir, 'classifier.json'), 'utf8')) as {
      trainingLog: unknown[];
    };
    expect(log.trainingLog).toHaveLength(2);
  });

  it('trains and predicts the volumetric baseline', async () => {
    const x = new Float64Array(SCANS * 4);
    for (let i = 0; i < SCANS; i++)
      for (let f = 0; f < 4; f++) x[i * 4 + f] = random.normal(2 * (labels[i] ?? 0), 1);
    const xPath = join(directory, 'vol.npy');
    await writeNpy(xPath, { data: x, shape: [SCANS, 4] });
    const modelDir = join(directory, 'vol-model');
    const io = capture().io;
    expect(
      await runClassifier(
        [
          'train',
          '--model',
          'volumetric',
          '--features',
          xPath,
          '--labels',
          join(directory, 'y.json'),
          '--out',
          modelDir,
        ],
        io,
      ),
    ).toBe(0);
    const scoresPath = join(directory, 'vol-scores.json');
    expect(
      await runClassifier(
        ['predict', '--model', modelDir, '--features', xPath, '--out', scoresPath],
        io,
      ),
    ).toBe(0);
    const { scores } = JSON.parse(readFileSync(scoresPath, 'utf8')) as { scores: number[] };
    const meanOf = (cls: number) => {
      const picked = scores.filter((_, i) => labels[i] === cls);
      return picked.reduce((s, v) => s + v, 0) / picked.length;
    };
    expect(meanOf(1)).toBeGreaterThan(meanOf(0));
  });

  it('rejects wrong label counts with exit code 1 and bad usage with 2', async () => {
    const xPath = join(directory, 'short.npy');
    await writeNpy(xPath, { data: new Float64Array(8), shape: [2, 4] });
    const bad = capture();
    expect(
      await runClassifier(
        [
          'train',
          '--model',
          'volumetric',
          '--features',
          xPath,
          '--labels',
          join(directory, 'y.json'),
          '--out',
          join(directory, 'x'),
        ],
        bad.io,
      ),
    ).toBe(1);
    expect(bad.err.join('\n')).toMatch(/expected 2 labels/);
    expect(
      await runClassifier(
        ['train', '--model', 'svm', '--features', xPath, '--labels', 'y', '--out', 'o'],
        capture().io,
      ),
    ).toBe(2);
    expect(await runClassifier([], capture().io)).toBe(2);
  });
});
