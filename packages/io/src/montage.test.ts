// Montage tiles are the single-slice overlays, placed row by row.
import { LESION_CLASSES, createCtVolume, createLabelMap, isLesionEncError } from '@lesionenc/base';
import { describe, expect, it } from 'vitest';

import { renderOverlayMontage } from './montage';
import { renderOverlay } from './overlay';

describe('renderOverlayMontage', () => {
  const shape: [number, number, number] = [5, 12, 10];
  const count = shape[0] * shape[1] * shape[2];
  const volume = createCtVolume(
    Int16Array.from({ length: count }, (_, i) => -1000 + (i % 700)),
    { shape },
  );
  const data = new Uint8Array(count);
  for (const k of [1, 3]) data[k * 120 + 5 * 10 + 5] = 1;
  const labels = createLabelMap(data, { shape }, LESION_CLASSES);

  it('places each requested slice as its own overlay tile', () => {
    const montage = renderOverlayMontage(volume, labels, { slices: [0, 1, 3], columns: 2 });
    const tile = renderOverlay(volume, labels, { slice: 3 });
    expect(montage.width).toBe(2 * tile.width + 4);
    expect(montage.height).toBe(2 * tile.height + 4);
    // The third tile (slice 3) starts the second row.
    const y0 = tile.height + 4;
    for (let y = 0; y < tile.height; y++) {
      const row = montage.rgb.subarray(
        (y0 + y) * montage.width * 3,
        (y0 + y) * montage.width * 3 + tile.width * 3,
      );
      expect(Array.from(row)).toEqual(
        Array.from(tile.rgb.subarray(y * tile.width * 3, (y + 1) * tile.width * 3)),
      );
    }
  });

  it('defaults to the labelled slices and rejects an empty list', () => {
    const montage = renderOverlayMontage(volume, labels, { columns: 4 });
    const tile = renderOverlay(volume, labels, { slice: 1 });
    expect(montage.width).toBe(2 * tile.width + 4);
    try {
      renderOverlayMontage(volume, labels, { slices: [] });
      expect.unreachable('should have thrown');
    } catch (error) {
      expect(isLesionEncError(error) && error.code).toBe('INVALID_ARGUMENT');
    }
  });
});
