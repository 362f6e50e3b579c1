// Node-only file access: reading with typed errors and writing atomically (temp name + rename).
import { randomBytes } from 'node:crypto';
import { close, open, read } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { LesionEncError } from '@lesionenc/base';

/**
 * Reads a whole file, mapping the file system's errors to typed ones.
 *
 * @param path - The file.
 * @returns Its bytes.
 * @throws {@link LesionEncError} `FILE_NOT_FOUND` when it does not exist or is a folder,
 * `CORRUPT_FILE` when it is empty, `INVALID_ARGUMENT` for another read failure.
 */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw readError(path, error);
  }
  if (bytes.length === 0) {
    throw new LesionEncError('CORRUPT_FILE', 'file: expected data, got 0 bytes', { file: path });
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Reads part of a file into `target`, from byte `position` on, as far as the file goes.
 *
 * @param path - The file.
 * @param position - Where to start, in bytes.
 * @param target - Filled from its start.
 * @returns How many bytes were read: `target.length`, or fewer at the end of the file.
 * @throws {@link LesionEncError} as {@link readFileBytes}, except that an empty file is not one.
 */
export async function readFileRange(
  path: string,
  position: number,
  target: Uint8Array,
): Promise<number> {
  let filled = 0;
  try {
    const fd = await openFd(path);
    try {
      // One read nearly always fills the target; a short read before the end asks again.
      while (filled < target.length) {
        const bytesRead = await readFd(fd, target, filled, position + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
    } finally {
      await closeFd(fd);
    }
  } catch (error) {
    throw readError(path, error);
  }
  return filled;
}

// Plain descriptors rather than FileHandle objects: a range read of a series opens hundreds of
// files, and the callback API costs measurably less per call (see packages/io/bench).
function openFd(path: string): Promise<number> {
  return new Promise((resolve, reject) =>
    open(path, 'r', (error, fd) => (error === null ? resolve(fd) : reject(error))),
  );
}

function readFd(fd: number, target: Uint8Array, offset: number, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, target, offset, target.length - offset, position, (error, bytesRead) =>
      error === null ? resolve(bytesRead) : reject(error),
    ),
  );
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) =>
    close(fd, (error) => (error === null || error === undefined ? resolve() : reject(error))),
  );
}

function readError(path: string, error: unknown): LesionEncError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') {
    return new LesionEncError(
      'FILE_NOT_FOUND',
      `file: expected a readable file, got ${code === 'EISDIR' ? 'a folder' : 'nothing at this path'}`,
      { file: path, cause: error },
    );
  }
  return new LesionEncError(
    'INVALID_ARGUMENT',
    `file: expected a readable file, got ${code ?? 'an error'} (${(error as Error).message})`,
    { file: path, cause: error },
  );
}

/**
 * Writes bytes to a temporary name in the target's folder, then renames it into place, so a
 * crash never leaves a half-written file under the final name.
 *
 * @param path - The final file.
 * @param bytes - Its content.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` when the folder is not writable.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, bytes);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `write: expected a writable path, got ${(error as NodeJS.ErrnoException).code ?? 'an error'} ` +
        `(${(error as Error).message})`,
      { file: path, cause: error },
    );
  }
}

/** Whether a path is a folder (false when it does not exist). */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
