// NIfTI-1 and NIfTI-2 decoding and encoding on bytes (gzip included), with geometry in LPS.
// Header layout: NIfTI-1 nifti1.h (NIfTI DFWG, 2004) and NIfTI-2 nifti2.h (2011).
import { gzipSync } from 'fflate';

import {
  type CtVolume,
  type LabelClass,
  type LabelMap,
  type VolumeGeometry,
  LesionEncError,
  createCtVolume,
  createLabelMap,
  createLogger,
  describeValue,
  voxelCount,
} from '@lesionenc/base';

import {
  HOST_LITTLE_ENDIAN,
  fileOption,
  gunzipBytes,
  isGzip,
  readAscii,
  writeAscii,
} from './internal/bytes';
import {
  type NumericArray,
  canonicalGeometry,
  chooseAxisMapping,
  orientationCode,
  reorderToCanonical,
} from './orientation';

const log = createLogger('lesionenc.io.nifti');

/** Voxel element types the NIfTI reader understands; the writer handles all but `uint32`. */
export type NiftiDatatype =
  'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

interface DatatypeInfo {
  readonly code: number;
  readonly bytes: number;
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
}

const DATATYPES: Readonly<Record<NiftiDatatype, DatatypeInfo>> = Object.freeze({
  uint8: { code: 2, bytes: 1, min: 0, max: 255, integer: true },
  int16: { code: 4, bytes: 2, min: -32768, max: 32767, integer: true },
  int32: { code: 8, bytes: 4, min: -2147483648, max: 2147483647, integer: true },
  float32: {
    code: 16,
    bytes: 4,
    min: -3.4028234663852886e38,
    max: 3.4028234663852886e38,
    integer: false,
  },
  float64: { code: 64, bytes: 8, min: -Number.MAX_VALUE, max: Number.MAX_VALUE, integer: false },
  int8: { code: 256, bytes: 1, min: -128, max: 127, integer: true },
  uint16: { code: 512, bytes: 2, min: 0, max: 65535, integer: true },
  uint32: { code: 768, bytes: 4, min: 0, max: 4294967295, integer: true },
});

/** Largest voxel count the reader accepts (2^31 - 1, the typed-array limit of most engines). */
export const MAX_NIFTI_VOXELS = 2 ** 31 - 1;

/**
 * The header fields the project uses, spelled as in nifti1.h / nifti2.h. Numbers are as stored;
 * `dim` and `pixdim` have 8 entries.
 */
export interface NiftiHeader {
  /** 1 or 2. */
  readonly version: 1 | 2;
  readonly littleEndian: boolean;
  readonly dim: readonly number[];
  readonly pixdim: readonly number[];
  readonly datatype: number;
  readonly bitpix: number;
  readonly vox_offset: number;
  readonly scl_slope: number;
  readonly scl_inter: number;
  readonly qform_code: number;
  readonly sform_code: number;
  readonly quatern_b: number;
  readonly quatern_c: number;
  readonly quatern_d: number;
  readonly qoffset_x: number;
  readonly qoffset_y: number;
  readonly qoffset_z: number;
  readonly srow_x: readonly number[];
  readonly srow_y: readonly number[];
  readonly srow_z: readonly number[];
  readonly xyzt_units: number;
  readonly intent_code: number;
  readonly descrip: string;
}

/** A decoded NIfTI image in the project's canonical layout. */
export interface NiftiImage {
  /** The header as stored. */
  readonly header: NiftiHeader;
  /** The stored element type. */
  readonly datatype: NiftiDatatype;
  /**
   * Voxels in `[slices, rows, columns]` order (the canonical axial layout: slices towards the
   * head, rows towards the back, columns towards the patient's left). Scaled by
   * `scl_slope`/`scl_inter` when the header asks for it, in which case the array is
   * Float32Array (Float64Array for float64 files); otherwise it has the stored type.
   */
  readonly data: NumericArray;
  /** Whether `scl_slope`/`scl_inter` were applied. */
  readonly scaled: boolean;
  /** The canonical grid, in LPS. */
  readonly geometry: VolumeGeometry;
  /** Where the file's own axes i, j, k pointed, as LPS letters (for example `LAS`). */
  readonly sourceOrientation: string;
  /** Which transform the geometry came from. */
  readonly transform: 'sform' | 'qform' | 'pixdim';
}

