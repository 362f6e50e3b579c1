// Several overlay slices side by side in one PNG, for reports: a glance at a whole scan.
import { type CtVolume, type LabelMap, LesionEncError } from '@lesionenc/base';

import { type OverlayOptions, type RgbImage, encodeRgbPng, renderOverlay } from './overlay';

/** Options of {@link renderOverlayMontage}. */
export interface OverlayMontageOptions extends Omit<OverlayOptions, 'slice'> {
  /** Slices to draw, in order. @defaultValue up to 8, evenly spaced over the slices with labels */
  slices?: readonly number[];
  /** Tiles per row. @defaultValue 4 */
  columns?: number;
}

/** Gap between tiles, px. */
const GAP_PX = 4;

function defaultSlices(labels: LabelMap, count: number): number[] {
  const [slices, rows, columns] = labels.geometry.shape;
  const plane = rows * columns;
  const labelled: number[] = [];
  for (let k = 0; k < slices; k++) {
    const part = labels.data.subarray(k * plane, (k + 1) * plane);
    if (part.some((v) => v !== 0)) labelled.push(k);
  }
  const pool = labelled.length > 0 ? labelled : Array.from({ length: slices }, (_, k) => k);
  if (pool.length <= count) return pool;
  return Array.from(
    { length: count },
    (_, i) => pool[Math.round((i * (pool.length - 1)) / (count - 1))]!,
  );
}

/**
 * Draws overlay tiles (see {@link renderOverlay}) of several slices into one image, row by row.
 *
 * @param volume - The CT.
 * @param labels - Labels on its grid.
 * @param options - Slices, tiles per row, window, fill and legend.
 * @returns The RGB image.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for no slices or a bad tile count, and as
 * {@link renderOverlay}.
 */
export function renderOverlayMontage(
  volume: CtVolume,
  labels: LabelMap,
  options: OverlayMontageOptions = {},
): RgbImage {
  const slices = options.slices ?? defaultSlices(labels, 8);
  const perRow = options.columns ?? 4;
  if (slices.length === 0 || !Number.isInteger(perRow) || perRow < 1) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `overlay montage: expected slices and a positive tile count per row, got ${slices.length} slices and ${perRow}`,
    );
  }
  const tiles = slices.map((slice) => renderOverlay(volume, labels, { ...options, slice }));
  const tileWidth = Math.max(...tiles.map((t) => t.width));
  const tileHeight = Math.max(...tiles.map((t) => t.height));
  const across = Math.min(perRow, tiles.length);
  const down = Math.ceil(tiles.length / across);
  const width = across * tileWidth + (across - 1) * GAP_PX;
  const height = down * tileHeight + (down - 1) * GAP_PX;
  const rgb = new Uint8Array(width * height * 3);
  tiles.forEach((tile, i) => {
    const x0 = (i % across) * (tileWidth + GAP_PX);
    const y0 = Math.floor(i / across) * (tileHeight + GAP_PX);
    for (let y = 0; y < tile.height; y++) {
      rgb.set(
        tile.rgb.subarray(y * tile.width * 3, (y + 1) * tile.width * 3),
        ((y0 + y) * width + x0) * 3,
      );
    }
  });
  return { width, height, rgb };
}

/**
 * Draws a montage (see {@link renderOverlayMontage}) and encodes it as an 8-bit RGB PNG.
 *
 * @param volume - The CT.
 * @param labels - Labels on its grid.
 * @param options - As {@link renderOverlayMontage}.
 * @returns The PNG file's bytes.
 */
export async function encodeOverlayMontagePng(
  volume: CtVolume,
  labels: LabelMap,
  options: OverlayMontageOptions = {},
): Promise<Uint8Array> {
  return encodeRgbPng(renderOverlayMontage(volume, labels, options));
}
