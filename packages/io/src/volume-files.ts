// Reads a CT volume from files held in memory or behind the File API (what a browser page gets
// from a drop or a folder picker), with no file system: the same formats as `readVolume`.
import { type CtVolume, LesionEncError } from '@lesionenc/base';

import {
  type DicomSeriesOptions,
  type DicomSeriesResult,
  type DicomSource,
  loadDicomSeries,
} from './dicom-series';
import { decodeNifti, niftiImageToVolume, type NiftiImage } from './nifti';
import { decodeSliceImage } from './slice-image';

/** The formats {@link readVolumeFromFiles} and `readVolume` recognise. */
export type VolumeFormat = 'dicom' | 'nifti' | 'png' | 'jpeg';

/** Options of {@link readVolumeFromFiles} and `readVolume`. */
export interface ReadVolumeOptions {
  /** For DICOM input. */
  dicom?: DicomSeriesOptions;
  /** Pixel size `[row, column]` for PNG/JPG slices, mm. @defaultValue `[1, 1]` */
  pixelSpacingMm?: readonly [number, number];
}

/** What {@link readVolumeFromFiles} and `readVolume` found. */
export interface ReadVolumeResult {
  readonly volume: CtVolume;
  readonly format: VolumeFormat;
  /** The series, skipped files and warnings, for DICOM input. */
  readonly dicom?: DicomSeriesResult;
  /** The header and source orientation, for NIfTI input. */
  readonly nifti?: NiftiImage;
}

/**
 * A file as the File API gives it: a browser `File`, Node's `File`, or any object with a name, a
 * size and the two read methods. Only the parts that are needed are read.
 */
export interface FileLike {
  /** The file's name or relative path, named in errors and in the DICOM series summary. */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  arrayBuffer(): Promise<ArrayBuffer>;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

// The attributes before Pixel Data nearly always fit in this many bytes; larger headers are read
// whole by the series reader.
const HEADER_PREFIX_BYTES = 64 * 1024;
// Bytes sniffFormat looks at.
const SNIFF_BYTES = 132;

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
 * Decodes the whole bytes of one NIfTI, PNG or JPEG file (DICOM goes through the series reader).
 *
 * @param bytes - The file.
 * @param format - What {@link sniffFormat} said.
 * @param options - Slice pixel size.
 * @param file - Named in errors.
 * @returns The volume and its format, or undefined for a format this function does not decode.
 */
export async function decodeVolumeBytes(
  bytes: Uint8Array,
  format: VolumeFormat | undefined,
  options: ReadVolumeOptions,
  file: string,
): Promise<ReadVolumeResult | undefined> {
  if (format === 'nifti') {
    const nifti = decodeNifti(bytes, { file });
    return Object.freeze({ volume: niftiImageToVolume(nifti, file), format, nifti });
  }
  if (format === 'png' || format === 'jpeg') {
    const volume = await decodeSliceImage(bytes, {
      file,
      ...(options.pixelSpacingMm === undefined ? {} : { pixelSpacingMm: options.pixelSpacingMm }),
    });
    return Object.freeze({ volume, format });
  }
  return undefined;
}

async function readPart(file: FileLike, start: number, end: number): Promise<Uint8Array> {
  return new Uint8Array(await file.slice(start, end).arrayBuffer());
}

/**
 * Wraps File API objects as sources for the DICOM series reader: headers are read from a prefix
 * of each file and native pixel data straight from its range, so a folder of hundreds of files
 * is never held in memory twice.
 *
 * @param files - The files.
 * @returns One source per file, in the order given.
 */
export function dicomSourcesFromFiles(files: readonly FileLike[]): DicomSource[] {
  return files.map((file) => ({
    name: file.name,
    size: file.size,
    headerBytes: () => readPart(file, 0, Math.min(file.size, HEADER_PREFIX_BYTES)),
    bytes: async () => new Uint8Array(await file.arrayBuffer()),
    readAt: async (position: number, target: Uint8Array) => {
      const part = await readPart(file, position, position + target.length);
      target.set(part);
      return part.length;
    },
  }));
}

/**
 * Reads a CT volume from files without a file system (a browser's dropped files, or files already
 * in memory): one NIfTI (`.nii`, `.nii.gz`), DICOM, PNG or JPEG file, told apart by content, or
 * several files read as a DICOM series (files that are not DICOM images are skipped and listed).
 * The result has the canonical `[slices, rows, columns]` LPS layout, as `readVolume` gives.
 *
 * @param files - One file, or the files of a DICOM folder.
 * @param options - DICOM options and slice pixel size.
 * @returns The volume, its format, and the format's details.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for no files, `CORRUPT_FILE` for an empty
 * file, `UNSUPPORTED_FORMAT` for a file of another format, and the errors of the format's reader.
 * @example
 * ```ts
 * input.onchange = async () => {
 *   const { volume, format } = await readVolumeFromFiles([...input.files!]);
 * };
 * ```
 */
export async function readVolumeFromFiles(
  files: readonly FileLike[],
  options: ReadVolumeOptions = {},
): Promise<ReadVolumeResult> {
  if (files.length === 0) {
    throw new LesionEncError('INVALID_ARGUMENT', 'files: expected at least one file, got none');
  }
  if (files.length > 1) {
    const dicom = await loadDicomSeries(dicomSourcesFromFiles(files), options.dicom);
    return Object.freeze({ volume: dicom.volume, format: 'dicom' as const, dicom });
  }

  const file = files[0]!;
  if (file.size === 0) {
    throw new LesionEncError('CORRUPT_FILE', 'file: expected data, got 0 bytes', {
      file: file.name,
    });
  }
  const format = sniffFormat(await readPart(file, 0, Math.min(file.size, SNIFF_BYTES)));
  if (format === 'dicom') {
    const dicom = await loadDicomSeries(dicomSourcesFromFiles([file]), options.dicom);
    return Object.freeze({ volume: dicom.volume, format, dicom });
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  const decoded = await decodeVolumeBytes(bytes, format, options, file.name);
  if (decoded !== undefined) return decoded;
  throw new LesionEncError(
    'UNSUPPORTED_FORMAT',
    `format: expected a DICOM, NIfTI (.nii, .nii.gz), PNG or JPEG file, got none of these (${file.size} bytes)`,
    { file: file.name },
  );
}