/** Options of {@link decodeNifti}. */
export interface DecodeNiftiOptions {
  /** The file the bytes came from, named in errors. */
  file?: string;
}

/** Options of {@link encodeNifti}. */
export interface EncodeNiftiOptions {
  /** Gzip the result (what a `.nii.gz` file holds). @defaultValue false */
  gzip?: boolean;
  /**
   * Stored element type. @defaultValue `uint8` for a label map, `int16` for Int16Array
   * voxels, `float32` for Float32Array voxels
   */
  datatype?: Exclude<NiftiDatatype, 'uint32'>;
  /** Header version. @defaultValue 1 */
  version?: 1 | 2;
  /** Text for the 80-byte `descrip` field. */
  description?: string;
}

/** Frozen defaults of {@link encodeNifti}. */
export const DEFAULT_ENCODE_NIFTI_OPTIONS = Object.freeze({
  gzip: false,
  version: 1 as const,
  description: 'lesionenc',
});

const NIFTI1_HEADER_BYTES = 348;
const NIFTI2_HEADER_BYTES = 540;
// The header plus the 4-byte extension flag; voxels start right after.
const NIFTI1_DATA_OFFSET = 352;
const NIFTI2_DATA_OFFSET = 544;
const NIFTI_UNITS_MM = 2;
const NIFTI_XFORM_SCANNER_ANAT = 1;

/**
 * Decodes a NIfTI-1 or NIfTI-2 single-file image (`.nii`, or `.nii.gz` bytes: gzip is detected
 * by its magic number) into the canonical `[slices, rows, columns]` LPS layout.
 *
 * The grid comes from the sform when `sform_code > 0`, else from the qform, else from `pixdim`
 * alone (with a warning), as nibabel does. A sheared sform falls back to the qform. Voxels are
 * reordered (never resampled) so that the array axes point as close as possible to S, P and L;
 * an oblique residual stays in the geometry's direction matrix.
 *
 * @param bytes - The file's bytes.
 * @param options - The file name, for errors.
 * @returns The image.
 * @throws {@link LesionEncError} `CORRUPT_FILE` for truncated data or a bad gzip stream,
 * `UNSUPPORTED_FORMAT` for a non-NIfTI file, a `.hdr`/`.img` pair, an unknown datatype or more
 * than one volume, `INVALID_VOLUME` for absurd dimensions, `INVALID_GEOMETRY` for a singular
 * transform.
 * @example
 * ```ts
 * const image = decodeNifti(new Uint8Array(await (await fetch(url)).arrayBuffer()));
 * image.geometry.spacingMm; // [slice, row, column] spacing in mm
 * ```
 */
export function decodeNifti(bytes: Uint8Array, options: DecodeNiftiOptions = {}): NiftiImage {
  const file = options.file;
  const raw = isGzip(bytes) ? gunzipBytes(bytes, file) : bytes;
  const header = parseHeader(raw, file);
  const datatype = datatypeName(header.datatype, file);
  const info = DATATYPES[datatype];
  const fileShape = checkDimensions(header, file);
  const count = fileShape[0] * fileShape[1] * fileShape[2];

  const offset = header.vox_offset;
  const needed = offset + count * info.bytes;
  if (needed > raw.length) {
    throw new LesionEncError(
      'CORRUPT_FILE',
      `voxel data: expected ${count * info.bytes} bytes from offset ${offset}, got ` +
        `${Math.max(0, raw.length - offset)} (file truncated)`,
      { ...fileOption(file), details: { expectedBytes: needed, actualBytes: raw.length } },
    );
  }
  const stored = readElements(raw, offset, count, datatype, header.littleEndian);

  const { axes, origin, transform } = fileTransformLps(header, file);
  const mapping = chooseAxisMapping(axes);
  const geometry = canonicalGeometry(fileShape, axes, origin, mapping);

  const slope = header.scl_slope;
  const inter = header.scl_inter;
  const scaled =
    Number.isFinite(slope) &&
    slope !== 0 &&
    !(slope === 1 && (inter === 0 || !Number.isFinite(inter)));
  let data: NumericArray;
  if (scaled) {
    const intercept = Number.isFinite(inter) ? inter : 0;
    data = datatype === 'float64' ? new Float64Array(count) : new Float32Array(count);
    reorderToCanonical(stored, fileShape, mapping, data);
    for (let n = 0; n < count; n++) data[n] = data[n]! * slope + intercept;
  } else {
    data = newArray(datatype, count);
    reorderToCanonical(stored, fileShape, mapping, data);
  }

  return Object.freeze({
    header,
    datatype,
    data,
    scaled,
    geometry,
    sourceOrientation: orientationCode(axes),
    transform,
  });
}

