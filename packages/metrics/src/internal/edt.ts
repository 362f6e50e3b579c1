// Exact Euclidean distance transform on an anisotropic 3D grid (Felzenszwalb and Huttenlocher 2012).

/**
 * Squared distance transform in one dimension: `out[p] = min_q ((p - q) spacing)^2 + f[q]`,
 * by the lower envelope of parabolas rooted at the finite samples of f. Infinite samples are
 * left out of the envelope; a line with none finite stays infinite.
 */
function transformLine(
  f: Float64Array,
  n: number,
  spacing: number,
  out: Float64Array,
  roots: Int32Array,
  bounds: Float64Array,
): void {
  const s2 = spacing * spacing;
  let k = -1;
  for (let q = 0; q < n; q++) {
    const fq = f[q] as number;
    if (fq === Infinity) continue;
    if (k < 0) {
      k = 0;
      roots[0] = q;
      bounds[0] = -Infinity;
      bounds[1] = Infinity;
      continue;
    }
    // Where the parabola at q crosses the last one of the envelope, in index units.
    let crossing: number;
    for (;;) {
      const v = roots[k] as number;
      crossing = (fq + s2 * q * q - ((f[v] as number) + s2 * v * v)) / (2 * s2 * (q - v));
      if (crossing <= (bounds[k] as number) && k > 0) k--;
      else break;
    }
    k++;
    roots[k] = q;
    bounds[k] = crossing;
    bounds[k + 1] = Infinity;
  }
  if (k < 0) {
    out.fill(Infinity, 0, n);
    return;
  }
  let j = 0;
  for (let p = 0; p < n; p++) {
    while ((bounds[j + 1] as number) < p) j++;
    const v = roots[j] as number;
    const d = (p - v) * spacing;
    out[p] = d * d + (f[v] as number);
  }
}

/**
 * Squared Euclidean distance (mm²) from every voxel to the nearest seed voxel, exact, with
 * spacing per axis. Separable: one 1D transform per axis, columns, rows and then slices.
 *
 * @param seeds - 1 where distance is zero, `[slices, rows, columns]` order.
 * @param shape - `[slices, rows, columns]`.
 * @param spacingMm - Spacing per axis, mm.
 * @returns Squared distances, Infinity everywhere when there is no seed.
 */
export function squaredDistanceTransform(
  seeds: Uint8Array,
  shape: readonly [number, number, number],
  spacingMm: readonly [number, number, number],
): Float64Array {
  const [slices, rows, columns] = shape;
  const dist = new Float64Array(seeds.length);
  for (let i = 0; i < seeds.length; i++) dist[i] = seeds[i] === 1 ? 0 : Infinity;
  const longest = Math.max(slices, rows, columns);
  const line = new Float64Array(longest);
  const out = new Float64Array(longest);
  const roots = new Int32Array(longest);
  const bounds = new Float64Array(longest + 1);

  const runAxis = (n: number, stride: number, spacing: number, lineStarts: number[]) => {
    if (n === 1) return;
    for (const start of lineStarts) {
      for (let p = 0; p < n; p++) line[p] = dist[start + p * stride] as number;
      transformLine(line, n, spacing, out, roots, bounds);
      for (let p = 0; p < n; p++) dist[start + p * stride] = out[p] as number;
    }
  };

  const plane = rows * columns;
  const columnLines: number[] = [];
  for (let s = 0; s < slices * rows; s++) columnLines.push(s * columns);
  runAxis(columns, 1, spacingMm[2], columnLines);
  const rowLines: number[] = [];
  for (let s = 0; s < slices; s++) for (let c = 0; c < columns; c++) rowLines.push(s * plane + c);
  runAxis(rows, columns, spacingMm[1], rowLines);
  const sliceLines: number[] = [];
  for (let i = 0; i < plane; i++) sliceLines.push(i);
  runAxis(slices, plane, spacingMm[0], sliceLines);
  return dist;
}
