// Tests of overlay images: outlines on region borders only, fill, legend, and the PNG encoding.
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';

import { LESION_CLASSES, createCtVolume, createLabelMap, isLesionEncError } from '@lesionenc/base';

import { encodeOverlayPng, renderOverlay } from './overlay';

const rows = 40;
const columns = 50;

function scene() {
  const volume = createCtVolume(new Int16Array(2 * rows * columns).fill(-600), {
    shape: [2, rows, columns],
    spacingMm: [2, 0.5, 0.5],
  });
  const labels = new Uint8Array(2 * rows * columns);
  // A 10x10 ground-glass square on slice 1, rows 10-19, columns 20-29.
  for (let i = 10; i < 20; i++)
    for (let j = 20; j < 30; j++) labels[rows * columns + i * columns + j] = 1;
  return { volume, labels: createLabelMap(labels, volume.geometry, LESION_CLASSES) };
}

function pixel(image: { width: number; rgb: Uint8Array }, i: number, j: number): number[] {
  return Array.from(image.rgb.subarray(3 * (i * image.width + j), 3 * (i * image.width + j) + 3));
}

describe('renderOverlay', () => {
  it('draws class outlines on the busiest slice and leaves the inside grey', () => {
    const { volume, labels } = scene();
    const image = renderOverlay(volume, labels, { legend: false });
    expect([image.width, image.height]).toEqual([columns, rows]);
    const gold = [...LESION_CLASSES[1]!.color!];
    // -600 HU is the centre of the default lung window: mid grey.
    const grey = [128, 128, 128];
    expect(pixel(image, 10, 25)).toEqual(gold);
    expect(pixel(image, 19, 29)).toEqual(gold);
    expect(pixel(image, 15, 25)).toEqual(grey);
    expect(pixel(image, 9, 25)).toEqual(grey);
    expect(pixel(image, 0, 0)).toEqual(grey);
  });

  it('fills regions at the requested opacity and windows HU', () => {
    const { volume, labels } = scene();
    const filled = renderOverlay(volume, labels, { legend: false, fillOpacity: 1 });
    expect(pixel(filled, 15, 25)).toEqual([...LESION_CLASSES[1]!.color!]);
    const dark = renderOverlay(volume, labels, {
      legend: false,
      windowCenterHu: 400,
      windowWidthHu: 400,
    });
    expect(pixel(dark, 0, 0)).toEqual([0, 0, 0]);
  });

  it('adds a legend with one swatch per class below the slice', () => {
    const { volume, labels } = scene();
    const image = renderOverlay(volume, labels);
    expect(image.height).toBeGreaterThan(rows + 3 * 7);
    // The first swatch sits at the left of the first legend line.
    expect(pixel(image, rows + 6, 6)).toEqual([...LESION_CLASSES[1]!.color!]);
    expect(pixel(image, rows + 6 + 11, 6)).toEqual([...LESION_CLASSES[2]!.color!]);
    // Some text pixels are drawn to the right of the swatch.
    let text = 0;
    for (let i = rows + 4; i < rows + 11; i++)
      for (let j = 16; j < columns; j++) if (pixel(image, i, j)[0] === 235) text++;
    expect(text).toBeGreaterThan(10);
  });

  it('refuses labels on another grid', () => {
    const { volume } = scene();
    const other = createLabelMap(
      new Uint8Array(rows * columns),
      { shape: [1, rows, columns] },
      LESION_CLASSES,
    );
    try {
      renderOverlay(volume, other);
      expect.unreachable('should have thrown');
    } catch (error) {
      expect(isLesionEncError(error, 'SHAPE_MISMATCH')).toBe(true);
    }
  });
});

describe('encodeOverlayPng', () => {
  it('encodes the same pixels as an RGB PNG', async () => {
    const { volume, labels } = scene();
    const png = decode(await encodeOverlayPng(volume, labels));
    const image = renderOverlay(volume, labels);
    expect([png.width, png.height, png.channels, png.depth]).toEqual([
      image.width,
      image.height,
      3,
      8,
    ]);
    expect(Array.from(png.data as Uint8Array)).toEqual(Array.from(image.rgb));
  });
});
