// The example runs end to end at a tiny size: data drawn, one training step from the shipped
// weights, the model saved, loaded back and scored, the pictures written. Runs the built
// packages.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));
const tsx = join(here, '..', '..', 'node_modules', '.bin', 'tsx');
const out = mkdtempSync(join(tmpdir(), 'lesionenc-custom-lesion-task-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('examples/custom-lesion-task', () => {
  it('fine-tunes, saves a model with the new classes, and scores it on held-out slices', async () => {
    const { stdout } = await promisify(execFile)(
      tsx,
      [
        'index.ts',
        ...['--out', out, '--train-phantoms', '1', '--epochs', '1', '--steps', '1'],
        ...['--batch', '2'],
      ],
      { cwd: here, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stdout).toMatch(/weights copied, 2 left to train anew \(final_conv\/kernel/);
    expect(stdout).toMatch(/test Dice: solid_nodule /);
    const model = JSON.parse(readFileSync(join(out, 'model', 'weights.json'), 'utf8')) as {
      config: { classes: string[] };
    };
    expect(model.config.classes).toEqual(['background', 'solid_nodule', 'ground_glass_nodule']);
    for (const file of ['model/weights.bin', 'truth.png', 'prediction.png', 'result.json']) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as {
      test: { perClass: (number | null)[] };
    };
    expect(result.test.perClass).toHaveLength(3);
  });
});
