// 2D PNG and JPG slices (the common form of COVID-19 slice data sets) as one-slice volumes of
// already windowed grey values, and their label images as one-slice label maps.
import {
  type CtVolume,
  type LabelClass,
  type LabelMap,
  LesionEncError,
  createCtVolume,
  createLabelMap,
  describeValue,
} from '@lesionenc/base';

import { fileOption } from './internal/bytes';
import { decodeJpegGrey } from './internal/dicom-codecs';

/** Options of {@link decodeSliceImage} and {@link decodeSliceLabels}. */
export interface SliceImageOptions {
  /** Named in errors and kept in the metadata. */
  file?: string;
  /**
   * Pixel size `[row, column]` in mm when known; slice images carry none.
   * @defaultValue `[1, 1]`
   */
  pixelSpacingMm?: readonly [number, number];
}

/** Largest side accepted, pixels: far beyond any CT slice, small enough to never exhaust memory. */
export const MAX_SLICE_SIDE = 16384;

interface DecodedRaster {
  width: number;
  height: number;
  /** One value per pixel. */
  grey: Uint8Array | Uint16Array;
  depth: number;
  format: 'png' | 'jpeg';
  /** Palette index per pixel, for indexed PNGs. */
  indexed: boolean;
}

function sniff(bytes: Uint8Array): 'png' | 'jpeg' | undefined {
  if (
    bytes.length >= 8 &&
    bytes[0] === 0x89 &&
    bytes[1] === 0x50 &&
    bytes[2] === 0x4e &&
    bytes[3] === 0x47
  ) {
    return 'png';
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)
    return 'jpeg';
  return undefined;
}

async function decodeRaster(
  bytes: Uint8Array,
  file: string | undefined,
  keepIndices: boolean,
): Promise<DecodedRaster> {
  const format = sniff(bytes);
  if (format === undefined) {
    throw new LesionEncError(
      'UNSUPPORTED_FORMAT',
      `slice image: expected a PNG or JPEG signature, got ${bytes.length} bytes without one`,
      fileOption(file),
    );
  }
  let raster: DecodedRaster;
  try {
    if (format === 'jpeg') {
      const { width, height, grey } = decodeJpegGrey(bytes);
      raster = { width, height, grey, depth: 8, format, indexed: false };
    } else {
      // Loaded on demand: fast-png is an ES module, which CommonJS code can only import().
      const { decode } = await import('fast-png');
      const png = decode(bytes);
      raster = {
        width: png.width,
        height: png.height,
        grey: toGrey(
          png.data as Uint8Array | Uint16Array,
          png.channels,
          png.width * png.height,
          png.palette,
          keepIndices,
        ),
        depth: png.palette !== undefined && !keepIndices ? 8 : png.depth,
        format,
        indexed: png.palette !== undefined && keepIndices,
      };
    }
  } catch (error) {
    if (error instanceof LesionEncError) throw error;
    throw new LesionEncError(
      'CORRUPT_FILE',
      `${format === 'png' ? 'PNG' : 'JPEG'} data: expected a decodable image, got ${(error as Error).message}`,
      { ...fileOption(file), cause: error },
    );
  }
  if (!(
    raster.width >= 1 &&
    raster.height >= 1 &&
    raster.width <= MAX_SLICE_SIDE &&
    raster.height <= MAX_SLICE_SIDE
  )) {
    throw new LesionEncError(
      'INVALID_VOLUME',
      `slice image size: expected 1..${MAX_SLICE_SIDE} pixels a side, got ${raster.width} x ${raster.height}`,
      fileOption(file),
    );
  }
  return raster;
}

/**
 * One grey value per pixel: palette images through their palette (or kept as indices), colour
 * images as Rec. 601 luma unless the channels are equal, alpha ignored.
 */
