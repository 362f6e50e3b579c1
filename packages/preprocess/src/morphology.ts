// Binary morphology on [slices, rows, columns] masks: distance transforms, disks in mm, components.
import { LesionEncError, type AxisTriple } from '@lesionenc/base';

const FAR = 1e20;

/**
 * Squared Euclidean distance transform along one line (Felzenszwalb and Huttenlocher 2012):
 * `out[i] = min_q (spacing * (i - q))^2 + f[q]`.
 */
function distanceLine(
  f: Float64Array,
  n: number,
  spacing: number,
  out: Float64Array,
  v: Int32Array,
  z: Float64Array,
): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    const pq = q * spacing;
    const fq = f[q]! + pq * pq;
    let vk = v[k]!;
    let s = (fq - (f[vk]! + vk * spacing * vk * spacing)) / (2 * (pq - vk * spacing));
    // z[0] is -Infinity, so this stops at k = 0 at the latest.
    while (s <= z[k]!) {
      k -= 1;
      vk = v[k]!;
      s = (fq - (f[vk]! + vk * spacing * vk * spacing)) / (2 * (pq - vk * spacing));
    }
    k += 1;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    const p = q * spacing;
    while (z[k + 1]! < p) k += 1;
    const d = (q - v[k]!) * spacing;
    out[q] = d * d + f[v[k]!]!;
  }
}

/**
 * Squared in-plane distance (mm²) from every pixel of one slice to the nearest pixel where
 * `mask` is non-zero; `1e20` when the slice has none.
 *
 * @param mask - `rows * columns` values, row-major.
 * @param rows - Slice height.
 * @param columns - Slice width.
 * @param rowSpacingMm - Distance between rows, mm.
 * @param columnSpacingMm - Distance between columns, mm.
 * @param out - Optional output buffer of `rows * columns`.
 * @returns The squared distances, mm².
 */
export function squaredDistanceToMask2d(
  mask: Uint8Array,
  rows: number,
  columns: number,
  rowSpacingMm: number,
  columnSpacingMm: number,
  out: Float32Array = new Float32Array(rows * columns),
): Float32Array {
  const longest = Math.max(rows, columns);
  const f = new Float64Array(longest);
  const d = new Float64Array(longest);
  const v = new Int32Array(longest);
  const z = new Float64Array(longest + 1);
  const work = new Float64Array(rows * columns);
  for (let i = 0; i < rows; i++) {
    const start = i * columns;
    for (let j = 0; j < columns; j++) f[j] = mask[start + j] !== 0 ? 0 : FAR;
    distanceLine(f, columns, columnSpacingMm, d, v, z);
    for (let j = 0; j < columns; j++) work[start + j] = Math.min(d[j]!, FAR);
  }
  for (let j = 0; j < columns; j++) {
    for (let i = 0; i < rows; i++) f[i] = work[i * columns + j]!;
    distanceLine(f, rows, rowSpacingMm, d, v, z);
    for (let i = 0; i < rows; i++) out[i * columns + j] = Math.min(d[i]!, FAR);
  }
  return out;
}

function checkMask(mask: Uint8Array, shape: AxisTriple, what: string): void {
  if (mask.length !== shape[0] * shape[1] * shape[2]) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `${what}: expected ${shape[0] * shape[1] * shape[2]} voxels for shape [${shape.join(', ')}], got ${mask.length}`,
    );
  }
}

/**
 * Dilates a mask slice by slice with a disk of the given radius in mm (exact, through the
 * distance transform, so the cost does not grow with the radius).
 *
 * @param mask - `[slices, rows, columns]` mask.
 * @param shape - Its shape.
 * @param spacingMm - Its spacing (the slice spacing is not used).
 * @param radiusMm - Disk radius, mm.
 * @returns A new mask of 0/1.
 */
export function dilateMask2d(
  mask: Uint8Array,
  shape: AxisTriple,
  spacingMm: AxisTriple,
  radiusMm: number,
): Uint8Array {
  checkMask(mask, shape, 'dilate');
  const [slices, rows, columns] = shape;
  const size = rows * columns;
  const out = new Uint8Array(mask.length);
  const dist = new Float32Array(size);
  const r2 = radiusMm * radiusMm + 1e-6;
  for (let k = 0; k < slices; k++) {
    const slice = mask.subarray(k * size, (k + 1) * size);
    squaredDistanceToMask2d(slice, rows, columns, spacingMm[1], spacingMm[2], dist);
    const o = k * size;
    for (let n = 0; n < size; n++) out[o + n] = dist[n]! <= r2 ? 1 : 0;
  }
  return out;
}

