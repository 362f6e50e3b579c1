// Patient orientation of voxel grids: choosing and applying the canonical axial layout in LPS.
import { type VolumeGeometry, createGeometry } from '@lesionenc/base';

/** A typed array of any numeric element type the readers produce. */
export type NumericArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

/** How file axis `axisOf[a]` (flipped when `flip[a]`) becomes canonical array axis `a`. */
export interface AxisMapping {
  /** For canonical axes `[slices, rows, columns]`, the file axis (0 = fastest) they come from. */
  readonly axisOf: readonly [number, number, number];
  /** Whether that file axis runs backwards in the canonical layout. */
  readonly flip: readonly [boolean, boolean, boolean];
}

// Canonical array axis a points along LPS world axis CANONICAL_WORLD_AXIS[a]: slices +S, rows
// +P, columns +L.
const CANONICAL_WORLD_AXIS = [2, 1, 0] as const;

const PERMUTATIONS: readonly (readonly [number, number, number])[] = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
];

/**
 * Chooses, for each canonical axis, the file axis most nearly parallel to it (the assignment
 * with the largest summed |cosine|, so oblique grids map to their closest axial layout).
 *
 * @param fileAxesLps - For file axes 0, 1, 2 (fastest first), their LPS step vectors.
 * @returns The mapping.
 */
export function chooseAxisMapping(fileAxesLps: readonly (readonly number[])[]): AxisMapping {
  const unit = fileAxesLps.map((v) => {
    const n = Math.hypot(v[0] ?? 0, v[1] ?? 0, v[2] ?? 0);
    return [0, 1, 2].map((r) => (n > 0 ? (v[r] ?? 0) / n : 0));
  });
  let best: readonly [number, number, number] = [2, 1, 0];
  let bestScore = -1;
  for (const p of PERMUTATIONS) {
    let score = 0;
    for (let a = 0; a < 3; a++) score += Math.abs(unit[p[a]!]![CANONICAL_WORLD_AXIS[a]!]!);
    // Strictly greater keeps the first (identity-like) choice on ties.
    if (score > bestScore + 1e-9) {
      bestScore = score;
      best = p;
    }
  }
  const flip = [0, 1, 2].map((a) => unit[best[a]!]![CANONICAL_WORLD_AXIS[a]!]! < 0) as [
    boolean,
    boolean,
    boolean,
  ];
  return { axisOf: best, flip };
}

/**
 * Builds the canonical geometry of a grid.
 *
 * @param fileShape - Voxel counts of file axes 0, 1, 2 (fastest first).
 * @param fileAxesLps - LPS step vector (mm) of each file axis.
 * @param fileOriginLps - LPS position of file voxel (0, 0, 0), mm.
 * @param mapping - From {@link chooseAxisMapping}.
 * @returns The geometry of the reordered grid.
 */
export function canonicalGeometry(
  fileShape: readonly number[],
  fileAxesLps: readonly (readonly number[])[],
  fileOriginLps: readonly number[],
  mapping: AxisMapping,
): VolumeGeometry {
  const shape: number[] = [];
  const spacingMm: number[] = [];
  const direction = new Array<number>(9).fill(0);
  const origin = [...fileOriginLps];
  for (let a = 0; a < 3; a++) {
    const f = mapping.axisOf[a]!;
    const v = fileAxesLps[f]!;
    const n = fileShape[f]!;
    const length = Math.hypot(v[0]!, v[1]!, v[2]!);
    const sign = mapping.flip[a] ? -1 : 1;
    shape.push(n);
    spacingMm.push(length);
    for (let r = 0; r < 3; r++) {
      // Adding 0 turns -0 into 0, so axis-aligned directions compare equal.
      direction[3 * r + a] = (sign * v[r]!) / length + 0;
      // A flipped axis starts at the file's last voxel along it.
      if (mapping.flip[a]) origin[r] = origin[r]! + (n - 1) * v[r]!;
    }
  }
  return createGeometry({ shape, spacingMm, originMm: origin, direction });
}

/**
 * Copies file-ordered voxels into the canonical `[slices, rows, columns]` order.
 *
 * @param source - Voxels with file axis 0 fastest.
 * @param fileShape - Voxel counts of file axes 0, 1, 2.
 * @param mapping - From {@link chooseAxisMapping}.
 * @param target - Where to write; same length as `source`.
 */
export function reorderToCanonical(
  source: ArrayLike<number>,
  fileShape: readonly number[],
  mapping: AxisMapping,
  target: { [n: number]: number; length: number },
): void {
  const fileStride = [1, fileShape[0]!, fileShape[0]! * fileShape[1]!];
  const n = [0, 1, 2].map((a) => fileShape[mapping.axisOf[a]!]!);
  const step = [0, 1, 2].map((a) => (mapping.flip[a] ? -1 : 1) * fileStride[mapping.axisOf[a]!]!);
  let start = 0;
  for (let a = 0; a < 3; a++) {
    if (mapping.flip[a]) start += (n[a]! - 1) * fileStride[mapping.axisOf[a]!]!;
  }
  const [n0, n1, n2] = n as [number, number, number];
  const [s0, s1, s2] = step as [number, number, number];

  // The identity mapping is the common case: one straight copy.
  if (start === 0 && s0 === n1 * n2 && s1 === n2 && s2 === 1) {
    for (let q = 0; q < target.length; q++) target[q] = source[q]!;
    return;
  }
  let out = 0;
  for (let k = 0; k < n0; k++) {
    const base0 = start + k * s0;
    for (let i = 0; i < n1; i++) {
      let src = base0 + i * s1;
      for (let j = 0; j < n2; j++) {
        target[out++] = source[src]!;
        src += s2;
      }
    }
  }
}

/**
 * Letters naming where each of a grid's axes points in the patient (L/R, P/A, S/I), listed in
 * file order (fastest axis first). The letters are anatomical, so they equal nibabel's
 * `aff2axcodes`: `LPS` means the first axis runs to the patient's left, the second to the back,
 * the third to the head.
 *
 * @param axesLps - The step vectors of the axes, fastest first.
 * @returns Three letters, for example `LPS` or `RAS`.
 */
export function orientationCode(axesLps: readonly (readonly number[])[]): string {
  const positive = ['L', 'P', 'S'];
  const negative = ['R', 'A', 'I'];
  return axesLps
    .map((v) => {
      let bestR = 0;
      for (let r = 1; r < 3; r++) if (Math.abs(v[r]!) > Math.abs(v[bestR]!)) bestR = r;
      return (v[bestR]! >= 0 ? positive : negative)[bestR]!;
    })
    .join('');
}

/**
 * The orientation letters of a canonical geometry, axes listed columns, rows, slices (the
 * order a file stores them in).
 *
 * @param geometry - Any geometry.
 * @returns Three letters; `LPS` for the canonical axial layout.
 */
export function geometryOrientation(geometry: VolumeGeometry): string {
  const d = geometry.direction;
  const column = (a: number) => [d[a]!, d[3 + a]!, d[6 + a]!];
  return orientationCode([column(2), column(1), column(0)]);
}