/**
 * Turns a decoded image into a CT volume. Integer data of at most 16 bits that was not scaled
 * stays Int16Array; everything else becomes Float32Array.
 *
 * @param image - From {@link decodeNifti}.
 * @param file - Named in errors and kept in the metadata.
 * @returns The volume (unit `HU`).
 * @throws {@link LesionEncError} `INVALID_VOLUME` when a voxel is NaN or infinite, or a value
 * does not fit float32.
 */
export function niftiImageToVolume(image: NiftiImage, file?: string): CtVolume {
  const { data } = image;
  let voxels: Int16Array | Float32Array;
  if (data instanceof Int16Array) voxels = data;
  else if (data instanceof Uint8Array || data instanceof Int8Array) voxels = Int16Array.from(data);
  else if (data instanceof Float32Array) voxels = data;
  else voxels = Float32Array.from(data);
  return createCtVolume(voxels, image.geometry, {
    ...fileOption(file),
    metadata: {
      format: 'nifti',
      ...(file === undefined ? {} : { file }),
      niftiVersion: image.header.version,
      datatype: image.datatype,
      sourceOrientation: image.sourceOrientation,
      transform: image.transform,
      description: image.header.descrip,
    },
  });
}

/** Options of {@link niftiImageToLabels}. */
export interface NiftiLabelOptions {
  /**
   * When set, every voxel at or above it becomes label 1 and the rest 0: for masks stored as
   * interpolated floats.
   */
  threshold?: number;
  /** Named in errors. */
  file?: string;
}

/**
 * Turns a decoded image into a label map.
 *
 * @param image - From {@link decodeNifti}.
 * @param classes - The class table; when omitted, one class per value found (`label_N`, with 0
 * named `background`).
 * @param options - A threshold for float masks, the file name.
 * @returns The label map on the image's canonical grid.
 * @throws {@link LesionEncError} `INVALID_VOLUME` when a voxel is not an integer in 0..255 or is
 * missing from `classes`.
 */
export function niftiImageToLabels(
  image: NiftiImage,
  classes?: readonly LabelClass[],
  options: NiftiLabelOptions = {},
): LabelMap {
  const { data } = image;
  const labels = new Uint8Array(data.length);
  const seen = new Uint8Array(256);
  const threshold = options.threshold;
  for (let n = 0; n < data.length; n++) {
    const v = data[n]!;
    if (threshold !== undefined) {
      labels[n] = v >= threshold ? 1 : 0;
    } else {
      if (!(Number.isInteger(v) && v >= 0 && v <= 255)) {
        throw new LesionEncError(
          'INVALID_VOLUME',
          `label voxel ${n}: expected an integer in 0..255, got ${describeValue(v)} ` +
            '(pass a threshold for masks stored as interpolated floats)',
          fileOption(options.file),
        );
      }
      labels[n] = v;
    }
    seen[labels[n]!] = 1;
  }
  const table =
    classes ??
    Array.from(seen.keys())
      .filter((v) => seen[v] === 1 || v === 0)
      .map((value) => ({ value, name: value === 0 ? 'background' : `label_${value}` }));
  try {
    return createLabelMap(labels, image.geometry, table);
  } catch (error) {
    if (error instanceof LesionEncError && options.file !== undefined) {
      throw new LesionEncError(error.code, error.message, { cause: error, file: options.file });
    }
    throw error;
  }
}

/**
 * Encodes a volume or a label map as a NIfTI file. The affine is the image's geometry in RAS
 * (stored as both sform and qform, code 1, scanner anatomical), so a mask written on a source
 * volume's geometry overlays it in 3D Slicer, ITK-SNAP and nibabel.
 *
 * @param image - Voxels and geometry.
 * @param options - Gzip, datatype, version, description.
 * @returns The file's bytes.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` when a voxel does not fit the chosen
 * datatype (a non-integer for an integer type, or out of range): values are never rounded or
 * clipped silently.
 * @example
 * ```ts
 * const bytes = encodeNifti(lungLabels, { gzip: true }); // a .nii.gz
 * ```
 */
