// One entry point for Node callers: a DICOM folder or file, a NIfTI file, or a PNG/JPG slice,
// told apart by content rather than by name.
import { open, stat } from 'node:fs/promises';

import { type CtVolume, LesionEncError } from '@lesionenc/base';

import { readDicomSeries } from './dicom-node';
import type { DicomSeriesOptions, DicomSeriesResult } from './dicom-series';
import { readFileBytes } from './internal/node-fs';
import { decodeNifti, niftiImageToVolume, type NiftiImage } from './nifti';
import { decodeSliceImage } from './slice-image';

/** The formats {@link readVolume} recognises. */
export type VolumeFormat = 'dicom' | 'nifti' | 'png' | 'jpeg';

/** Options of {@link readVolume}. */
export interface ReadVolumeOptions {
  /** For DICOM input. */
  dicom?: DicomSeriesOptions;
  /** Pixel size `[row, column]` for PNG/JPG slices, mm. @defaultValue `[1, 1]` */
  pixelSpacingMm?: readonly [number, number];
}

/** What {@link readVolume} found. */
export interface ReadVolumeResult {
  readonly volume: CtVolume;
  readonly format: VolumeFormat;
  /** The series, skipped files and warnings, for DICOM input. */
  readonly dicom?: DicomSeriesResult;
  /** The header and source orientation, for NIfTI input. */
  readonly nifti?: NiftiImage;
}

/**
 * Tells a file's format from its first bytes.
 *
 * @param head - At least the first 132 bytes when the file has them.
 * @returns The format, or undefined when none matches.
 */
export function sniffFormat(head: Uint8Array): VolumeFormat | undefined {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'nifti';
  if (head.length >= 4) {
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const size = [view.getInt32(0, true), view.getInt32(0, false)];
    if (size.includes(348) || size.includes(540)) return 'nifti';
  }
  if (
    head.length >= 132 &&
    head[128] === 0x44 &&
    head[129] === 0x49 &&
    head[130] === 0x43 &&
    head[131] === 0x4d
  ) {
    return 'dicom';
  }
  if (
    head.length >= 4 &&
    head[0] === 0x89 &&
    head[1] === 0x50 &&
    head[2] === 0x4e &&
    head[3] === 0x47
  )
    return 'png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  // A bare DICOM data set (no preamble) starts with a group 0008 tag.
  if (head.length >= 8 && head[0] === 0x08 && head[1] === 0x00) return 'dicom';
  return undefined;
}

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
  const bytes = await readFileBytes(path);
  if (format === 'nifti') {
    const nifti = decodeNifti(bytes, { file: path });
    return Object.freeze({ volume: niftiImageToVolume(nifti, path), format, nifti });
  }
  if (format === 'png' || format === 'jpeg') {
    const volume = await decodeSliceImage(bytes, {
      file: path,
      ...(options.pixelSpacingMm === undefined ? {} : { pixelSpacingMm: options.pixelSpacingMm }),
    });
    return Object.freeze({ volume, format });
  }
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
