// `lesionenc synth-cohort`: the cohort it writes is the simulator's, reproducible, and bad
// options are usage errors.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { simulateCohort } from '@lesionenc/phantom';
import { afterAll, describe, expect, it } from 'vitest';

import { capture } from '../testing/capture';
import { runSynthCohort } from './synth-cohort';

const directory = mkdtempSync(join(tmpdir(), 'lesionenc-cli-synth-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('lesionenc synth-cohort', () => {
  const options = ['--hospital', 'B', '--patients', '3', '--matrix', '64', '--seed', '7'];

  it('writes the simulated cohort with masks and manifests, the same each time', async () => {
    const first = join(directory, 'first');
    const { io, out, err } = capture();
    const code = await runSynthCohort([...options, '--out', first, '--json'], io, false);
    expect(code).toBe(0);
    const summary = JSON.parse(out.join('')) as { patients: number; scans: number };
    const expected = simulateCohort({ hospital: 'B', patients: 3, matrix: 64, seed: 7 });
    expect(summary.patients).toBe(3);
    expect(summary.scans).toBe(expected.patients.reduce((n, p) => n + p.scans.length, 0));
    const rows = readFileSync(join(first, 'manifest.csv'), 'utf8').trim().split('\n');
    expect(rows).toHaveLength(summary.scans + 1);
    const header = rows[0]!.split(',');
    for (const row of rows.slice(1)) {
      const cells = row.split(',');
      for (const column of ['file', 'lungFile', 'lesionFile']) {
        expect(existsSync(join(first, cells[header.indexOf(column)]!))).toBe(true);
      }
      expect(cells[header.indexOf('hospital')]).toBe('B');
    }
    expect(err.join('')).toMatch(/synth \[#{30}\] 100%/);

    const second = join(directory, 'second');
    expect(await runSynthCohort([...options, '--out', second], capture().io, false)).toBe(0);
    const file = rows[1]!.split(',')[header.indexOf('file')]!;
    expect(readFileSync(join(second, file)).equals(readFileSync(join(first, file)))).toBe(true);
    expect(readFileSync(join(second, 'manifest.csv'), 'utf8')).toBe(
      readFileSync(join(first, 'manifest.csv'), 'utf8'),
    );
  });

  it('exits 2 on bad options, naming them', async () => {
    const out = join(directory, 'bad');
    for (const [args, message] of [
      [[], /--out is required/],
      [['--out', out, '--hospital', 'C'], /--hospital/],
      [['--out', out, '--patients', '2.5'], /--patients/],
      [['--out', out, '--severe', '0.7'], /severePrevalence/],
    ] as const) {
      const { io, err } = capture();
      expect(await runSynthCohort([...args], io, false)).toBe(2);
      expect(err.join('')).toMatch(message);
    }
    expect(existsSync(out)).toBe(false);
  });
});