export function encodeNifti(
  image: CtVolume | LabelMap,
  options: EncodeNiftiOptions = {},
): Uint8Array {
  const version = options.version ?? DEFAULT_ENCODE_NIFTI_OPTIONS.version;
  const isLabels = 'classes' in image;
  const datatype: NiftiDatatype =
    options.datatype ??
    (isLabels ? 'uint8' : image.data instanceof Int16Array ? 'int16' : 'float32');
  const info = DATATYPES[datatype];
  if (info === undefined || (datatype as NiftiDatatype) === 'uint32') {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `datatype: expected one of ${Object.keys(DATATYPES)
        .filter((d) => d !== 'uint32')
        .join(', ')}, got ${describeValue(datatype)}`,
    );
  }
  const geometry = image.geometry;
  const [slices, rows, columns] = geometry.shape;
  const count = voxelCount(geometry);
  checkRepresentable(image.data, datatype, info);

  const dataOffset = version === 1 ? NIFTI1_DATA_OFFSET : NIFTI2_DATA_OFFSET;
  const out = new Uint8Array(dataOffset + count * info.bytes);
  const view = new DataView(out.buffer);
  const { srow, quatern, qfac } = rasTransform(geometry);
  const dim = [3, columns, rows, slices, 1, 1, 1, 1];
  const pixdim = [
    qfac,
    geometry.spacingMm[2],
    geometry.spacingMm[1],
    geometry.spacingMm[0],
    1,
    1,
    1,
    1,
  ];
  const description = options.description ?? DEFAULT_ENCODE_NIFTI_OPTIONS.description;
  if (version === 1) {
    writeHeader1(view, out, { dim, pixdim, srow, quatern, datatype: info, description });
  } else {
    writeHeader2(view, out, { dim, pixdim, srow, quatern, datatype: info, description });
  }
  writeElements(view, dataOffset, image.data, datatype);
  // mtime 0: the same image gives the same bytes (reproducible files, stable checksums).
  return options.gzip === true ? gzipSync(out, { level: 6, mtime: 0 }) : out;
}

interface HeaderValues {
  dim: number[];
  pixdim: number[];
  srow: number[][];
  quatern: number[];
  datatype: DatatypeInfo;
  description: string;
}

function writeHeader1(view: DataView, out: Uint8Array, h: HeaderValues): void {
  view.setInt32(0, NIFTI1_HEADER_BYTES, true);
  out[38] = 'r'.charCodeAt(0);
  h.dim.forEach((d, n) => view.setInt16(40 + 2 * n, d, true));
  view.setInt16(70, h.datatype.code, true);
  view.setInt16(72, h.datatype.bytes * 8, true);
  h.pixdim.forEach((p, n) => view.setFloat32(76 + 4 * n, p, true));
  view.setFloat32(108, NIFTI1_DATA_OFFSET, true);
  view.setFloat32(112, 1, true);
  view.setFloat32(116, 0, true);
  out[123] = NIFTI_UNITS_MM;
  writeAscii(out, 148, 79, h.description);
  view.setInt16(252, NIFTI_XFORM_SCANNER_ANAT, true);
  view.setInt16(254, NIFTI_XFORM_SCANNER_ANAT, true);
  h.quatern.forEach((q, n) => view.setFloat32(256 + 4 * n, q, true));
  h.srow.forEach((row, r) => row.forEach((v, c) => view.setFloat32(280 + 16 * r + 4 * c, v, true)));
  writeAscii(out, 344, 4, 'n+1');
}

function writeHeader2(view: DataView, out: Uint8Array, h: HeaderValues): void {
  view.setInt32(0, NIFTI2_HEADER_BYTES, true);
  out.set([0x6e, 0x2b, 0x32, 0x00, 0x0d, 0x0a, 0x1a, 0x0a], 4);
  view.setInt16(12, h.datatype.code, true);
  view.setInt16(14, h.datatype.bytes * 8, true);
  h.dim.forEach((d, n) => view.setBigInt64(16 + 8 * n, BigInt(d), true));
  h.pixdim.forEach((p, n) => view.setFloat64(104 + 8 * n, p, true));
  view.setBigInt64(168, BigInt(NIFTI2_DATA_OFFSET), true);
  view.setFloat64(176, 1, true);
  view.setFloat64(184, 0, true);
  writeAscii(out, 240, 79, h.description);
  view.setInt32(344, NIFTI_XFORM_SCANNER_ANAT, true);
  view.setInt32(348, NIFTI_XFORM_SCANNER_ANAT, true);
  h.quatern.forEach((q, n) => view.setFloat64(352 + 8 * n, q, true));
  h.srow.forEach((row, r) => row.forEach((v, c) => view.setFloat64(400 + 32 * r + 8 * c, v, true)));
  view.setInt32(500, NIFTI_UNITS_MM, true);
}

