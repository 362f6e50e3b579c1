// `lesionenc encode-cohort` on a two-patient synthetic cohort, and its progress bar.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { simulateCohort, writeCohort } from '@lesionenc/phantom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createProgressBar } from '../progress';
import { capture } from '../testing/capture';
import { runEncodeCohort } from './encode-cohort';

const directory = mkdtempSync(join(tmpdir(), 'lesionenc-cli-cohort-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('lesionenc encode-cohort', () => {
  let manifest: string;
  let scans: number;
  beforeAll(async () => {
    const written = await writeCohort(
      simulateCohort({ seed: 5, patients: 2, matrix: 64 }),
      join(directory, 'cohort'),
    );
    manifest = written.manifestCsv;
    scans = written.rows.length;
  });

  it('encodes every scan with the generic encoder and reports progress', async () => {
    const out = join(directory, 'out');
    const { io, out: text, err } = capture();
    const code = await runEncodeCohort(
      [manifest, '--out', out, '--generic', '--size', '64', '--backend', 'wasm', '--json'],
      io,
      false,
    );
    expect(code).toBe(0);
    const summary = JSON.parse(text.join('')) as {
      encoded: number;
      weights: string | null;
      featuresOnly: boolean;
    };
    expect(summary.encoded).toBe(scans);
    expect(summary.weights).toBeNull();
    // The generic encoder runs without its decoder: features, no lesion volumetrics.
    expect(summary.featuresOnly).toBe(true);
    expect(existsSync(join(out, 'index.json'))).toBe(true);
    expect(existsSync(join(out, 'volumetrics.csv'))).toBe(false);
    expect(err.join('')).toMatch(/encode-cohort \[#{30}\] 100%/);
  });

  it('exits 2 on usage errors and 1 for a missing manifest', async () => {
    const { io, err } = capture();
    expect(await runEncodeCohort([manifest], io, false)).toBe(2);
    expect(
      await runEncodeCohort(
        [manifest, '--out', directory, '--generic', '--weights', 'w'],
        io,
        false,
      ),
    ).toBe(2);
    expect(
      await runEncodeCohort([join(directory, 'none.json'), '--out', directory], io, false),
    ).toBe(1);
    expect(err.join('\n')).toMatch(/FILE_NOT_FOUND/);
  });
});

describe('createProgressBar', () => {
  it('redraws in place on a terminal and prints one line per tenth otherwise', () => {
    const tty = capture();
    const bar = createProgressBar(tty.io, true);
    bar.onProgress({ stage: 's', status: 'progress', fraction: 0.5, completed: 1, total: 2 });
    bar.finish();
    expect(tty.err[0]).toBe(`\rs [${'#'.repeat(15)}${'.'.repeat(15)}] 50% 1/2\u001b[K`);
    expect(tty.err[1]).toBe('\n');

    const log = capture();
    const lines = createProgressBar(log.io, false);
    for (let i = 1; i <= 100; i++)
      lines.onProgress({ stage: 's', status: 'progress', fraction: i / 100 });
    // 1 % to 100 %: the tenths 0 to 10.
    expect(log.err).toHaveLength(11);
  });
});
