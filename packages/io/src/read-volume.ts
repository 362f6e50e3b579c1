// One entry point for Node callers: a DICOM folder or file, a NIfTI file, or a PNG/JPG slice,
// told apart by content rather than by name.
import { open, stat } from 'node:fs/promises';

import { LesionEncError } from '@lesionenc/base';

import { readDicomSeries } from './dicom-node';
import { readFileBytes } from './internal/node-fs';
import {
  type ReadVolumeOptions,
  type ReadVolumeResult,
  decodeVolumeBytes,
  sniffFormat,
} from './volume-files';

export type { ReadVolumeOptions, ReadVolumeResult, VolumeFormat } from './volume-files';
export { sniffFormat } from './volume-files';

/**
 * Reads a CT volume from a DICOM folder, a DICOM file, a NIfTI file or a PNG/JPG slice into the
 * canonical `[slices, rows, columns]` LPS layout.
 *
 * @param path - A folder or a file.
 * @param options - DICOM options and slice pixel size.
 * @returns The volume, its format, and the format's details.
 * @throws {@link LesionEncError} `FILE_NOT_FOUND`, `UNSUPPORTED_FORMAT` for an unknown format,
 * and the errors of the format's reader; every message names the path.
 * @example
 * ```ts
 * const { volume, format } = await readVolume(process.argv[2]!);
 * ```
 */
export async function readVolume(
  path: string,
  options: ReadVolumeOptions = {},
): Promise<ReadVolumeResult> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new LesionEncError(
      'FILE_NOT_FOUND',
      'path: expected a file or a folder, got nothing at this path',
      {
        file: path,
        cause: error,
      },
    );
  }
  if (info.isDirectory()) {
    const dicom = await readDicomSeries(path, options.dicom);
    return Object.freeze({ volume: dicom.volume, format: 'dicom' as const, dicom });
  }
  const format = sniffFormat(await readHead(path));
  if (format === 'dicom') {
    const dicom = await readDicomSeries(path, options.dicom);
    return Object.freeze({ volume: dicom.volume, format, dicom });
  }
  const decoded = await decodeVolumeBytes(await readFileBytes(path), format, options, path);
  if (decoded !== undefined) return decoded;
  throw new LesionEncError(
    'UNSUPPORTED_FORMAT',
    `format: expected a DICOM folder or a DICOM, NIfTI (.nii, .nii.gz), PNG or JPEG file, got none of these (${info.size} bytes)`,
    { file: path },
  );
}

async function readHead(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(132);
    const { bytesRead } = await handle.read(buffer, 0, 132, 0);
    if (bytesRead === 0) {
      throw new LesionEncError('CORRUPT_FILE', 'file: expected data, got 0 bytes', { file: path });
    }
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