/** The RAS sform rows and the quaternion form (b, c, d, x, y, z) of a geometry. */
function rasTransform(geometry: VolumeGeometry): {
  srow: number[][];
  quatern: number[];
  qfac: number;
} {
  const { direction: d, spacingMm: s, originMm: o } = geometry;
  // File axes i, j, k are canonical axes 2, 1, 0 (columns, rows, slices); LPS to RAS negates x, y.
  const flip = [-1, -1, 1];
  const fileAxis = [2, 1, 0];
  const rot = [0, 1, 2].map((r) => fileAxis.map((a) => flip[r]! * d[3 * r + a]!));
  const srow = [0, 1, 2].map((r) => [
    ...fileAxis.map((a, c) => rot[r]![c]! * s[a]!),
    flip[r]! * o[r]!,
  ]);

  // A quaternion describes a proper rotation; a reflection goes into qfac on the k axis.
  const det =
    rot[0]![0]! * (rot[1]![1]! * rot[2]![2]! - rot[1]![2]! * rot[2]![1]!) -
    rot[0]![1]! * (rot[1]![0]! * rot[2]![2]! - rot[1]![2]! * rot[2]![0]!) +
    rot[0]![2]! * (rot[1]![0]! * rot[2]![1]! - rot[1]![1]! * rot[2]![0]!);
  const qfac = det < 0 ? -1 : 1;
  if (qfac < 0) for (let r = 0; r < 3; r++) rot[r]![2] = -rot[r]![2]!;
  const [b, c, dq] = rotationToQuaternion(rot);
  return { srow, quatern: [b, c, dq, flip[0]! * o[0]!, flip[1]! * o[1]!, o[2]!], qfac };
}

function rotationToQuaternion(m: number[][]): [number, number, number] {
  const r = (i: number, j: number) => m[i]![j]!;
  const trace = r(0, 0) + r(1, 1) + r(2, 2);
  let a: number;
  let b: number;
  let c: number;
  let d: number;
  if (trace > 0) {
    const s = 0.5 / Math.sqrt(trace + 1);
    a = 0.25 / s;
    b = (r(2, 1) - r(1, 2)) * s;
    c = (r(0, 2) - r(2, 0)) * s;
    d = (r(1, 0) - r(0, 1)) * s;
  } else if (r(0, 0) > r(1, 1) && r(0, 0) > r(2, 2)) {
    const s = 2 * Math.sqrt(1 + r(0, 0) - r(1, 1) - r(2, 2));
    a = (r(2, 1) - r(1, 2)) / s;
    b = 0.25 * s;
    c = (r(0, 1) + r(1, 0)) / s;
    d = (r(0, 2) + r(2, 0)) / s;
  } else if (r(1, 1) > r(2, 2)) {
    const s = 2 * Math.sqrt(1 + r(1, 1) - r(0, 0) - r(2, 2));
    a = (r(0, 2) - r(2, 0)) / s;
    b = (r(0, 1) + r(1, 0)) / s;
    c = 0.25 * s;
    d = (r(1, 2) + r(2, 1)) / s;
  } else {
    const s = 2 * Math.sqrt(1 + r(2, 2) - r(0, 0) - r(1, 1));
    a = (r(1, 0) - r(0, 1)) / s;
    b = (r(0, 2) + r(2, 0)) / s;
    c = (r(1, 2) + r(2, 1)) / s;
    d = 0.25 * s;
  }
  // NIfTI stores b, c, d and implies a = sqrt(1 - b² - c² - d²) >= 0.
  return a < 0 ? [-b, -c, -d] : [b, c, d];
}

