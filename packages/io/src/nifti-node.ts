// Node file wrappers around the NIfTI codec: read a volume or a mask, write atomically.
import type { CtVolume, LabelClass, LabelMap } from '@lesionenc/base';

import { readFileBytes, writeFileAtomic } from './internal/node-fs';
import {
  type EncodeNiftiOptions,
  type NiftiLabelOptions,
  decodeNifti,
  encodeNifti,
  niftiImageToLabels,
  niftiImageToVolume,
} from './nifti';

/**
 * Reads a `.nii` or `.nii.gz` CT volume into the canonical `[slices, rows, columns]` LPS layout.
 *
 * @param path - The file.
 * @returns The volume, unit `HU`, with the source orientation in its metadata.
 * @throws {@link LesionEncError} as {@link decodeNifti} and {@link niftiImageToVolume} do, plus
 * `FILE_NOT_FOUND` and `CORRUPT_FILE` (empty file); every message names the file.
 * @example
 * ```ts
 * const ct = await readNifti('scan.nii.gz');
 * ct.geometry.shape; // [slices, rows, columns]
 * ```
 */
export async function readNifti(path: string): Promise<CtVolume> {
  const bytes = await readFileBytes(path);
  return niftiImageToVolume(decodeNifti(bytes, { file: path }), path);
}

/**
 * Reads a NIfTI label map (a mask) onto its canonical grid.
 *
 * @param path - The file.
 * @param classes - The class table; by default one class per value found.
 * @param options - A threshold for masks stored as interpolated floats.
 * @returns The label map.
 * @throws {@link LesionEncError} `INVALID_VOLUME` for a voxel that is not an integer label in
 * the table, and the errors of {@link readNifti}.
 */
export async function readNiftiLabels(
  path: string,
  classes?: LabelClass[],
  options: Omit<NiftiLabelOptions, 'file'> = {},
): Promise<LabelMap> {
  const bytes = await readFileBytes(path);
  return niftiImageToLabels(decodeNifti(bytes, { file: path }), classes, {
    ...options,
    file: path,
  });
}

/**
 * Writes a volume or label map as NIfTI, atomically. A name ending in `.gz` is gzipped unless
 * `options.gzip` says otherwise.
 *
 * @param path - The target file (`.nii` or `.nii.gz`).
 * @param image - Voxels and geometry; write masks on the source volume's geometry.
 * @param options - As {@link encodeNifti}.
 * @throws {@link LesionEncError} as {@link encodeNifti}, and `INVALID_ARGUMENT` when the path
 * cannot be written.
 */
export async function writeNifti(
  path: string,
  image: CtVolume | LabelMap,
  options: EncodeNiftiOptions = {},
): Promise<void> {
  const gzip = options.gzip ?? path.toLowerCase().endsWith('.gz');
  await writeFileAtomic(path, encodeNifti(image, { ...options, gzip }));
}
