// Resampling of volumes (linear) and label maps (nearest) to a spacing or a matrix, with new geometry.
import {
  type CtVolume,
  type LabelMap,
  type VolumeGeometry,
  LesionEncError,
  createCtVolume,
  createGeometry,
  createLabelMap,
  describeValue,
  voxelToWorldMm,
} from '@lesionenc/base';

/** Where to resample to: a voxel spacing (mm) or a matrix size, both `[slices, rows, columns]`. */
export type ResampleTarget = { spacingMm: readonly number[] } | { shape: readonly number[] };

/**
 * The grid a volume is resampled onto. Voxel edges stay aligned with the source's first voxel
 * edge (the convention of `align_corners = false`), so a matrix target covers exactly the
 * source's extent and a spacing target covers it to within half a new voxel.
 *
 * @param geometry - The source grid.
 * @param target - A spacing or a shape.
 * @returns The new geometry (same direction, new shape, spacing and origin).
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for a target that is not 3 positive numbers
 * (integers for a shape).
 */
export function resampleGeometry(geometry: VolumeGeometry, target: ResampleTarget): VolumeGeometry {
  const shape: number[] = [];
  const spacingMm: number[] = [];
  if ('shape' in target) {
    const t = target.shape;
    if (t.length !== 3 || !t.every((n) => Number.isInteger(n) && n > 0)) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `resample shape: expected 3 positive integers [slices, rows, columns], got ${describeValue([...t])}`,
      );
    }
    for (let a = 0; a < 3; a++) {
      shape.push(t[a]!);
      spacingMm.push((geometry.shape[a]! * geometry.spacingMm[a]!) / t[a]!);
    }
  } else {
    const t = target.spacingMm;
    if (t.length !== 3 || !t.every((s) => Number.isFinite(s) && s > 0)) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `resample spacingMm: expected 3 positive spacings, got ${describeValue([...t])} (mm)`,
      );
    }
    for (let a = 0; a < 3; a++) {
      spacingMm.push(t[a]!);
      shape.push(Math.max(1, Math.round((geometry.shape[a]! * geometry.spacingMm[a]!) / t[a]!)));
    }
  }
  const firstCentre = [0, 1, 2].map((a) => (0.5 * spacingMm[a]!) / geometry.spacingMm[a]! - 0.5);
  return createGeometry({
    shape,
    spacingMm,
    originMm: voxelToWorldMm(geometry, firstCentre),
    direction: geometry.direction,
  });
}

interface AxisSampling {
  lower: Int32Array;
  upper: Int32Array;
  weight: Float32Array;
}

function linearSampling(sourceSize: number, targetSize: number, ratio: number): AxisSampling {
  const lower = new Int32Array(targetSize);
  const upper = new Int32Array(targetSize);
  const weight = new Float32Array(targetSize);
  for (let n = 0; n < targetSize; n++) {
    const x = Math.min(sourceSize - 1, Math.max(0, (n + 0.5) * ratio - 0.5));
    const i0 = Math.floor(x);
    lower[n] = i0;
    upper[n] = Math.min(i0 + 1, sourceSize - 1);
    weight[n] = x - i0;
  }
  return { lower, upper, weight };
}

function nearestSampling(sourceSize: number, targetSize: number, ratio: number): Int32Array {
  const index = new Int32Array(targetSize);
  for (let n = 0; n < targetSize; n++) {
    index[n] = Math.min(sourceSize - 1, Math.max(0, Math.floor((n + 0.5) * ratio)));
  }
  return index;
}

/**
 * Resamples separably with linear interpolation along one axis of a `[a, b, c]` block.
 * `axis` is 0, 1 or 2; `shape` is the block's current shape.
 */
function linearPass(
  data: ArrayLike<number>,
  shape: [number, number, number],
  axis: number,
  targetSize: number,
  ratio: number,
): Float32Array {
  const sampling = linearSampling(shape[axis]!, targetSize, ratio);
  const outShape: [number, number, number] = [...shape];
  outShape[axis] = targetSize;
  const out = new Float32Array(outShape[0] * outShape[1] * outShape[2]);
  const strides = [shape[1] * shape[2], shape[2], 1];
  const outStrides = [outShape[1] * outShape[2], outShape[2], 1];
  const stride = strides[axis]!;
  const outStride = outStrides[axis]!;
  const other = [0, 1, 2].filter((a) => a !== axis) as [number, number];
  const [a0, a1] = other;
  for (let p = 0; p < outShape[a0]!; p++) {
    for (let q = 0; q < outShape[a1]!; q++) {
      const base = p * strides[a0]! + q * strides[a1]!;
      const outBase = p * outStrides[a0]! + q * outStrides[a1]!;
      for (let n = 0; n < targetSize; n++) {
        const w = sampling.weight[n]!;
        const lo = data[base + sampling.lower[n]! * stride]!;
        const hi = data[base + sampling.upper[n]! * stride]!;
        out[outBase + n * outStride] = lo + (hi - lo) * w;
      }
    }
  }
  return out;
}

