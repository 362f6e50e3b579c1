// CT volumes and label maps: voxels in [slices, rows, columns] order that travel with geometry.
import { LesionEncError, describeValue } from './errors';
import { type GeometryInit, type VolumeGeometry, createGeometry, voxelCount } from './geometry';

/** What the voxel values mean. */
export type IntensityUnit =
  /** Hounsfield units, as CT scanners reconstruct them. */
  | 'HU'
  /** Already windowed and scaled grey values (PNG/JPG slice sets); not convertible to HU. */
  | 'windowed';

/** Voxel storage the project accepts for intensities. */
export type VoxelArray = Int16Array | Float32Array;

/** A CT volume: `data[(k * rows + i) * columns + j]` is slice k, row i, column j. */
export interface CtVolume {
  readonly data: VoxelArray;
  readonly geometry: VolumeGeometry;
  readonly unit: IntensityUnit;
  /** Free-form facts from the source (series UID, file name, reconstruction kernel, ...). */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** One class of a label map. */
export interface LabelClass {
  /** The voxel value that marks it. */
  readonly value: number;
  /** A stable machine name, for example `ground_glass`. */
  readonly name: string;
  /** Display colour, 0-255 RGB. */
  readonly color?: readonly [number, number, number];
}

/** A label map on a voxel grid; value 0 is background unless the class table says otherwise. */
export interface LabelMap {
  readonly data: Uint8Array;
  readonly geometry: VolumeGeometry;
  readonly classes: readonly LabelClass[];
}

/** Lung labels as lungmask writes them. */
export const LUNG_CLASSES: readonly LabelClass[] = Object.freeze([
  { value: 0, name: 'background' },
  { value: 1, name: 'right_lung', color: [230, 159, 0] },
  { value: 2, name: 'left_lung', color: [86, 180, 233] },
]);

/** The lesion classes of the paper (section 3.2). */
export const LESION_CLASSES: readonly LabelClass[] = Object.freeze([
  { value: 0, name: 'background' },
  { value: 1, name: 'ground_glass', color: [240, 228, 66] },
  { value: 2, name: 'consolidation', color: [213, 94, 0] },
  { value: 3, name: 'pleural_effusion', color: [0, 114, 178] },
]);

/** Options of {@link createCtVolume}. */
export interface CtVolumeOptions {
  /** @defaultValue `HU` */
  unit?: IntensityUnit;
  metadata?: Record<string, unknown>;
  /** The file the voxels came from, named in errors. */
  file?: string;
}

/**
 * Wraps voxels and geometry into a validated CT volume. The array is not copied.
 *
 * @param data - Voxels in `[slices, rows, columns]` order.
 * @param geometry - A geometry or what {@link createGeometry} needs.
 * @param options - Unit, metadata and source file.
 * @returns The volume.
 * @throws {@link LesionEncError} `INVALID_VOLUME` when the length does not match the shape or a
 * voxel is not finite.
 */
export function createCtVolume(
  data: VoxelArray,
  geometry: VolumeGeometry | GeometryInit,
  options: CtVolumeOptions = {},
): CtVolume {
  const g = 'frame' in geometry ? geometry : createGeometry(geometry);
  const fileOption = options.file === undefined ? {} : { file: options.file };
  if (!(data instanceof Int16Array || data instanceof Float32Array)) {
    throw new LesionEncError(
      'INVALID_VOLUME',
      `volume data: expected Int16Array or Float32Array, got ${describeValue(data)}`,
      fileOption,
    );
  }
  const expected = voxelCount(g);
  if (data.length !== expected) {
    throw new LesionEncError(
      'INVALID_VOLUME',
      `volume data: expected ${expected} voxels for shape [${g.shape.join(', ')}], got ${data.length}`,
      fileOption,
    );
  }
  if (data instanceof Float32Array) {
    for (let n = 0; n < data.length; n++) {
      if (!Number.isFinite(data[n])) {
        throw new LesionEncError(
          'INVALID_VOLUME',
          `volume data: expected finite intensities, got ${data[n]} at voxel ${describeIndex(g, n)}`,
          fileOption,
        );
      }
    }
  }
  return Object.freeze({
    data,
    geometry: g,
    unit: options.unit ?? 'HU',
    metadata: Object.freeze({ ...options.metadata }),
  });
}

/**
 * Wraps labels and geometry into a validated label map. The array is not copied.
 *
 * @param data - One label per voxel.
 * @param geometry - The grid, normally the source volume's geometry.
 * @param classes - The class table; every voxel value must appear in it.
 * @returns The label map.
 * @throws {@link LesionEncError} `INVALID_VOLUME` on a length mismatch, a duplicate class value, or
 * a voxel whose value has no class.
 */
export function createLabelMap(
  data: Uint8Array,
  geometry: VolumeGeometry | GeometryInit,
  classes: readonly LabelClass[],
): LabelMap {
  const g = 'frame' in geometry ? geometry : createGeometry(geometry);
  const expected = voxelCount(g);
  if (data.length !== expected) {
    throw new LesionEncError(
      'INVALID_VOLUME',
      `label data: expected ${expected} voxels for shape [${g.shape.join(', ')}], got ${data.length}`,
    );
  }
  const known = new Uint8Array(256);
  for (const c of classes) {
    if (!Number.isInteger(c.value) || c.value < 0 || c.value > 255 || known[c.value] === 1) {
      throw new LesionEncError(
        'INVALID_VOLUME',
        `label classes: expected distinct integer values in 0..255, got ${c.value} for '${c.name}'`,
      );
    }
    known[c.value] = 1;
  }
  for (let n = 0; n < data.length; n++) {
    if (known[data[n] as number] !== 1) {
      throw new LesionEncError(
        'INVALID_VOLUME',
        `label data: value ${data[n]} at voxel ${describeIndex(g, n)} is not in the class table ` +
          `(${classes.map((c) => c.value).join(', ')})`,
      );
    }
  }
  return Object.freeze({ data, geometry: g, classes: Object.freeze([...classes]) });
}

/**
 * Counts voxels per label value.
 *
 * @param labels - A label map.
 * @returns A map from label value to voxel count (only values that occur).
 */
export function countLabels(labels: Pick<LabelMap, 'data'>): Map<number, number> {
  const counts = new Float64Array(256);
  for (let n = 0; n < labels.data.length; n++) counts[labels.data[n] as number]! += 1;
  const out = new Map<number, number>();
  counts.forEach((count, value) => {
    if (count > 0) out.set(value, count);
  });
  return out;
}

/**
 * A view of one axial slice of a volume's voxels (no copy).
 *
 * @param volume - Any `[slices, rows, columns]` array with its geometry.
 * @param slice - The slice index.
 * @returns The `rows * columns` voxels of that slice.
 */
export function sliceView<T extends VoxelArray | Uint8Array>(
  volume: { data: T; geometry: VolumeGeometry },
  slice: number,
): T {
  const [slices, rows, columns] = volume.geometry.shape;
  if (!Number.isInteger(slice) || slice < 0 || slice >= slices) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `slice: expected an index in [0, ${slices}), got ${slice}`,
    );
  }
  const size = rows * columns;
  return volume.data.subarray(slice * size, (slice + 1) * size) as T;
}

function describeIndex(g: VolumeGeometry, n: number): string {
  const [, rows, columns] = g.shape;
  const j = n % columns;
  const i = Math.floor(n / columns) % rows;
  const k = Math.floor(n / (columns * rows));
  return `[${k}, ${i}, ${j}]`;
}
