// The body mask of a CT volume and the crop to it, done as lungmask does it, slice by slice.
import {
  type AxisTriple,
  type CtVolume,
  type LabelMap,
  LesionEncError,
  createCtVolume,
  createLabelMap,
  cropGeometry,
  describeValue,
} from '@lesionenc/base';

import {
  closeMask2d,
  dilateMask2d,
  erodeMask2d,
  fillHoles2d,
  labelComponents2d,
} from './morphology';
import { resizeLabelsNearest } from './resample';

/** Options of {@link computeBodyMask}. */
export interface BodyMaskOptions {
  /** Voxels above this are tissue. @defaultValue -500 */
  thresholdHu?: number;
  /** Each slice is processed on a grid of this many rows and columns, then scaled back. @defaultValue 128 */
  workingSize?: number;
  /** Erosion then dilation radius on the working grid, pixels: detaches the table. @defaultValue 2 */
  openingPixels?: number;
}

/** Defaults of {@link computeBodyMask}, as lungmask's `simple_bodymask` uses them. */
export const DEFAULT_BODY_MASK: Readonly<Required<BodyMaskOptions>> = Object.freeze({
  thresholdHu: -500,
  workingSize: 128,
  openingPixels: 2,
});

/** The label classes of a body mask. */
export const BODY_CLASSES = Object.freeze([
  { value: 0, name: 'background' },
  { value: 1, name: 'body' },
]);

/**
 * The patient's body, slice by slice: a threshold at -500 HU on a 128x128 copy of the slice,
 * a closing, hole filling, an erosion that detaches the table and the blanket, the largest
 * component, the dilation back, and a nearest-neighbour scaling to the slice's size.
 *
 * @param volume - A CT volume in HU.
 * @param options - Threshold, working grid and erosion.
 * @returns A label map (1 body) on the volume's grid.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for a bad option.
 */
export function computeBodyMask(volume: CtVolume, options: BodyMaskOptions = {}): LabelMap {
  const { thresholdHu, workingSize, openingPixels } = { ...DEFAULT_BODY_MASK, ...options };
  if (!Number.isInteger(workingSize) || workingSize < 8) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `body mask workingSize: expected an integer >= 8, got ${describeValue(workingSize)}`,
    );
  }
  const [slices, rows, columns] = volume.geometry.shape;
  const size = rows * columns;
  const w = workingSize;
  const workShape: AxisTriple = [1, w, w];
  const unit: AxisTriple = [1, 1, 1];
  const out = new Uint8Array(volume.data.length);
  const small = new Uint8Array(w * w);
  const sliceThreshold = new Uint8Array(size);

  for (let k = 0; k < slices; k++) {
    const base = k * size;
    for (let n = 0; n < size; n++) sliceThreshold[n] = volume.data[base + n]! > thresholdHu ? 1 : 0;
    small.set(resizeLabelsNearest(sliceThreshold, rows, columns, w, w));

    let mask = closeMask2d(small, workShape, unit, 1);
    mask = fillHoles2d(mask, workShape);
    if (openingPixels > 0) mask = erodeMask2d(mask, workShape, unit, openingPixels);
    mask = keepLargest2d(mask, workShape);
    if (openingPixels > 0) mask = dilateMask2d(mask, workShape, unit, openingPixels);

    out.set(resizeLabelsNearest(mask, w, w, rows, columns), base);
  }
  return createLabelMap(out, volume.geometry, BODY_CLASSES);
}

function keepLargest2d(mask: Uint8Array, shape: AxisTriple): Uint8Array {
  const { labels, sizes } = labelComponents2d(mask, shape, 4);
  if (sizes.length === 0) return mask;
  let best = 0;
  for (let c = 1; c < sizes.length; c++) if (sizes[c]! > sizes[best]!) best = c;
  const out = new Uint8Array(mask.length);
  for (let n = 0; n < mask.length; n++) out[n] = labels[n] === best + 1 ? 1 : 0;
  return out;
}

/** An in-plane box, half-open: rows `[rowStart, rowEnd)`, columns `[columnStart, columnEnd)`. */
export interface SliceBox {
  readonly rowStart: number;
  readonly rowEnd: number;
  readonly columnStart: number;
  readonly columnEnd: number;
}

/**
 * The bounding box of the non-zero pixels of one slice.
 *
 * @param mask - `rows * columns` mask.
 * @param rows - Height.
 * @param columns - Width.
 * @returns The box, or undefined when the slice is empty.
 */