/**
 * Resamples a CT volume with trilinear interpolation (edges replicated).
 *
 * @param volume - The source volume.
 * @param target - A spacing in mm or a matrix size, `[slices, rows, columns]`.
 * @returns A new volume with the new geometry; Int16 input stays Int16 (rounded).
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for a bad target.
 * @example
 * ```ts
 * const iso = resampleVolume(volume, { spacingMm: [1, 1, 1] });
 * ```
 */
export function resampleVolume(volume: CtVolume, target: ResampleTarget): CtVolume {
  const geometry = resampleGeometry(volume.geometry, target);
  let current: ArrayLike<number> = volume.data;
  const shape: [number, number, number] = [...volume.geometry.shape];
  // Columns first, then rows, then slices: each pass only touches the data it still needs.
  for (const axis of [2, 1, 0]) {
    if (
      shape[axis] === geometry.shape[axis] &&
      geometry.spacingMm[axis] === volume.geometry.spacingMm[axis]
    ) {
      continue;
    }
    const ratio = geometry.spacingMm[axis]! / volume.geometry.spacingMm[axis]!;
    current = linearPass(current, shape, axis, geometry.shape[axis]!, ratio);
    shape[axis] = geometry.shape[axis]!;
  }
  let data: Int16Array | Float32Array;
  if (volume.data instanceof Int16Array) {
    data = new Int16Array(current.length);
    for (let n = 0; n < current.length; n++) data[n] = Math.round(current[n]!);
  } else {
    data =
      current instanceof Float32Array && current !== volume.data
        ? current
        : Float32Array.from(current);
  }
  return createCtVolume(data, geometry, { unit: volume.unit, metadata: volume.metadata });
}

/**
 * Resamples a label map by nearest neighbour, so no new label values appear.
 *
 * @param labels - The source label map.
 * @param target - A spacing in mm or a matrix size, `[slices, rows, columns]`.
 * @returns A new label map with the new geometry and the same classes.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for a bad target.
 */
export function resampleLabels(labels: LabelMap, target: ResampleTarget): LabelMap {
  const geometry = resampleGeometry(labels.geometry, target);
  const source = labels.geometry.shape;
  const [slices, rows, columns] = geometry.shape;
  const index = [0, 1, 2].map((a) =>
    nearestSampling(
      source[a]!,
      geometry.shape[a]!,
      geometry.spacingMm[a]! / labels.geometry.spacingMm[a]!,
    ),
  ) as [Int32Array, Int32Array, Int32Array];
  const out = new Uint8Array(slices * rows * columns);
  for (let k = 0; k < slices; k++) {
    const sk = index[0][k]! * source[1] * source[2];
    for (let i = 0; i < rows; i++) {
      const si = sk + index[1][i]! * source[2];
      const o = (k * rows + i) * columns;
      for (let j = 0; j < columns; j++) out[o + j] = labels.data[si + index[2][j]!]!;
    }
  }
  return createLabelMap(out, geometry, labels.classes);
}

/**
 * Resamples one 2D image (row-major) to a new size with bilinear interpolation, edges aligned
 * (`align_corners = false`).
 *
 * @param image - `rows * columns` values.
 * @param rows - Source height.
 * @param columns - Source width.
 * @param targetRows - New height.
 * @param targetColumns - New width.
 * @returns A new Float32Array of `targetRows * targetColumns`.
 */
export function resizeImageLinear(
  image: ArrayLike<number>,
  rows: number,
  columns: number,
  targetRows: number,
  targetColumns: number,
): Float32Array {
  const shape: [number, number, number] = [1, rows, columns];
  const wide = linearPass(image, shape, 2, targetColumns, columns / targetColumns);
  return linearPass(wide, [1, rows, targetColumns], 1, targetRows, rows / targetRows);
}

/**
 * Resamples one 2D label image to a new size by nearest neighbour.
 *
 * @returns A new Uint8Array of `targetRows * targetColumns`.
 */
export function resizeLabelsNearest(
  labels: ArrayLike<number>,
  rows: number,
  columns: number,
  targetRows: number,
  targetColumns: number,
): Uint8Array {
  const ri = nearestSampling(rows, targetRows, rows / targetRows);
  const ci = nearestSampling(columns, targetColumns, columns / targetColumns);
  const out = new Uint8Array(targetRows * targetColumns);
  for (let i = 0; i < targetRows; i++) {
    const s = ri[i]! * columns;
    for (let j = 0; j < targetColumns; j++) out[i * targetColumns + j] = labels[s + ci[j]!]!;
  }
  return out;
}