function parseHeader(raw: Uint8Array, file: string | undefined): NiftiHeader {
  if (raw.length < NIFTI1_HEADER_BYTES) {
    throw new LesionEncError(
      'CORRUPT_FILE',
      `NIfTI header: expected at least ${NIFTI1_HEADER_BYTES} bytes, got ${raw.length}`,
      fileOption(file),
    );
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = view.getInt32(0, true);
  const be = view.getInt32(0, false);
  let version: 1 | 2;
  let littleEndian: boolean;
  if (le === NIFTI1_HEADER_BYTES || be === NIFTI1_HEADER_BYTES) {
    version = 1;
    littleEndian = le === NIFTI1_HEADER_BYTES;
  } else if (le === NIFTI2_HEADER_BYTES || be === NIFTI2_HEADER_BYTES) {
    version = 2;
    littleEndian = le === NIFTI2_HEADER_BYTES;
  } else {
    throw new LesionEncError(
      'UNSUPPORTED_FORMAT',
      `NIfTI header: expected sizeof_hdr 348 (NIfTI-1) or 540 (NIfTI-2), got ${le}`,
      fileOption(file),
    );
  }
  if (version === 2 && raw.length < NIFTI2_HEADER_BYTES) {
    throw new LesionEncError(
      'CORRUPT_FILE',
      `NIfTI-2 header: expected ${NIFTI2_HEADER_BYTES} bytes, got ${raw.length}`,
      fileOption(file),
    );
  }
  const magic = readAscii(raw, version === 1 ? 344 : 4, 4);
  const expectedMagic = version === 1 ? 'n+1' : 'n+2';
  if (magic !== expectedMagic) {
    const pair = magic === 'ni1' || magic === 'ni2';
    throw new LesionEncError(
      'UNSUPPORTED_FORMAT',
      pair
        ? `NIfTI magic: expected a single-file image ('${expectedMagic}'), got a .hdr/.img pair ('${magic}')`
        : `NIfTI magic: expected '${expectedMagic}', got ${describeValue(magic)} (ANALYZE 7.5 is not supported)`,
      fileOption(file),
    );
  }
  const i16 = (o: number) => view.getInt16(o, littleEndian);
  const i32 = (o: number) => view.getInt32(o, littleEndian);
  const f32 = (o: number) => view.getFloat32(o, littleEndian);
  const f64 = (o: number) => view.getFloat64(o, littleEndian);
  const i64 = (o: number) => Number(view.getBigInt64(o, littleEndian));
  const range = (n: number, at: (k: number) => number) =>
    Array.from({ length: n }, (_, k) => at(k));
  if (version === 1) {
    return Object.freeze({
      version,
      littleEndian,
      dim: range(8, (k) => i16(40 + 2 * k)),
      pixdim: range(8, (k) => f32(76 + 4 * k)),
      datatype: i16(70),
      bitpix: i16(72),
      vox_offset: f32(108),
      scl_slope: f32(112),
      scl_inter: f32(116),
      qform_code: i16(252),
      sform_code: i16(254),
      quatern_b: f32(256),
      quatern_c: f32(260),
      quatern_d: f32(264),
      qoffset_x: f32(268),
      qoffset_y: f32(272),
      qoffset_z: f32(276),
      srow_x: range(4, (k) => f32(280 + 4 * k)),
      srow_y: range(4, (k) => f32(296 + 4 * k)),
      srow_z: range(4, (k) => f32(312 + 4 * k)),
      xyzt_units: raw[123]!,
      intent_code: i16(68),
      descrip: readAscii(raw, 148, 80),
    });
  }
  return Object.freeze({
    version,
    littleEndian,
    dim: range(8, (k) => i64(16 + 8 * k)),
    pixdim: range(8, (k) => f64(104 + 8 * k)),
    datatype: i16(12),
    bitpix: i16(14),
    vox_offset: i64(168),
    scl_slope: f64(176),
    scl_inter: f64(184),
    qform_code: i32(344),
    sform_code: i32(348),
    quatern_b: f64(352),
    quatern_c: f64(360),
    quatern_d: f64(368),
    qoffset_x: f64(376),
    qoffset_y: f64(384),
    qoffset_z: f64(392),
    srow_x: range(4, (k) => f64(400 + 8 * k)),
    srow_y: range(4, (k) => f64(432 + 8 * k)),
    srow_z: range(4, (k) => f64(464 + 8 * k)),
    xyzt_units: i32(500),
    intent_code: i32(504),
    descrip: readAscii(raw, 240, 80),
  });
}

function datatypeName(code: number, file: string | undefined): NiftiDatatype {
  for (const [name, info] of Object.entries(DATATYPES)) {
    if (info.code === code) return name as NiftiDatatype;
  }
  throw new LesionEncError(
    'UNSUPPORTED_FORMAT',
    `NIfTI datatype: expected one of ${Object.entries(DATATYPES)
      .map(([n, i]) => `${i.code} (${n})`)
      .join(', ')}, got ${code}`,
    fileOption(file),
  );
}

function checkDimensions(header: NiftiHeader, file: string | undefined): [number, number, number] {
  const { dim } = header;
  const rank = dim[0]!;
  if (!(Number.isInteger(rank) && rank >= 1 && rank <= 7)) {
    throw new LesionEncError(
      'CORRUPT_FILE',
      `NIfTI dim[0]: expected a rank in 1..7, got ${rank}`,
      fileOption(file),
    );
  }
  const sizes = [1, 2, 3, 4, 5, 6, 7].map((k) => (k <= rank ? dim[k]! : 1));
  if (!sizes.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new LesionEncError(
      'INVALID_VOLUME',
      `NIfTI dim: expected positive sizes, got [${sizes.slice(0, rank).join(', ')}]`,
      fileOption(file),
    );
  }
  const extra = sizes.slice(3).reduce((p, n) => p * n, 1);
  if (extra !== 1) {
    throw new LesionEncError(
      'UNSUPPORTED_FORMAT',
      `NIfTI dim: expected one 3D volume, got [${sizes.slice(0, rank).join(', ')}] ` +
        `(${extra} volumes in dimensions 4-7)`,
      fileOption(file),
    );
  }
  const shape: [number, number, number] = [sizes[0]!, sizes[1]!, sizes[2]!];
  const count = shape[0] * shape[1] * shape[2];
  if (count > MAX_NIFTI_VOXELS) {
    throw new LesionEncError(
      'INVALID_VOLUME',
      `NIfTI dim: expected at most ${MAX_NIFTI_VOXELS} voxels, got ${count} (${shape.join(' x ')})`,
      fileOption(file),
    );
  }
  if (!(
    Number.isInteger(header.vox_offset) &&
    header.vox_offset >= (header.version === 1 ? NIFTI1_HEADER_BYTES : NIFTI2_HEADER_BYTES)
  )) {
    throw new LesionEncError(
      'CORRUPT_FILE',
      `NIfTI vox_offset: expected an integer past the header, got ${header.vox_offset}`,
      fileOption(file),
    );
  }
  return shape;
}

function newArray(datatype: NiftiDatatype, count: number): NumericArray {
  switch (datatype) {
    case 'uint8':
      return new Uint8Array(count);
    case 'int8':
      return new Int8Array(count);
    case 'int16':
      return new Int16Array(count);
    case 'uint16':
      return new Uint16Array(count);
    case 'int32':
      return new Int32Array(count);
    case 'uint32':
      return new Uint32Array(count);
    case 'float32':
      return new Float32Array(count);
    case 'float64':
      return new Float64Array(count);
  }
}

function readElements(
  raw: Uint8Array,
  offset: number,
  count: number,
  datatype: NiftiDatatype,
  littleEndian: boolean,
): NumericArray {
  const bytes = DATATYPES[datatype].bytes;
  const out = newArray(datatype, count);
  const slice = raw.subarray(offset, offset + count * bytes);
  if (littleEndian === HOST_LITTLE_ENDIAN || bytes === 1) {
    new Uint8Array(out.buffer).set(slice);
    return out;
  }
  // Swap each element's bytes into place.
  const target = new Uint8Array(out.buffer);
  for (let n = 0; n < count; n++) {
    const base = n * bytes;
    for (let b = 0; b < bytes; b++) target[base + b] = slice[base + bytes - 1 - b]!;
  }
  return out;
}

function writeElements(
  view: DataView,
  offset: number,
  data: ArrayLike<number>,
  datatype: NiftiDatatype,
): void {
  const target = newArray(datatype, data.length);
  for (let n = 0; n < data.length; n++) target[n] = data[n]!;
  const bytes = new Uint8Array(target.buffer);
  if (!HOST_LITTLE_ENDIAN) {
    const size = DATATYPES[datatype].bytes;
    for (let n = 0; n < data.length; n++) {
      for (let b = 0; b < size; b++)
        view.setUint8(offset + n * size + b, bytes[n * size + size - 1 - b]!);
    }
    return;
  }
  new Uint8Array(view.buffer, view.byteOffset + offset, bytes.length).set(bytes);
}

function checkRepresentable(
  data: ArrayLike<number>,
  datatype: NiftiDatatype,
  info: DatatypeInfo,
): void {
  for (let n = 0; n < data.length; n++) {
    const v = data[n]!;
    if (v < info.min || v > info.max || (info.integer && !Number.isInteger(v))) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `voxel ${n}: expected ${info.integer ? 'an integer' : 'a value'} in ` +
          `[${info.min}, ${info.max}] for datatype ${datatype}, got ${v}`,
      );
    }
  }
}

