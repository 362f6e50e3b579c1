// One slice of a label map as an 8-bit grey PNG whose pixel values are the class indices, the
// size of the slice: the format 2D slice data sets keep their masks in.
import { type LabelMap, LesionEncError } from '@lesionenc/base';

/**
 * Encodes one slice of a label map as a grey 8-bit PNG, one pixel per voxel, value = class.
 *
 * @param labels - The label map.
 * @param slice - Index along the slice axis. @defaultValue 0
 * @returns The PNG file's bytes.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for a slice outside the map.
 * @example
 * ```ts
 * await writeFile('labels.png', await encodeLabelPng(lesions));
 * ```
 */
export async function encodeLabelPng(labels: LabelMap, slice = 0): Promise<Uint8Array> {
  const [slices, rows, columns] = labels.geometry.shape;
  if (!Number.isInteger(slice) || slice < 0 || slice >= slices) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `label PNG slice: expected an integer in 0..${slices - 1}, got ${slice}`,
    );
  }
  const plane = rows * columns;
  const { encode } = await import('fast-png');
  return encode({
    width: columns,
    height: rows,
    data: labels.data.subarray(slice * plane, (slice + 1) * plane),
    channels: 1,
    depth: 8,
  });
}
