// Label PNGs keep the slice's size and its class indices exactly.
import { LESION_CLASSES, createLabelMap, isLesionEncError } from '@lesionenc/base';
import { describe, expect, it } from 'vitest';

import { encodeLabelPng } from './label-png';
import { decodeSliceLabels } from './slice-image';

describe('encodeLabelPng', () => {
  const data = new Uint8Array(2 * 3 * 5);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 4;
  const labels = createLabelMap(data, { shape: [2, 3, 5] }, LESION_CLASSES);

  it('round-trips each slice with its width, height and class values', async () => {
    for (const slice of [0, 1]) {
      const back = await decodeSliceLabels(await encodeLabelPng(labels, slice), LESION_CLASSES);
      expect(back.geometry.shape).toEqual([1, 3, 5]);
      expect(Array.from(back.data)).toEqual(Array.from(data.subarray(slice * 15, slice * 15 + 15)));
    }
  });

  it('rejects a slice outside the map with INVALID_ARGUMENT', async () => {
    try {
      await encodeLabelPng(labels, 2);
      expect.unreachable('should have thrown');
    } catch (error) {
      expect(isLesionEncError(error) && error.code).toBe('INVALID_ARGUMENT');
    }
  });
});