export function boundingBox2d(
  mask: ArrayLike<number>,
  rows: number,
  columns: number,
): SliceBox | undefined {
  let rowStart = rows;
  let rowEnd = 0;
  let columnStart = columns;
  let columnEnd = 0;
  for (let i = 0; i < rows; i++) {
    const o = i * columns;
    for (let j = 0; j < columns; j++) {
      if (mask[o + j] === 0) continue;
      if (i < rowStart) rowStart = i;
      if (i + 1 > rowEnd) rowEnd = i + 1;
      if (j < columnStart) columnStart = j;
      if (j + 1 > columnEnd) columnEnd = j + 1;
    }
  }
  return rowEnd === 0 ? undefined : { rowStart, rowEnd, columnStart, columnEnd };
}

/** Options of {@link cropToBody}. */
export interface CropToBodyOptions extends BodyMaskOptions {
  /** A body mask already computed for this volume. */
  bodyMask?: LabelMap;
  /** Pixels kept around the body on each side. @defaultValue 0 */
  marginPixels?: number;
}

/** What {@link cropToBody} returns. */
export interface BodyCrop {
  /** The cropped volume, with its geometry moved to the crop corner. */
  readonly volume: CtVolume;
  /** The body mask on the cropped grid. */
  readonly bodyMask: LabelMap;
  /** First voxel of the crop in the source, `[slice, row, column]`. */
  readonly start: AxisTriple;
  /** The in-plane box of the crop in the source. */
  readonly box: SliceBox;
}

/**
 * Crops a volume in-plane to the body: the union of the per-slice body boxes (every slice is
 * kept, so slice indices do not change).
 *
 * @param volume - A CT volume in HU.
 * @param options - A precomputed body mask, a margin, or body mask options.
 * @returns The crop, its body mask and where it sits in the source.
 * @throws {@link LesionEncError} `DEGENERATE_INPUT` when no slice contains any body.
 */
export function cropToBody(volume: CtVolume, options: CropToBodyOptions = {}): BodyCrop {
  const body = options.bodyMask ?? computeBodyMask(volume, options);
  const [slices, rows, columns] = volume.geometry.shape;
  if (body.data.length !== volume.data.length) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `body mask: expected ${volume.data.length} voxels, got ${body.data.length}`,
    );
  }
  const projected = new Uint8Array(rows * columns);
  for (let k = 0; k < slices; k++) {
    const base = k * rows * columns;
    for (let n = 0; n < projected.length; n++) if (body.data[base + n] !== 0) projected[n] = 1;
  }
  const found = boundingBox2d(projected, rows, columns);
  if (found === undefined) {
    throw new LesionEncError(
      'DEGENERATE_INPUT',
      `body crop: expected some voxels above ${options.thresholdHu ?? DEFAULT_BODY_MASK.thresholdHu} HU, got none`,
    );
  }
  const margin = options.marginPixels ?? 0;
  const box: SliceBox = {
    rowStart: Math.max(0, found.rowStart - margin),
    rowEnd: Math.min(rows, found.rowEnd + margin),
    columnStart: Math.max(0, found.columnStart - margin),
    columnEnd: Math.min(columns, found.columnEnd + margin),
  };
  const cropRows = box.rowEnd - box.rowStart;
  const cropColumns = box.columnEnd - box.columnStart;
  const start: AxisTriple = [0, box.rowStart, box.columnStart];
  const geometry = cropGeometry(volume.geometry, start, [slices, cropRows, cropColumns]);
  const data = new (volume.data.constructor as new (n: number) => Int16Array | Float32Array)(
    slices * cropRows * cropColumns,
  );
  const mask = new Uint8Array(data.length);
  for (let k = 0; k < slices; k++) {
    for (let i = 0; i < cropRows; i++) {
      const from = (k * rows + i + box.rowStart) * columns + box.columnStart;
      const to = (k * cropRows + i) * cropColumns;
      data.set(volume.data.subarray(from, from + cropColumns), to);
      mask.set(body.data.subarray(from, from + cropColumns), to);
    }
  }
  return {
    volume: createCtVolume(data, geometry, { unit: volume.unit, metadata: volume.metadata }),
    bodyMask: createLabelMap(mask, geometry, body.classes),
    start,
    box,
  };
}
