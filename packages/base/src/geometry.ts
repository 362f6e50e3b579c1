// Volume geometry in the LPS patient frame and the conversions between voxel and world (mm).
import { LesionEncError, describeValue } from './errors';

/** Three numbers in array axis order: `[slices, rows, columns]`. */
export type AxisTriple = readonly [number, number, number];

/** A point or vector in the patient frame, `[x, y, z]` in millimetres. */
export type Vec3Mm = readonly [number, number, number];

/**
 * A 3x3 matrix stored row-major, 9 numbers: `m[3 * r + c]` is row r, column c.
 * In a geometry, column `a` is the unit vector (in LPS) along array axis `a`.
 */
export type Matrix3 = readonly [
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
];

/** The patient coordinate systems the project names. Volumes are always expressed in LPS. */
export type PatientFrame = 'LPS';

/**
 * Where the voxels of a `[slices, rows, columns]` volume sit in the patient.
 *
 * The world position (LPS, mm) of voxel `(k, i, j)` — slice k, row i, column j — is
 * `originMm + direction * diag(spacingMm) * [k, i, j]`: the origin is the centre of voxel
 * (0, 0, 0) and direction column 0 points along the slice axis, column 1 down the rows, column 2
 * along the columns. This is DICOM's convention (PS3.3 C.7.6.2.1.1) with the axes listed in array
 * order instead of ITK's `(column, row, slice)` order.
 */
export interface VolumeGeometry {
  /** Voxel counts `[slices, rows, columns]`. */
  readonly shape: AxisTriple;
  /** Distance between voxel centres along each array axis, mm. */
  readonly spacingMm: AxisTriple;
  /** LPS position of the centre of voxel (0, 0, 0), mm. */
  readonly originMm: Vec3Mm;
  /** Orthonormal axis directions; column a is array axis a in LPS. */
  readonly direction: Matrix3;
  readonly frame: PatientFrame;
}

/**
 * The usual axial stack: slices advance towards the head (+z, S), rows run towards the back
 * (+y, P) and columns towards the patient's left (+x, L), as a radiologist views an axial image.
 */
export const AXIAL_LPS_DIRECTION: Matrix3 = Object.freeze([0, 0, 1, 0, 1, 0, 1, 0, 0]) as Matrix3;

/** What {@link createGeometry} needs; everything but the shape has a default. */
export interface GeometryInit {
  shape: readonly number[];
  /** @defaultValue `[1, 1, 1]` */
  spacingMm?: readonly number[];
  /** @defaultValue `[0, 0, 0]` */
  originMm?: readonly number[];
  /** @defaultValue {@link AXIAL_LPS_DIRECTION}: an axial stack with rows running posterior. */
  direction?: readonly number[];
}

const ORTHONORMAL_TOLERANCE = 1e-3;

function triple(
  name: string,
  value: readonly number[] | undefined,
  fallback: AxisTriple,
): AxisTriple {
  if (value === undefined) return fallback;
  if (value.length !== 3 || !value.every(Number.isFinite)) {
    throw new LesionEncError(
      'INVALID_GEOMETRY',
      `${name}: expected 3 finite numbers, got ${describeValue(Array.from(value))}`,
    );
  }
  return Object.freeze([value[0], value[1], value[2]]) as unknown as AxisTriple;
}

/**
 * Builds a validated, frozen geometry.
 *
 * @param init - Shape, spacing, origin and direction.
 * @returns The geometry.
 * @throws {@link LesionEncError} `INVALID_GEOMETRY` for a non-integer or empty shape, a spacing
 * that is not positive, or a direction that is not orthonormal.
 * @example
 * ```ts
 * const geometry = createGeometry({ shape: [120, 512, 512], spacingMm: [1.25, 0.7, 0.7] });
 * ```
 */
