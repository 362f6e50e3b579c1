// Node file wrappers around the DICOM SEG codec: write atomically, read with typed errors.
import type { LabelMap } from '@lesionenc/base';

import {
  type DicomSeg,
  type EncodeDicomSegOptions,
  type EncodedDicomSeg,
  decodeDicomSeg,
  encodeDicomSeg,
} from './dicom-seg';
import { readFileBytes, writeFileAtomic } from './internal/node-fs';

/**
 * Writes a label map as a DICOM Segmentation object, atomically.
 *
 * @param path - The target file (`.dcm`).
 * @param labels - A label map on the source volume's grid.
 * @param options - As {@link encodeDicomSeg}.
 * @returns What was written (UIDs, frame count, voxels per segment, warnings).
 * @throws {@link LesionEncError} as {@link encodeDicomSeg}, and `INVALID_ARGUMENT` when the path
 * cannot be written.
 * @example
 * ```ts
 * await writeDicomSeg('lesions.seg.dcm', result.lesions, {
 *   reference: dicomSeriesReferenceOf(volume)!,
 *   segments: LESION_SEG_SEGMENTS,
 *   contentLabel: 'LESIONS',
 * });
 * ```
 */
export async function writeDicomSeg(
  path: string,
  labels: LabelMap,
  options: EncodeDicomSegOptions,
): Promise<EncodedDicomSeg> {
  const encoded = encodeDicomSeg(labels, options);
  await writeFileAtomic(path, encoded.bytes);
  return encoded;
}

/**
 * Reads a BINARY DICOM Segmentation file.
 *
 * @param path - The file.
 * @returns As {@link decodeDicomSeg}.
 * @throws {@link LesionEncError} as {@link decodeDicomSeg}, plus `FILE_NOT_FOUND`.
 */
export async function readDicomSeg(path: string): Promise<DicomSeg> {
  return decodeDicomSeg(await readFileBytes(path), { file: path });
}
