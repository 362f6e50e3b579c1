// Drawing one axial slice: the CT in a lung window, and the lung and lesion overlays at display
// resolution (lungs as outlines over a faint fill, lesions filled), as RGBA pixels.

/** Window of the grey image: the usual lung window. */
export const LUNG_WINDOW = Object.freeze({ centerHu: -600, widthHu: 1500 });

/** Overlay colours of the lungs (Okabe-Ito: bluish green, reddish purple). */
export const LUNG_COLORS: Readonly<Record<number, readonly [number, number, number]>> =
  Object.freeze({ 1: [0, 158, 115], 2: [204, 121, 167] });

/** Share of the overlay opacity the lung fill gets (the outline gets all of it). */
const LUNG_FILL_SHARE = 0.3;

/** One slice's voxels, `[rows, columns]` row-major. */
export interface SlicePlanes {
  rows: number;
  columns: number;
  /** HU. */
  ct: ArrayLike<number>;
  lungs: ArrayLike<number>;
  lesions: ArrayLike<number>;
}

/** What to draw over the CT. */
export interface OverlayOptions {
  showLungs: boolean;
  showLesions: boolean;
  /** 0 (invisible) to 1 (opaque). */
  opacity: number;
  /** Colour of each lesion label value. */
  lesionColors: ReadonlyMap<number, readonly [number, number, number]>;
}

/**
 * The slice in the lung window as grey RGBA pixels at its own resolution.
 *
 * @param planes - The slice.
 * @returns `rows * columns * 4` bytes.
 */
export function renderGrey(planes: SlicePlanes): Uint8ClampedArray<ArrayBuffer> {
  const { centerHu, widthHu } = LUNG_WINDOW;
  const low = centerHu - widthHu / 2;
  const out = new Uint8ClampedArray(planes.rows * planes.columns * 4);
  for (let n = 0; n < planes.rows * planes.columns; n++) {
    const grey = ((planes.ct[n]! - low) / widthHu) * 255;
    out[n * 4] = grey;
    out[n * 4 + 1] = grey;
    out[n * 4 + 2] = grey;
    out[n * 4 + 3] = 255;
  }
  return out;
}

/**
 * The overlays at display size, each display pixel taking the label of the voxel under it, so
 * outlines are one display pixel wide on the voxels' edges.
 *
 * @param planes - The slice.
 * @param width - Display width, pixels.
 * @param height - Display height, pixels.
 * @param options - What to draw, and how opaque.
 * @returns `width * height * 4` bytes, transparent where nothing is drawn.
 */
export function renderOverlay(
  planes: SlicePlanes,
  width: number,
  height: number,
  options: OverlayOptions,
): Uint8ClampedArray<ArrayBuffer> {
  const { rows, columns } = planes;
  const out = new Uint8ClampedArray(width * height * 4);
  const opacity = Math.max(0, Math.min(1, options.opacity));
  if (opacity === 0 || (!options.showLungs && !options.showLesions)) return out;

  const columnOf = Int32Array.from({ length: width }, (_, x) =>
    Math.min(columns - 1, Math.floor((x * columns) / width)),
  );
  const rowOf = Int32Array.from({ length: height }, (_, y) =>
    Math.min(rows - 1, Math.floor((y * rows) / height)),
  );
  const lungAt = (x: number, y: number) =>
    x < 0 || y < 0 || x >= width || y >= height
      ? 0
      : planes.lungs[rowOf[y]! * columns + columnOf[x]!]!;

  const put = (p: number, rgb: readonly [number, number, number], alpha: number) => {
    out[p] = rgb[0];
    out[p + 1] = rgb[1];
    out[p + 2] = rgb[2];
    out[p + 3] = alpha * 255;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const voxel = rowOf[y]! * columns + columnOf[x]!;
      const p = (y * width + x) * 4;
      const lesion = planes.lesions[voxel]!;
      const lesionColor = options.showLesions ? options.lesionColors.get(lesion) : undefined;
      const lung = planes.lungs[voxel]!;
      const lungColor = options.showLungs ? LUNG_COLORS[lung] : undefined;
      if (lungColor !== undefined) {
        const edge =
          lungAt(x - 1, y) !== lung ||
          lungAt(x + 1, y) !== lung ||
          lungAt(x, y - 1) !== lung ||
          lungAt(x, y + 1) !== lung;
        if (edge) {
          put(p, lungColor, opacity);
          continue;
        }
      }
      if (lesionColor !== undefined && lesion > 0) put(p, lesionColor, opacity);
      else if (lungColor !== undefined) put(p, lungColor, opacity * LUNG_FILL_SHARE);
    }
  }
  return out;
}

/**
 * The slice with the most lesion voxels, to open the viewer on; the middle slice without any.
 *
 * @param lesions - Lesion labels of the volume.
 * @param slices - Slice count.
 * @returns A slice index.
 */
export function busiestSlice(lesions: ArrayLike<number>, slices: number): number {
  const plane = lesions.length / slices;
  let best = Math.floor(slices / 2);
  let bestCount = 0;
  for (let k = 0; k < slices; k++) {
    let count = 0;
    for (let n = k * plane; n < (k + 1) * plane; n++) if (lesions[n]! > 0) count++;
    if (count > bestCount) {
      best = k;
      bestCount = count;
    }
  }
  return best;
}