export function createGeometry(init: GeometryInit): VolumeGeometry {
  const shape = triple('shape', init.shape, [0, 0, 0]);
  if (!shape.every((n) => Number.isInteger(n) && n > 0)) {
    throw new LesionEncError(
      'INVALID_GEOMETRY',
      `shape: expected 3 positive integers [slices, rows, columns], got ${describeValue([...shape])}`,
    );
  }
  const spacingMm = triple('spacingMm', init.spacingMm, [1, 1, 1]);
  if (!spacingMm.every((s) => s > 0)) {
    throw new LesionEncError(
      'INVALID_GEOMETRY',
      `spacingMm: expected 3 positive spacings, got ${describeValue([...spacingMm])} (mm)`,
    );
  }
  const originMm = triple('originMm', init.originMm, [0, 0, 0]);
  const direction = init.direction === undefined ? AXIAL_LPS_DIRECTION : toMatrix3(init.direction);
  assertOrthonormal(direction);
  return Object.freeze({ shape, spacingMm, originMm, direction, frame: 'LPS' as const });
}

function toMatrix3(values: readonly number[]): Matrix3 {
  if (values.length !== 9 || !values.every(Number.isFinite)) {
    throw new LesionEncError(
      'INVALID_GEOMETRY',
      `direction: expected 9 finite numbers (3x3 row-major), got ${describeValue(Array.from(values))}`,
    );
  }
  return Object.freeze([...values]) as unknown as Matrix3;
}

function assertOrthonormal(m: Matrix3): void {
  for (let a = 0; a < 3; a++) {
    for (let b = a; b < 3; b++) {
      let dot = 0;
      for (let r = 0; r < 3; r++) dot += (m[3 * r + a] as number) * (m[3 * r + b] as number);
      const expected = a === b ? 1 : 0;
      if (Math.abs(dot - expected) > ORTHONORMAL_TOLERANCE) {
        throw new LesionEncError(
          'INVALID_GEOMETRY',
          `direction: expected orthonormal columns, got column ${a} . column ${b} = ${dot.toFixed(4)}`,
        );
      }
    }
  }
}

/**
 * Converts a voxel index (fractional allowed) to an LPS position.
 *
 * @param geometry - The volume's geometry.
 * @param voxel - `[slice, row, column]` index.
 * @returns `[x, y, z]` in mm.
 */
export function voxelToWorldMm(geometry: VolumeGeometry, voxel: readonly number[]): Vec3Mm {
  const { direction: d, spacingMm: s, originMm: o } = geometry;
  const scaled = [(voxel[0] ?? 0) * s[0], (voxel[1] ?? 0) * s[1], (voxel[2] ?? 0) * s[2]];
  const out = [0, 0, 0];
  for (let r = 0; r < 3; r++) {
    out[r] =
      (o[r] as number) +
      (d[3 * r] as number) * (scaled[0] as number) +
      (d[3 * r + 1] as number) * (scaled[1] as number) +
      (d[3 * r + 2] as number) * (scaled[2] as number);
  }
  return out as unknown as Vec3Mm;
}

/**
 * Converts an LPS position to a fractional voxel index; round it for the nearest voxel.
 *
 * @param geometry - The volume's geometry.
 * @param pointMm - `[x, y, z]` in mm.
 * @returns `[slice, row, column]`, fractional.
 */
export function worldMmToVoxel(geometry: VolumeGeometry, pointMm: readonly number[]): AxisTriple {
  const { direction: d, spacingMm: s, originMm: o } = geometry;
  const rel = [0, 1, 2].map((r) => (pointMm[r] ?? 0) - (o[r] as number));
  // The direction is orthonormal, so its inverse is its transpose.
  const out = [0, 1, 2].map((a) => {
    let dot = 0;
    for (let r = 0; r < 3; r++) dot += (d[3 * r + a] as number) * (rel[r] as number);
    return dot / (s[a] as number);
  });
  return out as unknown as AxisTriple;
}

/**
 * The 4x4 affine (row-major, 16 numbers) that maps `[slice, row, column, 1]` to LPS mm.
 *
 * @param geometry - The volume's geometry.
 * @returns The affine.
 */
export function voxelToWorldAffine(geometry: VolumeGeometry): number[] {
  const { direction: d, spacingMm: s, originMm: o } = geometry;
  const m: number[] = [];
  for (let r = 0; r < 3; r++) {
    for (let a = 0; a < 3; a++) m.push((d[3 * r + a] as number) * (s[a] as number));
    m.push(o[r] as number);
  }
  m.push(0, 0, 0, 1);
  return m;
}

