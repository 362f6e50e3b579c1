// Overlay images for reports: one CT slice, windowed to grey, with coloured outlines of each
// label class and a legend naming the classes and their area on the slice.
import {
  type CtVolume,
  type LabelMap,
  LesionEncError,
  pixelAreaMm2,
  sameGrid,
  sliceView,
} from '@lesionenc/base';

import { GLYPH_HEIGHT, drawText } from './internal/bitmap-font';

/** Options of {@link renderOverlay}. */
export interface OverlayOptions {
  /** The slice to draw. @defaultValue the slice with the most labelled voxels */
  slice?: number;
  /** Window centre for HU volumes. @defaultValue -600 (lung window) */
  windowCenterHu?: number;
  /** Window width for HU volumes. @defaultValue 1500 */
  windowWidthHu?: number;
  /** Opacity of the class colour inside each region, 0 (outlines only) to 1. @defaultValue 0 */
  fillOpacity?: number;
  /** Draw the legend strip below the slice. @defaultValue true */
  legend?: boolean;
}

/** Frozen defaults of {@link OverlayOptions}. */
export const DEFAULT_OVERLAY_OPTIONS = Object.freeze({
  windowCenterHu: -600,
  windowWidthHu: 1500,
  fillOpacity: 0,
  legend: true,
});

/** Colours for classes that carry none (Okabe-Ito, readable by colour-blind readers). */
const FALLBACK_COLORS: readonly (readonly [number, number, number])[] = [
  [230, 159, 0],
  [86, 180, 233],
  [0, 158, 115],
  [240, 228, 66],
  [0, 114, 178],
  [213, 94, 0],
  [204, 121, 167],
];

/** An RGB image. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** 3 bytes per pixel, row-major. */
  readonly rgb: Uint8Array;
}

/**
 * Draws one slice of a volume with the outlines of a label map on the same grid, and a legend.
 *
 * @param volume - The CT (HU, or already windowed grey values).
 * @param labels - Labels on the volume's grid; class 0 is not drawn.
 * @param options - Slice, window, fill and legend.
 * @returns The RGB image.
 * @throws {@link LesionEncError} `SHAPE_MISMATCH` when the grids differ, `INVALID_ARGUMENT` for a
 * slice outside the volume.
 */
export function renderOverlay(
  volume: CtVolume,
  labels: LabelMap,
  options: OverlayOptions = {},
): RgbImage {
  if (!sameGrid(volume.geometry, labels.geometry)) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `overlay labels: expected the volume's grid [${volume.geometry.shape.join(', ')}], got ` +
        `[${labels.geometry.shape.join(', ')}] (or a different spacing, origin or direction)`,
    );
  }
  const [, rows, columns] = volume.geometry.shape;
  const slice = options.slice ?? busiestSlice(labels);
  const grey = sliceView(volume, slice);
  const label = sliceView(labels, slice);
  const classes = labels.classes.filter((c) => c.value !== 0);
  const colorOf = new Map(
    classes.map((c, n) => [c.value, c.color ?? FALLBACK_COLORS[n % FALLBACK_COLORS.length]!]),
  );

  const legend = options.legend ?? DEFAULT_OVERLAY_OPTIONS.legend;
  const scale = Math.max(1, Math.round(columns / 256));
  const lineHeight = (GLYPH_HEIGHT + 4) * scale;
  const legendHeight = legend ? lineHeight * classes.length + 4 * scale : 0;
  const width = columns;
  const height = rows + legendHeight;
  const rgb = new Uint8Array(width * height * 3);

  // Grey levels: HU through the window, windowed volumes through their own range.
  let low: number;
  let high: number;
  if (volume.unit === 'HU') {
    const centre = options.windowCenterHu ?? DEFAULT_OVERLAY_OPTIONS.windowCenterHu;
    const widthHu = options.windowWidthHu ?? DEFAULT_OVERLAY_OPTIONS.windowWidthHu;
    low = centre - widthHu / 2;
    high = centre + widthHu / 2;
  } else {
    low = Infinity;
    high = -Infinity;
    for (let n = 0; n < grey.length; n++) {
      low = Math.min(low, grey[n]!);
      high = Math.max(high, grey[n]!);
    }
  }
  const span = high > low ? high - low : 1;
  const fill = Math.min(1, Math.max(0, options.fillOpacity ?? DEFAULT_OVERLAY_OPTIONS.fillOpacity));
  const areaPx = new Map<number, number>();
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < columns; j++) {
      const n = i * columns + j;
      const g = Math.round((255 * Math.min(1, Math.max(0, (grey[n]! - low) / span))) as number);
      let color: readonly number[] = [g, g, g];
      const value = label[n]!;
      const classColor = colorOf.get(value);
      if (classColor !== undefined) {
        areaPx.set(value, (areaPx.get(value) ?? 0) + 1);
        const edge =
          i === 0 ||
          j === 0 ||
          i === rows - 1 ||
          j === columns - 1 ||
          label[n - 1] !== value ||
          label[n + 1] !== value ||
          label[n - columns] !== value ||
          label[n + columns] !== value;
        color = edge
          ? classColor
          : classColor.map((c, k) => Math.round(fill * c + (1 - fill) * color[k]!));
      }
      rgb.set(color, 3 * n);
    }
  }

  if (legend) {
    const areaMm2 = pixelAreaMm2(volume.geometry);
    classes.forEach((c, k) => {
      const top = rows + 4 * scale + k * lineHeight;
      const swatch = GLYPH_HEIGHT * scale;
      for (let y = top; y < top + swatch; y++) {
        for (let x = 4 * scale; x < 4 * scale + swatch; x++)
          rgb.set(colorOf.get(c.value)!, 3 * (y * width + x));
      }
      const area = ((areaPx.get(c.value) ?? 0) * areaMm2).toFixed(0);
      const unit = volume.unit === 'HU' ? ' MM2' : ' PX';
      const text = `${c.name} ${volume.unit === 'HU' ? area : String(areaPx.get(c.value) ?? 0)}${unit}`;
      drawText(
        rgb,
        width,
        height,
        text,
        4 * scale + swatch + 4 * scale,
        top,
        scale,
        [235, 235, 235],
      );
    });
  }
  return Object.freeze({ width, height, rgb });
}

function busiestSlice(labels: LabelMap): number {
  const [slices, rows, columns] = labels.geometry.shape;
  const size = rows * columns;
  let best = 0;
  let bestCount = -1;
  for (let k = 0; k < slices; k++) {
    let count = 0;
    for (let n = k * size; n < (k + 1) * size; n++) if (labels.data[n] !== 0) count++;
    if (count > bestCount) {
      bestCount = count;
      best = k;
    }
  }
  return best;
}

/**
 * Draws an overlay (see {@link renderOverlay}) and encodes it as an 8-bit RGB PNG.
 *
 * @param volume - The CT.
 * @param labels - Labels on its grid.
 * @param options - As {@link renderOverlay}.
 * @returns The PNG file's bytes.
 */
export async function encodeOverlayPng(
  volume: CtVolume,
  labels: LabelMap,
  options: OverlayOptions = {},
): Promise<Uint8Array> {
  return encodeRgbPng(renderOverlay(volume, labels, options));
}

/**
 * Encodes an RGB image as an 8-bit PNG.
 *
 * @param image - Width, height and 3 bytes per pixel.
 * @returns The PNG file's bytes.
 */
export async function encodeRgbPng(image: RgbImage): Promise<Uint8Array> {
  const { encode } = await import('fast-png');
  return encode({
    width: image.width,
    height: image.height,
    data: image.rgb,
    depth: 8,
    channels: 3,
  });
}
