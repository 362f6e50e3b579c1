// The trainer's file access: Node's (atomic writes, appends) and the browser twin, which refuses.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { isLesionEncError } from '@lesionenc/base';
import { afterAll, describe, expect, it } from 'vitest';

import { trainerFiles } from './files';
import { trainerFiles as browserTrainerFiles } from './files.browser';

describe('trainer files', () => {
  const folder = mkdtempSync(join(tmpdir(), 'lesionenc-trainer-files-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('writes atomically, appends, and reads back under Node', async () => {
    const files = await trainerFiles();
    const dir = join(folder, 'checkpoints', 'last');
    await files.makeDirectory(dir);
    await files.writeAtomic(join(dir, 'weights.bin'), new Uint8Array([1, 2, 3, 250]));
    await files.writeAtomic(join(dir, 'state.json'), '{"epoch":3}');
    await files.appendText(join(folder, 'log.jsonl'), 'a\n');
    await files.appendText(join(folder, 'log.jsonl'), 'b\n');
    expect(Array.from(await files.readBytes(join(dir, 'weights.bin')))).toEqual([1, 2, 3, 250]);
    expect(await files.readText(join(dir, 'state.json'))).toBe('{"epoch":3}');
    expect(await files.readText(join(folder, 'log.jsonl'))).toBe('a\nb\n');
    // No temporary file is left beside the results.
    expect(readdirSync(dir).sort()).toEqual(['state.json', 'weights.bin']);
  });

  it('is refused in a browser build with INVALID_ARGUMENT', async () => {
    const error = await browserTrainerFiles().catch((e: unknown) => e);
    expect(isLesionEncError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message).toMatch(/checkpointDir and logPath: expected Node\.js/);
  });
});
