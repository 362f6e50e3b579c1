import { describe, expect, it } from 'vitest';

import {
  LUNG_CLASSES,
  createCtVolume,
  createGeometry,
  createLabelMap,
  isLesionEncError,
  voxelToWorldMm,
} from '@lesionenc/base';

import { resampleGeometry, resampleLabels, resampleVolume, resizeImageLinear } from './resample';

const MM_TOLERANCE = 1e-9;
const HU_TOLERANCE = 1e-3;

describe('resampling', () => {
  const geometry = createGeometry({
    shape: [4, 6, 8],
    spacingMm: [2.5, 0.8, 0.8],
    originMm: [-10, -20, 30],
  });

  it('keeps the physical extent when resampling to a matrix', () => {
    const target = resampleGeometry(geometry, { shape: [10, 3, 4] });
    [1, 1.6, 1.6].forEach((s, a) => expect(target.spacingMm[a]).toBeCloseTo(s, 12));
    // The first voxel edge stays put: new centre = old edge + half a new voxel.
    const oldEdge = voxelToWorldMm(geometry, [-0.5, -0.5, -0.5]);
    const newEdge = voxelToWorldMm(target, [-0.5, -0.5, -0.5]);
    oldEdge.forEach((v, a) => expect(Math.abs(v - newEdge[a]!)).toBeLessThan(MM_TOLERANCE));
  });

  it('rounds the matrix for a spacing target', () => {
    expect(resampleGeometry(geometry, { spacingMm: [1, 1, 1] }).shape).toEqual([10, 5, 6]);
    try {
      resampleGeometry(geometry, { spacingMm: [1, 0, 1] });
      expect.unreachable();
    } catch (error) {
      expect(isLesionEncError(error, 'INVALID_ARGUMENT')).toBe(true);
    }
  });

  it('reproduces a linear ramp exactly inside the volume', () => {
    // HU = 10 * z(mm) + 3 * x(mm): trilinear interpolation is exact on it away from the edges.
    const data = new Float32Array(4 * 6 * 8);
    const value = (p: readonly number[]) => 10 * p[2]! + 3 * p[0]!;
    for (let k = 0; k < 4; k++)
      for (let i = 0; i < 6; i++)
        for (let j = 0; j < 8; j++)
          data[(k * 6 + i) * 8 + j] = value(voxelToWorldMm(geometry, [k, i, j]));
    const volume = createCtVolume(data, geometry);
    const out = resampleVolume(volume, { spacingMm: [1.25, 0.5, 0.5] });
    const [s, r, c] = out.geometry.shape;
    let checked = 0;
    for (let k = 2; k < s - 2; k++)
      for (let i = 1; i < r - 1; i++)
        for (let j = 1; j < c - 1; j++) {
          const expected = value(voxelToWorldMm(out.geometry, [k, i, j]));
          expect(Math.abs(out.data[(k * r + i) * c + j]! - expected)).toBeLessThan(HU_TOLERANCE);
          checked++;
        }
    expect(checked).toBeGreaterThan(100);
  });

  it('keeps Int16 volumes Int16', () => {
    const volume = createCtVolume(new Int16Array(4 * 6 * 8).fill(-700), geometry);
    const out = resampleVolume(volume, { shape: [2, 3, 4] });
    expect(out.data).toBeInstanceOf(Int16Array);
    expect(out.data.every((v) => v === -700)).toBe(true);
  });

  it('resamples labels by nearest neighbour, creating no new values', () => {
    const data = new Uint8Array(4 * 6 * 8);
    for (let n = 0; n < data.length; n++) data[n] = n % 8 < 4 ? 1 : 2;
    const labels = createLabelMap(data, geometry, LUNG_CLASSES);
    const out = resampleLabels(labels, { shape: [8, 12, 16] });
    expect(new Set(out.data)).toEqual(new Set([1, 2]));
    // Column j of the new grid maps to column floor(j / 2) of the old one.
    expect(out.data[3]).toBe(1);
    expect(out.data[8]).toBe(2);
    expect(out.classes).toEqual(LUNG_CLASSES);
  });

  it('resizes a 2D image bilinearly', () => {
    const out = resizeImageLinear([0, 10, 20, 30], 2, 2, 4, 4);
    // Corners replicate the edges; the centre is the mean.
    expect(out[0]).toBe(0);
    expect(out[15]).toBe(30);
    expect(out[5]).toBeCloseTo(7.5, 5);
  });
});