interface FileTransform {
  axes: number[][];
  origin: number[];
  transform: NiftiImage['transform'];
}

/** The LPS step vectors of file axes i, j, k and the LPS position of voxel (0, 0, 0). */
function fileTransformLps(header: NiftiHeader, file: string | undefined): FileTransform {
  const toLps = (ras: readonly number[]) => [-ras[0]!, -ras[1]!, ras[2]!];
  const candidates: FileTransform[] = [];
  if (header.sform_code > 0) {
    const rows = [header.srow_x, header.srow_y, header.srow_z];
    candidates.push({
      axes: [0, 1, 2].map((c) => toLps(rows.map((row) => row[c]!))),
      origin: toLps(rows.map((row) => row[3]!)),
      transform: 'sform',
    });
  }
  if (header.qform_code > 0) candidates.push(qformTransform(header, toLps));
  for (const candidate of candidates) {
    const problem = transformProblem(candidate.axes);
    if (problem === undefined) return candidate;
    log.warn(`${file ?? 'NIfTI'}: ${candidate.transform} rejected (${problem})`, { file });
  }
  if (candidates.length > 0) {
    throw new LesionEncError(
      'INVALID_GEOMETRY',
      `NIfTI transform: expected an orthogonal sform or qform, got ${transformProblem(candidates[0]!.axes)}`,
      fileOption(file),
    );
  }

  // Method 1 of nifti1.h: spacing only, file axes along +x, +y, +z of RAS.
  log.warn(`${file ?? 'NIfTI'}: no sform or qform; geometry from pixdim alone`, { file });
  const spacing = [1, 2, 3].map((k) => {
    const p = Math.abs(header.pixdim[k]!);
    return Number.isFinite(p) && p > 0 ? p : 1;
  });
  return {
    axes: [toLps([spacing[0]!, 0, 0]), toLps([0, spacing[1]!, 0]), toLps([0, 0, spacing[2]!])],
    origin: [0, 0, 0],
    transform: 'pixdim',
  };
}