/**
 * Erodes a mask slice by slice with a disk of the given radius in mm. Pixels beyond the image
 * edge count as foreground, so nothing is eroded from the edge of the image.
 *
 * @param mask - `[slices, rows, columns]` mask.
 * @param shape - Its shape.
 * @param spacingMm - Its spacing.
 * @param radiusMm - Disk radius, mm.
 * @returns A new mask of 0/1.
 */
export function erodeMask2d(
  mask: Uint8Array,
  shape: AxisTriple,
  spacingMm: AxisTriple,
  radiusMm: number,
): Uint8Array {
  const inverted = new Uint8Array(mask.length);
  for (let n = 0; n < mask.length; n++) inverted[n] = mask[n] === 0 ? 1 : 0;
  const grown = dilateMask2d(inverted, shape, spacingMm, radiusMm);
  for (let n = 0; n < grown.length; n++) grown[n] = grown[n] === 0 ? 1 : 0;
  return grown;
}

/**
 * Morphological closing (dilation then erosion) slice by slice with a disk in mm, computed on
 * a padded copy so the image edge neither adds nor removes anything.
 *
 * @returns A new mask of 0/1 that contains the input.
 */
export function closeMask2d(
  mask: Uint8Array,
  shape: AxisTriple,
  spacingMm: AxisTriple,
  radiusMm: number,
): Uint8Array {
  checkMask(mask, shape, 'close');
  // Pad by more than the radius, so what the dilation pushes past the edge can erode back.
  const [slices, rows, columns] = shape;
  const padRows = Math.ceil(radiusMm / spacingMm[1]) + 1;
  const padColumns = Math.ceil(radiusMm / spacingMm[2]) + 1;
  const paddedRows = rows + 2 * padRows;
  const paddedColumns = columns + 2 * padColumns;
  const padded = new Uint8Array(slices * paddedRows * paddedColumns);
  for (let k = 0; k < slices; k++) {
    for (let i = 0; i < rows; i++) {
      const from = (k * rows + i) * columns;
      padded.set(
        mask.subarray(from, from + columns),
        (k * paddedRows + i + padRows) * paddedColumns + padColumns,
      );
    }
  }
  const paddedShape: AxisTriple = [slices, paddedRows, paddedColumns];
  const grown = dilateMask2d(padded, paddedShape, spacingMm, radiusMm);
  const closedPadded = erodeMask2d(grown, paddedShape, spacingMm, radiusMm);
  const closed = new Uint8Array(mask.length);
  for (let k = 0; k < slices; k++) {
    for (let i = 0; i < rows; i++) {
      const from = (k * paddedRows + i + padRows) * paddedColumns + padColumns;
      closed.set(closedPadded.subarray(from, from + columns), (k * rows + i) * columns);
    }
  }
  for (let n = 0; n < closed.length; n++) if (mask[n] !== 0) closed[n] = 1;
  return closed;
}

/**
 * Morphological opening (erosion then dilation) slice by slice with a disk in mm.
 *
 * @returns A new mask of 0/1 inside the input.
 */
export function openMask2d(
  mask: Uint8Array,
  shape: AxisTriple,
  spacingMm: AxisTriple,
  radiusMm: number,
): Uint8Array {
  const opened = dilateMask2d(
    erodeMask2d(mask, shape, spacingMm, radiusMm),
    shape,
    spacingMm,
    radiusMm,
  );
  for (let n = 0; n < opened.length; n++) if (mask[n] === 0) opened[n] = 0;
  return opened;
}

/** Connected components of a mask. */
export interface Components {
  /** Component id per voxel, 1-based; 0 outside the mask. */
  readonly labels: Int32Array;
  /** Voxel count per component: `sizes[id - 1]`. */
  readonly sizes: readonly number[];
}

/**
 * Labels the connected components of a 3D mask (breadth-first, iterative).
 *
 * @param mask - `[slices, rows, columns]` mask.
 * @param shape - Its shape.
 * @param connectivity - 6 (faces), 18 (faces and edges) or 26 (and corners). @defaultValue 6
 * @returns The labels and the size of each component.
 */