/**
 * Builds a geometry from a shape and a voxel-to-LPS affine (row-major 4x4 or 3x4).
 *
 * @param shape - `[slices, rows, columns]`.
 * @param affine - Maps `[slice, row, column, 1]` to LPS mm.
 * @returns The geometry, with spacing taken from the column norms.
 * @throws {@link LesionEncError} `INVALID_GEOMETRY` when the affine is singular or sheared.
 */
export function geometryFromAffine(
  shape: readonly number[],
  affine: readonly number[],
): VolumeGeometry {
  if (affine.length !== 16 && affine.length !== 12) {
    throw new LesionEncError(
      'INVALID_GEOMETRY',
      `affine: expected 12 or 16 numbers, got ${affine.length}`,
    );
  }
  const spacingMm: number[] = [];
  const direction = new Array<number>(9).fill(0);
  for (let a = 0; a < 3; a++) {
    const column = [0, 1, 2].map((r) => affine[4 * r + a] as number);
    const norm = Math.hypot(...column);
    if (!(norm > 0)) {
      throw new LesionEncError(
        'INVALID_GEOMETRY',
        `affine: axis ${a} has zero length (singular affine)`,
      );
    }
    spacingMm.push(norm);
    for (let r = 0; r < 3; r++) direction[3 * r + a] = (column[r] as number) / norm;
  }
  const originMm = [0, 1, 2].map((r) => affine[4 * r + 3] as number);
  return createGeometry({ shape, spacingMm, originMm, direction });
}

/** Volume of one voxel, mm³. */
export function voxelVolumeMm3(geometry: VolumeGeometry): number {
  const [a, b, c] = geometry.spacingMm;
  return a * b * c;
}

/** Area of one in-slice pixel (rows x columns), mm². */
export function pixelAreaMm2(geometry: VolumeGeometry): number {
  return geometry.spacingMm[1] * geometry.spacingMm[2];
}

/** Number of voxels of a geometry's shape. */
export function voxelCount(geometry: Pick<VolumeGeometry, 'shape'>): number {
  return geometry.shape[0] * geometry.shape[1] * geometry.shape[2];
}

/**
 * Whether two geometries describe the same voxel grid, within a tolerance.
 *
 * @param a - One geometry.
 * @param b - The other.
 * @param toleranceMm - Largest difference allowed in spacing and origin, mm.
 * @defaultValue toleranceMm 1e-4
 */
export function sameGrid(a: VolumeGeometry, b: VolumeGeometry, toleranceMm = 1e-4): boolean {
  const close = (x: readonly number[], y: readonly number[], tol: number) =>
    x.every((v, i) => Math.abs(v - (y[i] as number)) <= tol);
  return (
    a.shape.every((n, i) => n === b.shape[i]) &&
    close(a.spacingMm, b.spacingMm, toleranceMm) &&
    close(a.originMm, b.originMm, toleranceMm) &&
    close(a.direction, b.direction, 1e-6)
  );
}

/**
 * The geometry of a sub-block of a volume, for example a crop or a slab of slices.
 *
 * @param geometry - The parent geometry.
 * @param start - First voxel `[slice, row, column]` of the block.
 * @param shape - Block size.
 * @returns The block's geometry (same spacing and direction, origin moved).
 */
export function cropGeometry(
  geometry: VolumeGeometry,
  start: readonly number[],
  shape: readonly number[],
): VolumeGeometry {
  for (let a = 0; a < 3; a++) {
    const s = start[a] ?? -1;
    const n = shape[a] ?? -1;
    if (
      !Number.isInteger(s) ||
      !Number.isInteger(n) ||
      s < 0 ||
      n < 1 ||
      s + n > geometry.shape[a]!
    ) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `crop: axis ${a} block [${s}, ${s + n}) is outside the volume's [0, ${geometry.shape[a]})`,
      );
    }
  }
  return createGeometry({
    shape,
    spacingMm: geometry.spacingMm,
    originMm: voxelToWorldMm(geometry, start),
    direction: geometry.direction,
  });
}