function qformTransform(
  header: NiftiHeader,
  toLps: (ras: readonly number[]) => number[],
): FileTransform {
  const b = header.quatern_b;
  const c = header.quatern_c;
  const d = header.quatern_d;
  const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const qfac = header.pixdim[0]! < 0 ? -1 : 1;
  const spacing = [header.pixdim[1]!, header.pixdim[2]!, qfac * header.pixdim[3]!];
  return {
    axes: [0, 1, 2].map((col) => toLps(r.map((row) => row[col]! * spacing[col]!))),
    origin: toLps([header.qoffset_x, header.qoffset_y, header.qoffset_z]),
    transform: 'qform',
  };
}

// Largest |cosine| between two axes of a grid that still counts as orthogonal: float32 headers
// and rounding in converters leave about 1e-6.
const ORTHOGONALITY_TOLERANCE = 1e-4;

function transformProblem(axes: readonly (readonly number[])[]): string | undefined {
  const norms = axes.map((v) => Math.hypot(v[0]!, v[1]!, v[2]!));
  if (!norms.every((n) => Number.isFinite(n) && n > 0)) {
    return `axis lengths [${norms.map((n) => n.toPrecision(4)).join(', ')}] mm (singular)`;
  }
  for (let p = 0; p < 3; p++) {
    for (let q = p + 1; q < 3; q++) {
      const cos =
        (axes[p]![0]! * axes[q]![0]! + axes[p]![1]! * axes[q]![1]! + axes[p]![2]! * axes[q]![2]!) /
        (norms[p]! * norms[q]!);
      if (Math.abs(cos) > ORTHOGONALITY_TOLERANCE) {
        return `axes ${p} and ${q} at cosine ${cos.toFixed(5)} (sheared)`;
      }
    }
  }
  return undefined;
}
