import { describe, expect, it } from 'vitest';

import { createCtVolume, isLesionEncError } from '@lesionenc/base';

import { computeBodyMask, cropToBody } from './body';

/** A body ellipse with two dark lungs, lying on a table, in air. */
function chest(slices: number, rows: number, columns: number): Int16Array {
  const data = new Int16Array(slices * rows * columns).fill(-1000);
  for (let k = 0; k < slices; k++) {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < columns; j++) {
        const y = (i - rows * 0.45) / (rows * 0.3);
        const x = (j - columns / 2) / (columns * 0.38);
        const n = (k * rows + i) * columns + j;
        if (x * x + y * y < 1) data[n] = 40;
        const lx = (Math.abs(j - columns / 2) - columns * 0.18) / (columns * 0.12);
        const ly = (i - rows * 0.45) / (rows * 0.2);
        if (lx * lx + ly * ly < 1) data[n] = -850;
        // The table: a thin bright band below the body, with a gap.
        if (i >= Math.round(rows * 0.8) && i < Math.round(rows * 0.83)) data[n] = 200;
      }
    }
  }
  return data;
}

describe('body mask', () => {
  const [slices, rows, columns] = [3, 96, 120];
  const volume = createCtVolume(chest(slices, rows, columns), {
    shape: [slices, rows, columns],
    spacingMm: [5, 3, 3],
  });

  it('covers the body including the lungs, and not the table or the air', () => {
    const body = computeBodyMask(volume, { workingSize: 96 });
    const at = (k: number, i: number, j: number) => body.data[(k * rows + i) * columns + j];
    expect(at(1, Math.round(rows * 0.45), Math.round(columns * 0.32))).toBe(1);
    expect(at(1, Math.round(rows * 0.45), Math.round(columns / 2))).toBe(1);
    expect(at(1, Math.round(rows * 0.815), Math.round(columns / 2))).toBe(0);
    expect(at(1, 2, 2)).toBe(0);
  });

  it('crops to the body with new geometry', () => {
    const crop = cropToBody(volume, { marginPixels: 1, workingSize: 96 });
    const { box } = crop;
    expect(box.columnStart).toBeGreaterThan(0);
    expect(box.columnEnd).toBeLessThan(columns);
    expect(box.rowEnd).toBeLessThan(Math.round(rows * 0.8));
    expect(crop.volume.geometry.shape).toEqual([
      slices,
      box.rowEnd - box.rowStart,
      box.columnEnd - box.columnStart,
    ]);
    expect(crop.volume.geometry.originMm[0]).toBeCloseTo(box.columnStart * 3, 9);
    expect(crop.volume.geometry.originMm[1]).toBeCloseTo(box.rowStart * 3, 9);
    const [, cr, cc] = crop.volume.geometry.shape;
    const centre = (1 * cr + Math.floor(cr / 2)) * cc + Math.floor(cc / 2);
    expect(crop.volume.data[centre]).toBe(
      volume.data[
        (rows + box.rowStart + Math.floor(cr / 2)) * columns + box.columnStart + Math.floor(cc / 2)
      ],
    );
  });

  it('reports DEGENERATE_INPUT for a volume of air', () => {
    const air = createCtVolume(new Int16Array(2 * 32 * 32).fill(-1000), { shape: [2, 32, 32] });
    try {
      cropToBody(air);
      expect.unreachable();
    } catch (error) {
      expect(isLesionEncError(error, 'DEGENERATE_INPUT')).toBe(true);
    }
  });
});
