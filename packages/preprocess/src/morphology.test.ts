import { describe, expect, it } from 'vitest';

import {
  closeMask2d,
  dilateMask2d,
  erodeMask2d,
  fillHoles2d,
  labelComponents2d,
  labelComponents3d,
  squaredDistanceToMask2d,
} from './morphology';

const MM2_TOLERANCE = 1e-6;

describe('morphology', () => {
  it('computes exact Euclidean distances with anisotropic pixels', () => {
    const [rows, columns] = [9, 11];
    const mask = new Uint8Array(rows * columns);
    mask[4 * columns + 5] = 1;
    mask[0] = 1;
    const d2 = squaredDistanceToMask2d(mask, rows, columns, 0.5, 2);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < columns; j++) {
        const brute = Math.min(
          ((i - 4) * 0.5) ** 2 + ((j - 5) * 2) ** 2,
          (i * 0.5) ** 2 + (j * 2) ** 2,
        );
        expect(Math.abs(d2[i * columns + j]! - brute)).toBeLessThan(MM2_TOLERANCE);
      }
    }
  });

  it('dilates a point into a disk of the radius in mm, and erodes it back', () => {
    const shape = [1, 21, 21] as const;
    const mask = new Uint8Array(21 * 21);
    mask[10 * 21 + 10] = 1;
    const disk = dilateMask2d(mask, shape, [1, 1, 1], 5);
    let count = 0;
    for (let i = 0; i < 21; i++)
      for (let j = 0; j < 21; j++) {
        const inside = (i - 10) ** 2 + (j - 10) ** 2 <= 25;
        expect(disk[i * 21 + j]).toBe(inside ? 1 : 0);
        count += inside ? 1 : 0;
      }
    expect(count).toBe(81);
    const back = erodeMask2d(disk, shape, [1, 1, 1], 5);
    expect(back.reduce((s, v) => s + v, 0)).toBe(1);
  });

  it('closes a gap narrower than the disk and keeps the original', () => {
    const shape = [1, 10, 20] as const;
    const mask = new Uint8Array(200);
    for (let i = 2; i < 8; i++)
      for (let j = 0; j < 20; j++) if (j < 9 || j > 10) mask[i * 20 + j] = 1;
    const closed = closeMask2d(mask, shape, [1, 1, 1], 2);
    expect(closed[5 * 20 + 9]).toBe(1);
    expect(closed[0]).toBe(0);
    expect(mask.every((v, n) => v === 0 || closed[n] === 1)).toBe(true);
  });

  it('fills enclosed holes but not open bays', () => {
    const shape = [1, 7, 7] as const;
    const mask = new Uint8Array(49);
    for (let i = 1; i < 6; i++) for (let j = 1; j < 6; j++) mask[i * 7 + j] = 1;
    mask[3 * 7 + 3] = 0;
    // A bay: (3, 1) opens onto the empty border column 0.
    mask[3 * 7 + 1] = 0;
    const filled = fillHoles2d(mask, shape);
    expect(filled[3 * 7 + 3]).toBe(1);
    expect(filled[2 * 7 + 3]).toBe(1);
    expect(filled[3 * 7 + 1]).toBe(0);
  });

  it('labels 3D components with 6- and 26-connectivity', () => {
    const shape = [2, 3, 3] as const;
    const mask = new Uint8Array(18);
    mask[0] = 1; // (0,0,0)
    mask[9 + 4] = 1; // (1,1,1): touches (0,0,0) only by a corner
    mask[9 + 8] = 1; // (1,2,2): touches (1,1,1) only by an edge
    expect(labelComponents3d(mask, shape, 6).sizes).toEqual([1, 1, 1]);
    expect(labelComponents3d(mask, shape, 18).sizes).toEqual([1, 2]);
    expect(labelComponents3d(mask, shape, 26).sizes).toEqual([3]);
    const planar = labelComponents2d(mask, shape, 8);
    expect(planar.sizes).toEqual([1, 2]);
  });
});
