// Hausdorff distances on real chest CT lung masks (LESIONENC_DATA_DIR) against brute force.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { createGeometry } from '@lesionenc/base';
import { describe, expect, it } from 'vitest';

import { evaluateSegmentation, hausdorffDistanceMm } from './segmentation';

const dataDir = process.env.LESIONENC_DATA_DIR;
/** Distances computed two ways from the same squared sums (mm). */
const DISTANCE_MM_TOLERANCE = 1e-9;
/** The imlab masks are stored as interpolated floats; this is their documented threshold. */
const IMLAB_MASK_THRESHOLD = 128;

/** A minimal NIfTI-1 float32 reader: voxels in file order (x fastest) as [z, y, x]. */
function readFloatNifti(path: string): {
  data: Float32Array;
  shape: number[];
  spacingMm: number[];
} {
  const bytes = gunzipSync(readFileSync(path));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = [1, 2, 3].map((d) => view.getInt16(40 + 2 * d, true));
  const pixdim = [1, 2, 3].map((d) => view.getFloat32(76 + 4 * d, true));
  const datatype = view.getInt16(70, true);
  const offset = view.getFloat32(108, true);
  if (datatype !== 16)
    throw new Error(`${path}: expected float32 voxels, got datatype ${datatype}`);
  const count = (dims[0] as number) * (dims[1] as number) * (dims[2] as number);
  const data = new Float32Array(count);
  for (let n = 0; n < count; n++) data[n] = view.getFloat32(offset + 4 * n, true);
  return {
    data,
    shape: [dims[2], dims[1], dims[0]] as number[],
    spacingMm: [pixdim[2], pixdim[1], pixdim[0]] as number[],
  };
}

function surfacePoints(mask: Uint8Array, shape: number[], spacing: number[]): Float64Array {
  const [S, R, C] = shape as [number, number, number];
  const inside = (k: number, i: number, j: number) =>
    k >= 0 && k < S && i >= 0 && i < R && j >= 0 && j < C && mask[(k * R + i) * C + j] === 1;
  const points: number[] = [];
  for (let k = 0; k < S; k++) {
    for (let i = 0; i < R; i++) {
      for (let j = 0; j < C; j++) {
        if (!inside(k, i, j)) continue;
        const onSurface =
          !inside(k - 1, i, j) ||
          !inside(k + 1, i, j) ||
          !inside(k, i - 1, j) ||
          !inside(k, i + 1, j) ||
          !inside(k, i, j - 1) ||
          !inside(k, i, j + 1);
        if (onSurface)
          points.push(
            k * (spacing[0] as number),
            i * (spacing[1] as number),
            j * (spacing[2] as number),
          );
      }
    }
  }
  return Float64Array.from(points);
}

function bruteForceDirected(from: Float64Array, to: Float64Array): Float64Array {
  const out = new Float64Array(from.length / 3);
  for (let a = 0; a < from.length; a += 3) {
    let best = Infinity;
    const x = from[a] as number;
    const y = from[a + 1] as number;
    const z = from[a + 2] as number;
    for (let b = 0; b < to.length; b += 3) {
      const dx = x - (to[b] as number);
      const dy = y - (to[b + 1] as number);
      const dz = z - (to[b + 2] as number);
      const d = dx * dx + dy * dy + dz * dz;
      if (d < best) best = d;
    }
    out[a / 3] = Math.sqrt(best);
  }
  return out;
}

function percentileLinear(sorted: Float64Array, q: number): number {
  const virtual = (sorted.length - 1) * (q / 100);
  const lo = Math.floor(virtual);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return (
    (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (virtual - lo)
  );
}

describe.skipIf(!dataDir)('Hausdorff distance on real lung masks', () => {
  it('equals brute force over surface voxels on an anisotropic CT grid', () => {
    const nifti = readFloatNifti(
      join(dataDir as string, 'volumes/imlab/id001-128x128x64-msk.nii.gz'),
    );
    const reference = Uint8Array.from(nifti.data, (v) => (v >= IMLAB_MASK_THRESHOLD ? 1 : 0));
    // The prediction: another patient's lungs laid on the same grid, so distances spread widely.
    const other = readFloatNifti(
      join(dataDir as string, 'volumes/imlab/id002-128x128x64-msk.nii.gz'),
    );
    expect(other.shape).toEqual(nifti.shape);
    const prediction = Uint8Array.from(other.data, (v) => (v >= IMLAB_MASK_THRESHOLD ? 1 : 0));
    const geometry = createGeometry({ shape: nifti.shape, spacingMm: nifti.spacingMm });

    const a = surfacePoints(reference, nifti.shape, nifti.spacingMm);
    const b = surfacePoints(prediction, nifti.shape, nifti.spacingMm);
    const ab = bruteForceDirected(a, b);
    const ba = bruteForceDirected(b, a);
    const pooled = new Float64Array(ab.length + ba.length);
    pooled.set(ab);
    pooled.set(ba, ab.length);
    pooled.sort();
    const hd100 = pooled[pooled.length - 1] as number;

    expect(
      hausdorffDistanceMm(reference, prediction, geometry, { hausdorffPercentile: 100 }),
    ).toBeCloseTo(hd100, 9);
    const hd95 = hausdorffDistanceMm(reference, prediction, geometry) as number;
    expect(Math.abs(hd95 - percentileLinear(pooled, 95))).toBeLessThanOrEqual(
      DISTANCE_MM_TOLERANCE,
    );
    const report = evaluateSegmentation(
      [{ reference: { data: reference, geometry }, prediction: { data: prediction, geometry } }],
      { classes: [1] },
    );
    const lungs = report.perImage[0]?.classes[0];
    expect(lungs?.hausdorffMm).toBe(hd95);
    expect(hd95).toBeLessThan(hd100);
    expect(lungs?.dice).toBeGreaterThan(0.3);
    expect(lungs?.dice).toBeLessThan(1);
  });
});
