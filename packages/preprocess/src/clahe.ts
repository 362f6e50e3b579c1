// Contrast-limited adaptive histogram equalisation with OpenCV's semantics (cv::createCLAHE).
import { LesionEncError, describeValue } from '@lesionenc/base';

/** Construction settings of {@link createClahe}, named as OpenCV names them. */
export interface ClaheConfig {
  /**
   * Contrast limit relative to a flat histogram: each tile's bins are clipped at
   * `max(1, floor(clipLimit * tilePixels / bins))` and the excess is spread over all bins.
   * 0 turns clipping off (plain adaptive equalisation).
   * @defaultValue 40
   */
  clipLimit?: number;
  /** Tiles along `[columns, rows]` (OpenCV's `(x, y)` order). @defaultValue `[8, 8]` */
  tileGridSize?: readonly [number, number];
}

/** OpenCV's defaults for `createCLAHE()`. */
export const DEFAULT_CLAHE: Readonly<Required<ClaheConfig>> = Object.freeze({
  clipLimit: 40,
  tileGridSize: Object.freeze([8, 8]) as unknown as readonly [number, number],
});

/** Grey images CLAHE works on: 8-bit (256 bins) or 16-bit (65536 bins). */
export type ClaheImage = Uint8Array | Uint16Array;

/** A configured equaliser; it keeps scratch buffers between calls. */
export interface Clahe {
  readonly clipLimit: number;
  readonly tileGridSize: readonly [number, number];
  /**
   * Equalises one image.
   *
   * @param image - `rows * columns` grey values, row-major.
   * @param rows - Image height.
   * @param columns - Image width.
   * @param out - Where to write (same type and length; may be `image` itself).
   * @returns The equalised image, of the input's type.
   */
  apply<T extends ClaheImage>(image: T, rows: number, columns: number, out?: T): T;
  /** Releases the scratch buffers. */
  dispose(): void;
}

function checkConfig(config: ClaheConfig): Required<ClaheConfig> {
  const clipLimit = config.clipLimit ?? DEFAULT_CLAHE.clipLimit;
  const grid = config.tileGridSize ?? DEFAULT_CLAHE.tileGridSize;
  if (!Number.isFinite(clipLimit) || clipLimit < 0) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `clahe clipLimit: expected a finite number >= 0, got ${describeValue(clipLimit)}`,
    );
  }
  if (grid.length !== 2 || !grid.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `clahe tileGridSize: expected 2 positive integers [columns, rows], got ${describeValue([...grid])}`,
    );
  }
  return { clipLimit, tileGridSize: [grid[0], grid[1]] };
}

/** OpenCV's BORDER_REFLECT_101 index: mirrors about the edge pixel without repeating it. */
function reflect101(index: number, size: number): number {
  if (size === 1) return 0;
  let i = index;
  while (i < 0 || i >= size) i = i < 0 ? -i : 2 * size - 2 - i;
  return i;
}

/** Round half to even, as `cvRound` (lrint) does. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Creates a CLAHE operator that gives OpenCV's results: the image is padded with
 * BORDER_REFLECT_101 at the bottom and right when it does not divide into the tile grid (by a
 * whole tile count on both axes, as OpenCV does), each tile's histogram is clipped and the excess
 * redistributed evenly with the remainder spread at a fixed stride, and each pixel is mapped by
 * bilinear interpolation between the four nearest tile mappings.
 *
 * @param config - Clip limit and tile grid.
 * @returns The operator.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for a negative clip limit or a bad grid.
 * @example
 * ```ts
 * const clahe = createClahe({ clipLimit: 2, tileGridSize: [8, 8] });
 * const equalised = clahe.apply(slice8bit, 512, 512);
 * clahe.dispose();
 * ```
 */
