import { describe, expect, it } from 'vitest';

import { LesionEncError } from './errors';
import { LESION_CLASSES, countLabels, createCtVolume, createLabelMap, sliceView } from './volume';

describe('CT volumes and label maps', () => {
  it('wraps voxels with geometry and views one slice without copying', () => {
    const data = new Int16Array(2 * 3 * 4).map((_, n) => n - 1000);
    const volume = createCtVolume(data, { shape: [2, 3, 4], spacingMm: [5, 0.7, 0.7] });
    expect(volume.unit).toBe('HU');
    const second = sliceView(volume, 1);
    expect(second.length).toBe(12);
    expect(second[0]).toBe(12 - 1000);
    second[0] = 55;
    expect(volume.data[12]).toBe(55);
  });

  it('names the shape and the voxel in its errors', () => {
    expect(() => createCtVolume(new Int16Array(5), { shape: [1, 2, 3] })).toThrow(
      /expected 6 voxels for shape \[1, 2, 3\], got 5/,
    );
    const bad = new Float32Array(6);
    bad[4] = Number.NaN;
    try {
      createCtVolume(bad, { shape: [1, 2, 3] }, { file: 'scan.nii' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(LesionEncError);
      expect((error as LesionEncError).code).toBe('INVALID_VOLUME');
      expect((error as LesionEncError).message).toBe(
        'scan.nii: volume data: expected finite intensities, got NaN at voxel [0, 1, 1]',
      );
    }
  });

  it('checks label values against the class table and counts them', () => {
    const labels = createLabelMap(
      Uint8Array.from([0, 1, 1, 3, 0, 2]),
      { shape: [1, 2, 3] },
      LESION_CLASSES,
    );
    expect(countLabels(labels)).toEqual(
      new Map([
        [0, 2],
        [1, 2],
        [2, 1],
        [3, 1],
      ]),
    );
    expect(() =>
      createLabelMap(Uint8Array.from([0, 9]), { shape: [1, 1, 2] }, LESION_CLASSES),
    ).toThrow(/value 9 at voxel \[0, 0, 1\] is not in the class table/);
  });
});
