// Node file wrappers around the .npy codec.
import { readFileBytes, writeFileAtomic } from './internal/node-fs';
import { type NpyArray, decodeNpy, encodeNpy } from './npy';

/**
 * Reads a `.npy` file.
 *
 * @param path - The file.
 * @returns The array in C order.
 * @throws {@link LesionEncError} as {@link decodeNpy}, plus `FILE_NOT_FOUND`.
 */
export async function readNpy(path: string): Promise<NpyArray> {
  return decodeNpy(await readFileBytes(path), { file: path });
}

/**
 * Writes a `.npy` file atomically (temp name, then rename).
 *
 * @param path - The target file.
 * @param array - Data and shape.
 * @throws {@link LesionEncError} as {@link encodeNpy}, and `INVALID_ARGUMENT` when the path cannot
 * be written.
 */
export async function writeNpy(path: string, array: NpyArray): Promise<void> {
  await writeFileAtomic(path, encodeNpy(array));
}
