import { describe, expect, it } from 'vitest';

import { isLesionEncError } from './errors';
import {
  createGeometry,
  cropGeometry,
  geometryFromAffine,
  sameGrid,
  voxelToWorldAffine,
  voxelToWorldMm,
  worldMmToVoxel,
} from './geometry';

const MM_TOLERANCE = 1e-9;

describe('geometry', () => {
  // An oblique, anisotropic grid: a rotation of 30 degrees about z.
  const c = Math.cos(Math.PI / 6);
  const s = Math.sin(Math.PI / 6);
  const oblique = createGeometry({
    shape: [40, 64, 80],
    spacingMm: [2.5, 0.7, 0.8],
    originMm: [-120, -100, 300],
    direction: [0, c, -s, 0, s, c, 1, 0, 0],
  });

  it('maps voxel (0,0,0) to the origin and steps by spacing along each axis', () => {
    expect(voxelToWorldMm(oblique, [0, 0, 0])).toEqual([-120, -100, 300]);
    const [x, y, z] = voxelToWorldMm(oblique, [2, 0, 0]);
    expect([x, y, z - 300]).toEqual([-120, -100, 5]);
    const p = voxelToWorldMm(oblique, [0, 10, 0]);
    expect(p[0]! + 120).toBeCloseTo(7 * c, 12);
    expect(p[1]! + 100).toBeCloseTo(7 * s, 12);
  });

  it('round-trips world and voxel coordinates', () => {
    for (const voxel of [
      [0, 0, 0],
      [39, 63, 79],
      [12.5, 3.25, 70.1],
    ]) {
      const back = worldMmToVoxel(oblique, voxelToWorldMm(oblique, voxel));
      back.forEach((v, a) => expect(Math.abs(v - voxel[a]!)).toBeLessThan(MM_TOLERANCE));
    }
  });

  it('rebuilds the same geometry from its affine', () => {
    const rebuilt = geometryFromAffine(oblique.shape, voxelToWorldAffine(oblique));
    expect(sameGrid(rebuilt, oblique)).toBe(true);
    expect(rebuilt.spacingMm[0]).toBeCloseTo(2.5, 12);
  });

  it('moves the origin of a crop to the crop corner', () => {
    const crop = cropGeometry(oblique, [5, 10, 20], [10, 20, 30]);
    expect(crop.shape).toEqual([10, 20, 30]);
    expect(voxelToWorldMm(crop, [0, 0, 0])).toEqual(voxelToWorldMm(oblique, [5, 10, 20]));
    expect(() => cropGeometry(oblique, [35, 0, 0], [10, 1, 1])).toThrow(/outside/);
  });

  it.each([
    ['zero slices', { shape: [0, 4, 4] }, /shape/],
    ['fractional rows', { shape: [1, 4.5, 4] }, /shape/],
    ['negative spacing', { shape: [1, 4, 4], spacingMm: [1, -1, 1] }, /spacingMm/],
    ['NaN origin', { shape: [1, 4, 4], originMm: [0, Number.NaN, 0] }, /originMm/],
    [
      'sheared direction',
      { shape: [1, 4, 4], direction: [1, 0.5, 0, 0, 1, 0, 0, 0, 1] },
      /orthonormal/,
    ],
  ])('rejects %s with INVALID_GEOMETRY', (_name, init, message) => {
    try {
      createGeometry(init);
      expect.unreachable();
    } catch (error) {
      expect(isLesionEncError(error, 'INVALID_GEOMETRY')).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
  });
});