export function labelComponents3d(
  mask: Uint8Array,
  shape: AxisTriple,
  connectivity: 6 | 18 | 26 = 6,
): Components {
  checkMask(mask, shape, 'components');
  const [slices, rows, columns] = shape;
  const offsets: [number, number, number][] = [];
  for (let dk = -1; dk <= 1; dk++) {
    for (let di = -1; di <= 1; di++) {
      for (let dj = -1; dj <= 1; dj++) {
        const order = Math.abs(dk) + Math.abs(di) + Math.abs(dj);
        if (order === 0) continue;
        if (connectivity === 6 && order > 1) continue;
        if (connectivity === 18 && order > 2) continue;
        offsets.push([dk, di, dj]);
      }
    }
  }
  const labels = new Int32Array(mask.length);
  const queue = new Int32Array(mask.length);
  const sizes: number[] = [];
  const size = rows * columns;
  if (connectivity === 6) {
    labelFaces(mask, shape, labels, queue, sizes);
    return { labels, sizes };
  }
  for (let seed = 0; seed < mask.length; seed++) {
    if (mask[seed] === 0 || labels[seed] !== 0) continue;
    const id = sizes.length + 1;
    let head = 0;
    let tail = 0;
    queue[tail++] = seed;
    labels[seed] = id;
    while (head < tail) {
      const n = queue[head++]!;
      const k = Math.floor(n / size);
      const rem = n - k * size;
      const i = Math.floor(rem / columns);
      const j = rem - i * columns;
      for (const [dk, di, dj] of offsets) {
        const kk = k + dk;
        const ii = i + di;
        const jj = j + dj;
        if (kk < 0 || kk >= slices || ii < 0 || ii >= rows || jj < 0 || jj >= columns) continue;
        const m = n + dk * size + di * columns + dj;
        if (mask[m] !== 0 && labels[m] === 0) {
          labels[m] = id;
          queue[tail++] = m;
        }
      }
    }
    sizes.push(tail);
  }
  return { labels, sizes };
}

/** The 6-connected labelling: each unlabelled mask voxel seeds a component grown from it. */
function labelFaces(
  mask: Uint8Array,
  shape: AxisTriple,
  labels: Int32Array,
  queue: Int32Array,
  sizes: number[],
): void {
  for (let seed = 0; seed < mask.length; seed++) {
    if (mask[seed] === 0 || labels[seed] !== 0) continue;
    labels[seed] = sizes.length + 1;
    queue[0] = seed;
    sizes.push(growLabels6(labels, mask, shape, queue, 1));
  }
}

/**
 * Breadth-first growth of labels through a mask, 6-connected: every voxel in `queue[0..count)`
 * passes its label to the neighbours inside the mask that have none yet, and so on until no
 * voxel is left. One call grows several sources at once (each voxel goes to the nearest).
 *
 * @param labels - Labels, non-zero on the queued voxels; filled in place.
 * @param mask - `[slices, rows, columns]` mask the growth stays inside.
 * @param shape - Its shape.
 * @param queue - Work space of the mask's length, holding the sources first.
 * @param count - How many sources `queue` holds.
 * @returns How many voxels the queue held at the end (sources included).
 */
export function growLabels6(
  labels: Uint8Array | Int32Array,
  mask: Uint8Array,
  shape: AxisTriple,
  queue: Int32Array,
  count: number,
): number {
  const [slices, rows, columns] = shape;
  const size = rows * columns;
  let head = 0;
  let tail = count;
  // The six neighbour tests are written out: this is the hot loop of every labelling.
  while (head < tail) {
    const n = queue[head++]!;
    const label = labels[n]!;
    const j = n % columns;
    const rest = (n - j) / columns;
    const i = rest % rows;
    const k = (rest - i) / rows;
    let m = n - 1;
    if (j > 0 && mask[m] !== 0 && labels[m] === 0) {
      labels[m] = label;
      queue[tail++] = m;
    }
    m = n + 1;
    if (j < columns - 1 && mask[m] !== 0 && labels[m] === 0) {
      labels[m] = label;
      queue[tail++] = m;
    }
    m = n - columns;
    if (i > 0 && mask[m] !== 0 && labels[m] === 0) {
      labels[m] = label;
      queue[tail++] = m;
    }
    m = n + columns;
    if (i < rows - 1 && mask[m] !== 0 && labels[m] === 0) {
      labels[m] = label;
      queue[tail++] = m;
    }
    m = n - size;
    if (k > 0 && mask[m] !== 0 && labels[m] === 0) {
      labels[m] = label;
      queue[tail++] = m;
    }
    m = n + size;
    if (k < slices - 1 && mask[m] !== 0 && labels[m] === 0) {
      labels[m] = label;
      queue[tail++] = m;
    }
  }
  return tail;
}

