// The example runs end to end at a tiny size: both hospitals drawn and encoded, both tasks
// trained and tested, the table printed and the reports written. Runs the built packages.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));
const tsx = join(here, '..', '..', 'node_modules', '.bin', 'tsx');
const out = mkdtempSync(join(tmpdir(), 'lesionenc-severity-study-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('examples/severity-study', () => {
  it('prints the table of both tasks for every method it trains', async () => {
    const { stdout } = await promisify(execFile)(
      tsx,
      [
        'index.ts',
        ...['--out', out, '--patients', '6', '--scan-length-mm', '40', '--epochs', '2'],
        ...['--components', '4', '--bootstrap', '20', '--workers', '1'],
      ],
      { cwd: here, maxBuffer: 16 * 1024 * 1024 },
    );
    for (const task of ['severity', 'progression']) {
      for (const method of ['BS_Volumetric', 'LE_Pooling', 'LE_RNN']) {
        expect(stdout).toMatch(new RegExp(`\\| ${task} \\| ${method} \\| [01]\\.\\d{3} \\[`));
      }
    }
    const results = JSON.parse(readFileSync(join(out, 'report', 'results.json'), 'utf8')) as {
      severity?: Record<string, { auc: number; patients: number }>;
    };
    expect(results.severity?.LE_RNN?.patients).toBe(6);
    expect(existsSync(join(out, 'encoded', 'B', 'index.json'))).toBe(true);
  });
});