export function createClahe(config: ClaheConfig = {}): Clahe {
  const { clipLimit, tileGridSize } = checkConfig(config);
  const [tilesX, tilesY] = tileGridSize;
  let luts: Float32Array | undefined;
  let hist: Int32Array | undefined;
  let disposed = false;

  const apply = <T extends ClaheImage>(image: T, rows: number, columns: number, out?: T): T => {
    if (disposed) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        'clahe: expected a live operator, got a disposed one',
      );
    }
    if (!(image instanceof Uint8Array || image instanceof Uint16Array)) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `clahe image: expected Uint8Array or Uint16Array, got ${describeValue(image)}`,
      );
    }
    if (!Number.isInteger(rows) || !Number.isInteger(columns) || rows < 1 || columns < 1) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `clahe size: expected positive integer rows and columns, got ${rows} x ${columns}`,
      );
    }
    if (image.length !== rows * columns) {
      throw new LesionEncError(
        'SHAPE_MISMATCH',
        `clahe image: expected ${rows * columns} pixels for ${rows} x ${columns}, got ${image.length}`,
      );
    }
    const target = (out ?? new (image.constructor as new (n: number) => T)(image.length)) as T;
    if (target.length !== image.length || target.constructor !== image.constructor) {
      throw new LesionEncError(
        'SHAPE_MISMATCH',
        `clahe out: expected a ${image.constructor.name}(${image.length}), got ${describeValue(target)}`,
      );
    }

    const bins = image instanceof Uint8Array ? 256 : 65536;
    const maxValue = bins - 1;
    const divisible = rows % tilesY === 0 && columns % tilesX === 0;
    const paddedRows = divisible ? rows : rows + tilesY - (rows % tilesY);
    const paddedColumns = divisible ? columns : columns + tilesX - (columns % tilesX);
    const tileH = paddedRows / tilesY;
    const tileW = paddedColumns / tilesX;
    const tilePixels = tileH * tileW;
    const lutScale = Math.fround(maxValue / tilePixels);
    let clip = 0;
    if (clipLimit > 0) clip = Math.max(1, Math.trunc((clipLimit * tilePixels) / bins));

    const lutLength = tilesX * tilesY * bins;
    if (luts === undefined || luts.length !== lutLength) luts = new Float32Array(lutLength);
    if (hist === undefined || hist.length !== bins) hist = new Int32Array(bins);
    const columnIndex = new Int32Array(paddedColumns);
    for (let x = 0; x < paddedColumns; x++) columnIndex[x] = reflect101(x, columns);

    // One mapping per tile, from its clipped histogram.
    for (let ty = 0; ty < tilesY; ty++) {
      for (let tx = 0; tx < tilesX; tx++) {
        hist.fill(0);
        const xStart = tx * tileW;
        const xEnd = (tx + 1) * tileW;
        // Columns past the image (padding) go through the reflected index; the rest directly.
        const xInside = Math.max(xStart, Math.min(xEnd, columns));
        for (let y = ty * tileH; y < (ty + 1) * tileH; y++) {
          const rowStart = reflect101(y, rows) * columns;
          for (let n = rowStart + xStart; n < rowStart + xInside; n++) hist[image[n]!]! += 1;
          for (let x = xInside; x < xEnd; x++) hist[image[rowStart + columnIndex[x]!]!]! += 1;
        }
        if (clip > 0) clipHistogram(hist, clip);
        const lut = luts.subarray((ty * tilesX + tx) * bins, (ty * tilesX + tx + 1) * bins);
        let sum = 0;
        for (let v = 0; v < bins; v++) {
          sum += hist[v]!;
          lut[v] = Math.min(maxValue, roundHalfEven(Math.fround(sum * lutScale)));
        }
      }
    }

    interpolate(image, target, rows, columns, luts, bins, tileH, tileW, tilesX, tilesY);
    return target;
  };

  return {
    clipLimit,
    tileGridSize: Object.freeze([tilesX, tilesY]) as unknown as readonly [number, number],
    apply,
    dispose: () => {
      disposed = true;
      luts = undefined;
      hist = undefined;
    },
  };
}

function clipHistogram(hist: Int32Array, clip: number): void {
  const bins = hist.length;
  let clipped = 0;
  for (let v = 0; v < bins; v++) {
    if (hist[v]! > clip) {
      clipped += hist[v]! - clip;
      hist[v] = clip;
    }
  }
  const batch = Math.trunc(clipped / bins);
  let residual = clipped - batch * bins;
  if (batch > 0) for (let v = 0; v < bins; v++) hist[v]! += batch;
  if (residual > 0) {
    const step = Math.max(Math.trunc(bins / residual), 1);
    for (let v = 0; v < bins && residual > 0; v += step, residual--) hist[v]! += 1;
  }
}

function interpolate(
  image: ClaheImage,
  target: ClaheImage,
  rows: number,
  columns: number,
  luts: Float32Array,
  bins: number,
  tileH: number,
  tileW: number,
  tilesX: number,
  tilesY: number,
): void {
  const maxValue = bins - 1;
  const invW = Math.fround(1 / tileW);
  const invH = Math.fround(1 / tileH);
  const left = new Int32Array(columns);
  const right = new Int32Array(columns);
  const xWeight = new Float32Array(columns);
  for (let x = 0; x < columns; x++) {
    const txf = Math.fround(Math.fround(x * invW) - 0.5);
    const tx1 = Math.floor(txf);
    xWeight[x] = Math.fround(txf - tx1);
    left[x] = Math.max(tx1, 0) * bins;
    right[x] = Math.min(tx1 + 1, tilesX - 1) * bins;
  }
  for (let y = 0; y < rows; y++) {
    const tyf = Math.fround(Math.fround(y * invH) - 0.5);
    const ty1 = Math.floor(tyf);
    const ya = Math.fround(tyf - ty1);
    const ya1 = Math.fround(1 - ya);
    const top = Math.max(ty1, 0) * tilesX * bins;
    const bottom = Math.min(ty1 + 1, tilesY - 1) * tilesX * bins;
    const rowStart = y * columns;
    for (let x = 0; x < columns; x++) {
      const v = image[rowStart + x]!;
      const xa = xWeight[x]!;
      const xa1 = Math.fround(1 - xa);
      const l = left[x]! + v;
      const r = right[x]! + v;
      // float32 at every step, as OpenCV computes it.
      const f = Math.fround;
      const upper = f(f(luts[top + l]! * xa1) + f(luts[top + r]! * xa));
      const lower = f(f(luts[bottom + l]! * xa1) + f(luts[bottom + r]! * xa));
      const res = f(f(upper * ya1) + f(lower * ya));
      // res >= 0, so truncating res + 0.5 rounds half up; a tie then goes back to the even one.
      let rounded = (res + 0.5) | 0;
      if (rounded - res === 0.5 && (rounded & 1) === 1) rounded -= 1;
      target[rowStart + x] = rounded > maxValue ? maxValue : rounded;
    }
  }
}

/**
 * Equalises one image with a one-off operator; see {@link createClahe}.
 *
 * @param image - `rows * columns` grey values (8- or 16-bit).
 * @param rows - Image height.
 * @param columns - Image width.
 * @param config - Clip limit and tile grid.
 * @returns A new equalised image of the input's type.
 */
export function applyClahe<T extends ClaheImage>(
  image: T,
  rows: number,
  columns: number,
  config: ClaheConfig = {},
): T {
  const clahe = createClahe(config);
  try {
    return clahe.apply(image, rows, columns);
  } finally {
    clahe.dispose();
  }
}