/**
 * Labels the connected components of each slice separately (4- or 8-connected in the plane);
 * ids are unique across the whole volume.
 *
 * @param mask - `[slices, rows, columns]` mask.
 * @param shape - Its shape.
 * @param connectivity - 4 or 8. @defaultValue 4
 * @returns The labels and the size of each component.
 */
export function labelComponents2d(
  mask: Uint8Array,
  shape: AxisTriple,
  connectivity: 4 | 8 = 4,
): Components {
  checkMask(mask, shape, 'components');
  const [, rows, columns] = shape;
  const offsets: [number, number][] =
    connectivity === 4
      ? [
          [-1, 0],
          [1, 0],
          [0, -1],
          [0, 1],
        ]
      : [
          [-1, -1],
          [-1, 0],
          [-1, 1],
          [0, -1],
          [0, 1],
          [1, -1],
          [1, 0],
          [1, 1],
        ];
  const labels = new Int32Array(mask.length);
  const queue = new Int32Array(rows * columns);
  const sizes: number[] = [];
  const size = rows * columns;
  for (let seed = 0; seed < mask.length; seed++) {
    if (mask[seed] === 0 || labels[seed] !== 0) continue;
    const id = sizes.length + 1;
    const base = seed - (seed % size);
    let head = 0;
    let tail = 0;
    queue[tail++] = seed - base;
    labels[seed] = id;
    while (head < tail) {
      const p = queue[head++]!;
      const j = p % columns;
      const i = (p - j) / columns;
      if (connectivity === 4) {
        const n = base + p;
        if (j > 0 && mask[n - 1] !== 0 && labels[n - 1] === 0) {
          labels[n - 1] = id;
          queue[tail++] = p - 1;
        }
        if (j < columns - 1 && mask[n + 1] !== 0 && labels[n + 1] === 0) {
          labels[n + 1] = id;
          queue[tail++] = p + 1;
        }
        if (i > 0 && mask[n - columns] !== 0 && labels[n - columns] === 0) {
          labels[n - columns] = id;
          queue[tail++] = p - columns;
        }
        if (i < rows - 1 && mask[n + columns] !== 0 && labels[n + columns] === 0) {
          labels[n + columns] = id;
          queue[tail++] = p + columns;
        }
        continue;
      }
      for (const [di, dj] of offsets) {
        const ii = i + di;
        const jj = j + dj;
        if (ii < 0 || ii >= rows || jj < 0 || jj >= columns) continue;
        const q = ii * columns + jj;
        if (mask[base + q] !== 0 && labels[base + q] === 0) {
          labels[base + q] = id;
          queue[tail++] = q;
        }
      }
    }
    sizes.push(tail);
  }
  return { labels, sizes };
}

/**
 * Fills the holes of each slice: background pixels that cannot reach the slice border through
 * 4-connected background become foreground.
 *
 * @param mask - `[slices, rows, columns]` mask.
 * @param shape - Its shape.
 * @returns A new mask of 0/1.
 */
export function fillHoles2d(mask: Uint8Array, shape: AxisTriple): Uint8Array {
  checkMask(mask, shape, 'fill holes');
  const [slices, rows, columns] = shape;
  const size = rows * columns;
  const out = new Uint8Array(mask.length);
  const outside = new Uint8Array(size);
  const queue = new Int32Array(size);
  for (let k = 0; k < slices; k++) {
    const base = k * size;
    outside.fill(0);
    let tail = 0;
    for (let p = 0; p < size; p++) {
      const j = p % columns;
      const edge = p < columns || p >= size - columns || j === 0 || j === columns - 1;
      if (edge && mask[base + p] === 0) {
        outside[p] = 1;
        queue[tail++] = p;
      }
    }
    let head = 0;
    while (head < tail) {
      const p = queue[head++]!;
      const j = p % columns;
      let q = p - columns;
      if (p >= columns && outside[q] === 0 && mask[base + q] === 0) {
        outside[q] = 1;
        queue[tail++] = q;
      }
      q = p + columns;
      if (q < size && outside[q] === 0 && mask[base + q] === 0) {
        outside[q] = 1;
        queue[tail++] = q;
      }
      q = p - 1;
      if (j > 0 && outside[q] === 0 && mask[base + q] === 0) {
        outside[q] = 1;
        queue[tail++] = q;
      }
      q = p + 1;
      if (j < columns - 1 && outside[q] === 0 && mask[base + q] === 0) {
        outside[q] = 1;
        queue[tail++] = q;
      }
    }
    for (let p = 0; p < size; p++) out[base + p] = outside[p] === 1 ? 0 : 1;
  }
  return out;
}