function toGrey(
  data: Uint8Array | Uint16Array,
  channels: number,
  count: number,
  palette: readonly (readonly number[])[] | undefined,
  keepIndices: boolean,
): Uint8Array | Uint16Array {
  if (palette !== undefined) {
    if (keepIndices) return data;
    const out = new Uint8Array(count);
    for (let n = 0; n < count; n++) {
      const c = palette[data[n]!] ?? [0, 0, 0];
      out[n] = Math.round(0.299 * c[0]! + 0.587 * c[1]! + 0.114 * c[2]!);
    }
    return out;
  }
  if (channels === 1) return data;
  const out = data instanceof Uint16Array ? new Uint16Array(count) : new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const base = n * channels;
    if (channels < 3) {
      out[n] = data[base]!;
      continue;
    }
    const r = data[base]!;
    const g = data[base + 1]!;
    const b = data[base + 2]!;
    out[n] = r === g && g === b ? r : Math.round(0.299 * r + 0.587 * g + 0.114 * b);
  }
  return out;
}

function sliceGeometry(raster: DecodedRaster, options: SliceImageOptions) {
  const spacing = options.pixelSpacingMm ?? [1, 1];
  if (!spacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `pixelSpacingMm: expected two positive numbers, got ${describeValue([...spacing])}`,
      fileOption(options.file),
    );
  }
  return { shape: [1, raster.height, raster.width], spacingMm: [1, spacing[0], spacing[1]] };
}

/**
 * Decodes a PNG (8 or 16 bit, grey, colour or palette) or a JPEG slice into a one-slice volume
 * tagged `windowed`: the values are display grey levels, not HU.
 *
 * @param bytes - The file's bytes.
 * @param options - File name and pixel size.
 * @returns A `[1, rows, columns]` volume: Int16Array for 8-bit images, Float32Array for 16-bit.
 * @throws {@link LesionEncError} `UNSUPPORTED_FORMAT` for another format, `CORRUPT_FILE` for a
 * damaged image, `INVALID_VOLUME` for absurd sizes.
 * @example
 * ```ts
 * const slice = await decodeSliceImage(bytes, { file: '0001.png' });
 * slice.unit; // 'windowed'
 * ```
 */
export async function decodeSliceImage(
  bytes: Uint8Array,
  options: SliceImageOptions = {},
): Promise<CtVolume> {
  const raster = await decodeRaster(bytes, options.file, false);
  const data = raster.depth > 8 ? Float32Array.from(raster.grey) : Int16Array.from(raster.grey);
  return createCtVolume(data, sliceGeometry(raster, options), {
    unit: 'windowed',
    ...fileOption(options.file),
    metadata: {
      format: raster.format,
      bitDepth: raster.depth,
      ...(options.file === undefined ? {} : { file: options.file }),
    },
  });
}

/**
 * Decodes a label image (palette or grey PNG) into a one-slice label map: palette PNGs give their
 * indices, grey images their values; `binarize` maps every non-zero value to 1 (for 0/255 masks).
 *
 * @param bytes - The file's bytes.
 * @param classes - The class table; by default one class per value found.
 * @param options - File name, pixel size, and `binarize`.
 * @returns The label map.
 * @throws {@link LesionEncError} as {@link decodeSliceImage}, and `INVALID_VOLUME` for values
 * above 255 or missing from `classes`.
 */
export async function decodeSliceLabels(
  bytes: Uint8Array,
  classes?: readonly LabelClass[],
  options: SliceImageOptions & { binarize?: boolean } = {},
): Promise<LabelMap> {
  const raster = await decodeRaster(bytes, options.file, true);
  const labels = new Uint8Array(raster.grey.length);
  const seen = new Set<number>([0]);
  for (let n = 0; n < labels.length; n++) {
    const v = raster.grey[n]!;
    if (v > 255) {
      throw new LesionEncError(
        'INVALID_VOLUME',
        `label pixel ${n}: expected a value in 0..255, got ${v}`,
        fileOption(options.file),
      );
    }
    labels[n] = options.binarize === true ? (v > 0 ? 1 : 0) : v;
    seen.add(labels[n]!);
  }
  const table =
    classes ??
    [...seen]
      .sort((a, b) => a - b)
      .map((value) => ({ value, name: value === 0 ? 'background' : `label_${value}` }));
  try {
    return createLabelMap(labels, sliceGeometry(raster, options), table);
  } catch (error) {
    if (error instanceof LesionEncError && options.file !== undefined) {
      throw new LesionEncError(error.code, error.message, { cause: error, file: options.file });
    }
    throw error;
  }
}
