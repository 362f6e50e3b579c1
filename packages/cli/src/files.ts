// Output files of the commands: written whole under a temporary name, then renamed.
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { LesionEncError } from '@lesionenc/core';

/**
 * Writes a file atomically: a crash never leaves half of it under its name.
 *
 * @param path - The target.
 * @param data - Text or bytes.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` naming the file when it cannot be written.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, data);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `output: expected a writable path, got ${(error as NodeJS.ErrnoException).code ?? 'an error'}`,
      { file: path, cause: error },
    );
  }
}
