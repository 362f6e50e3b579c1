// One DICOM image file on bytes: its attributes (DICOM keyword spelling) and its stored pixels.
// Pixel module: PS3.3 C.7.6.3; transfer syntaxes: PS3.5 section 8 and annex A.
import { inflateSync } from 'fflate';

import { LesionEncError, createLogger, describeValue } from '@lesionenc/base';
import type { DataSet, Element } from 'dicom-parser';

import { HOST_LITTLE_ENDIAN, fileOption } from './internal/bytes';
import { dicomParser } from './internal/dicom-parser';
import { decodeCompressedFrame, isCompressedTransferSyntax } from './internal/dicom-codecs';
import type { NumericArray } from './orientation';

const log = createLogger('lesionenc.io.dicom');

/** Transfer syntax UIDs the reader handles (PS3.5 annex A, PS3.6 annex A). */
export const TRANSFER_SYNTAX = Object.freeze({
  implicitLittle: '1.2.840.10008.1.2',
  explicitLittle: '1.2.840.10008.1.2.1',
  deflatedExplicitLittle: '1.2.840.10008.1.2.1.99',
  explicitBig: '1.2.840.10008.1.2.2',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegLossless14: '1.2.840.10008.1.2.4.57',
  jpegLosslessSv1: '1.2.840.10008.1.2.4.70',
  jpegLsLossless: '1.2.840.10008.1.2.4.80',
  jpegLsNearLossless: '1.2.840.10008.1.2.4.81',
  jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
  jpeg2000: '1.2.840.10008.1.2.4.91',
  rle: '1.2.840.10008.1.2.5',
});

/**
 * The attributes of one image file that the series reader uses, spelled as DICOM keywords.
 * Absent attributes are undefined; nothing is defaulted here.
 */
export interface DicomImageHeader {
  readonly TransferSyntaxUID: string;
  readonly SOPInstanceUID: string | undefined;
  readonly SOPClassUID: string | undefined;
  readonly StudyInstanceUID: string | undefined;
  readonly SeriesInstanceUID: string | undefined;
  readonly FrameOfReferenceUID: string | undefined;
  readonly Modality: string | undefined;
  readonly SeriesDescription: string | undefined;
  readonly SeriesNumber: number | undefined;
  readonly InstanceNumber: number | undefined;
  readonly PatientID: string | undefined;
  readonly PatientName: string | undefined;
  readonly PatientBirthDate: string | undefined;
  readonly PatientSex: string | undefined;
  readonly StudyDate: string | undefined;
  readonly StudyTime: string | undefined;
  readonly StudyID: string | undefined;
  readonly AccessionNumber: string | undefined;
  readonly ReferringPhysicianName: string | undefined;
  /** The character set of the file's text, as declared (absent means ASCII). */
  readonly SpecificCharacterSet: string | undefined;
  readonly ImagePositionPatient: readonly [number, number, number] | undefined;
  readonly ImageOrientationPatient: readonly number[] | undefined;
  /** Row spacing (between rows), then column spacing, mm. */
  readonly PixelSpacing: readonly [number, number] | undefined;
  readonly ImagerPixelSpacing: readonly [number, number] | undefined;
  readonly SliceThickness: number | undefined;
  readonly SpacingBetweenSlices: number | undefined;
  readonly GantryDetectorTilt: number | undefined;
  readonly ConvolutionKernel: string | undefined;
  readonly Rows: number | undefined;
  readonly Columns: number | undefined;
  readonly BitsAllocated: number | undefined;
  readonly BitsStored: number | undefined;
  readonly HighBit: number | undefined;
  readonly PixelRepresentation: number | undefined;
  readonly SamplesPerPixel: number | undefined;
  readonly PhotometricInterpretation: string | undefined;
  readonly NumberOfFrames: number | undefined;
  readonly RescaleSlope: number | undefined;
  readonly RescaleIntercept: number | undefined;
  readonly PixelPaddingValue: number | undefined;
  readonly PixelPaddingRangeLimit: number | undefined;
  readonly WindowCenter: number | undefined;
  readonly WindowWidth: number | undefined;
  /** Whether the file has a Pixel Data element. */
  readonly hasPixelData: boolean;
  /**
   * Where native (uncompressed, not deflated) pixel data starts in the file, in bytes; undefined
   * for encapsulated or deflated data.
   */
  readonly pixelDataOffset: number | undefined;
  /**
   * Where native (uncompressed, not deflated) pixel data ends in the file, in bytes; undefined
   * for encapsulated or deflated data.
   */
  readonly pixelDataEnd: number | undefined;
}

/** Options of {@link parseDicomHeader} and {@link decodeDicomImage}. */
export interface DicomFileOptions {
  /** Named in errors. */
  file?: string;
}

/** A decoded image: its header and its stored (not yet rescaled) values, row-major. */
export interface DicomImage {
  readonly header: DicomImageHeader;
  /** Stored values of frame 0, `Rows * Columns` of them, before RescaleSlope/Intercept. */
  readonly stored: NumericArray;
}

const PIXEL_DATA = 'x7fe00010';

/**
 * Parses a DICOM file (Part 10, or a bare implicit-VR data set) and reads its attributes. Only
 * the bytes before Pixel Data are needed, so a caller may pass the start of a large file.
 *
 * @param bytes - The file's bytes, whole or a prefix that contains every attribute.
 * @param options - The file name, for errors.
 * @returns The header.
 * @throws {@link LesionEncError} `UNSUPPORTED_FORMAT` for a file that is not DICOM,
 * `CORRUPT_FILE` for one that ends inside its attributes.
 */
export function parseDicomHeader(
  bytes: Uint8Array,
  options: DicomFileOptions = {},
): DicomImageHeader {
  return readHeader(parseDataSet(bytes, options.file, true));
}

/**
 * Decodes a DICOM image file: attributes and the stored pixels of its first frame. Native
 * little- and big-endian, implicit and explicit VR, deflated, RLE, JPEG Lossless (process 14
 * and SV1), JPEG baseline (8 bit), JPEG-LS and JPEG 2000 are handled.
 *
 * @param bytes - The whole file.
 * @param options - The file name, for errors.
 * @returns The header and the stored values.
 * @throws {@link LesionEncError} `UNSUPPORTED_FORMAT` for a file without pixels, colour images,
 * multi-frame files or an unknown transfer syntax, `CORRUPT_FILE` for truncated pixel data or a
 * codec failure.
 */
export async function decodeDicomImage(
  bytes: Uint8Array,
  options: DicomFileOptions = {},
): Promise<DicomImage> {
  const file = options.file;
  const dataSet = parseDataSet(bytes, file, false);
  const header = readHeader(dataSet);
  const stored = await readStoredPixels(dataSet, header, file);
  return Object.freeze({ header, stored });
}

/**
 * Parses a whole DICOM file into dicom-parser's data set (deflated data sets inflated), with the
 * same typed errors as {@link parseDicomHeader}. For readers of other IODs in this package.
 *
 * @param bytes - The whole file.
 * @param file - Named in errors.
 * @returns The data set.
 */
export function parseDicomDataSet(bytes: Uint8Array, file: string | undefined): DataSet {
  return parseDataSet(bytes, file, false);
}

function parseDataSet(bytes: Uint8Array, file: string | undefined, headerOnly: boolean): DataSet {
  const parser = dicomParser();
  const options = {
    ...(headerOnly ? { untilTag: PIXEL_DATA } : {}),
    inflater: (array: Uint8Array, position: number) => inflateRest(array, position, file),
  };
  const part10 =
    bytes.length >= 132 &&
    bytes[128] === 0x44 &&
    bytes[129] === 0x49 &&
    bytes[130] === 0x43 &&
    bytes[131] === 0x4d;
  try {
    if (!part10) throw new Error('DICM prefix not found');
    return parser.parseDicom(bytes, options);
  } catch (error) {
    const message = errorText(error);
    if (/DICM prefix not found/.test(message)) {
      // A bare data set without the Part 10 preamble is implicit VR little endian by definition.
      if (bytes.length > 8 && bytes[0] === 0x08 && bytes[1] === 0x00) {
        try {
          return parser.parseDicom(bytes, {
            ...options,
            TransferSyntaxUID: TRANSFER_SYNTAX.implicitLittle,
          });
        } catch (inner) {
          throw corrupt(
            `DICOM data set: expected parseable attributes, got ${errorText(inner)}`,
            file,
            inner,
          );
        }
      }
      throw new LesionEncError(
        'UNSUPPORTED_FORMAT',
        `DICOM: expected the 'DICM' prefix at byte 128, got a file that is not DICOM (${bytes.length} bytes)`,
        { ...fileOption(file), cause: error },
      );
    }
    if (error instanceof LesionEncError) throw error;
    throw corrupt(`DICOM data set: expected complete attributes, got ${message}`, file, error);
  }
}

function inflateRest(array: Uint8Array, position: number, file: string | undefined): Uint8Array {
  let inflated: Uint8Array;
  try {
    inflated = inflateSync(array.subarray(position));
  } catch (error) {
    throw corrupt(
      `deflated data set: expected a complete deflate stream, got ${errorText(error)}`,
      file,
      error,
    );
  }
  const full = new Uint8Array(position + inflated.length);
  full.set(array.subarray(0, position), 0);
  full.set(inflated, position);
  return full;
}

function errorText(error: unknown): string {
  return typeof error === 'string' ? error : error instanceof Error ? error.message : String(error);
}

function corrupt(message: string, file: string | undefined, cause: unknown): LesionEncError {
  return new LesionEncError('CORRUPT_FILE', message, { ...fileOption(file), cause });
}

function readHeader(d: DataSet): DicomImageHeader {
  const text = (tag: string) => {
    const v = d.string(tag);
    return v === undefined || v.length === 0 ? undefined : v;
  };
  const decimal = (tag: string, index = 0) => {
    const v = d.elements[tag] === undefined ? undefined : d.floatString(tag, index);
    return v === undefined || !Number.isFinite(v) ? undefined : v;
  };
  const decimals = (tag: string, count: number): number[] | undefined => {
    if (d.elements[tag] === undefined) return undefined;
    const out: number[] = [];
    for (let n = 0; n < count; n++) {
      const v = decimal(tag, n);
      if (v === undefined) return undefined;
      out.push(v);
    }
    return out;
  };
  const integer = (tag: string) => {
    const v = d.elements[tag] === undefined ? undefined : d.intString(tag);
    return v === undefined || !Number.isFinite(v) ? undefined : v;
  };
  const us = (tag: string) => (d.elements[tag] === undefined ? undefined : d.uint16(tag));
  const pixelRepresentation = us('x00280103');
  const padding = (tag: string) => {
    const v = us(tag);
    // The padding value takes the VR of the pixels: SS when they are signed.
    return v === undefined ? undefined : pixelRepresentation === 1 && v > 32767 ? v - 65536 : v;
  };
  const pixels = d.elements[PIXEL_DATA];
  const syntax = text('x00020010') ?? TRANSFER_SYNTAX.implicitLittle;
  const native =
    pixels !== undefined &&
    pixels.encapsulatedPixelData !== true &&
    pixels.length !== 0xffffffff &&
    syntax !== TRANSFER_SYNTAX.deflatedExplicitLittle;
  const position = decimals('x00200032', 3);
  const spacing = decimals('x00280030', 2);
  const imagerSpacing = decimals('x00181164', 2);
  return Object.freeze({
    TransferSyntaxUID: syntax,
    SOPInstanceUID: text('x00080018'),
    SOPClassUID: text('x00080016'),
    StudyInstanceUID: text('x0020000d'),
    SeriesInstanceUID: text('x0020000e'),
    FrameOfReferenceUID: text('x00200052'),
    Modality: text('x00080060'),
    SeriesDescription: text('x0008103e'),
    SeriesNumber: integer('x00200011'),
    InstanceNumber: integer('x00200013'),
    PatientID: text('x00100020'),
    PatientName: text('x00100010'),
    PatientBirthDate: text('x00100030'),
    PatientSex: text('x00100040'),
    StudyDate: text('x00080020'),
    StudyTime: text('x00080030'),
    StudyID: text('x00200010'),
    AccessionNumber: text('x00080050'),
    ReferringPhysicianName: text('x00080090'),
    SpecificCharacterSet: text('x00080005'),
    ImagePositionPatient: position as [number, number, number] | undefined,
    ImageOrientationPatient: decimals('x00200037', 6),
    PixelSpacing: spacing as [number, number] | undefined,
    ImagerPixelSpacing: imagerSpacing as [number, number] | undefined,
    SliceThickness: decimal('x00180050'),
    SpacingBetweenSlices: decimal('x00180088'),
    GantryDetectorTilt: decimal('x00181120'),
    ConvolutionKernel: text('x00181210'),
    Rows: us('x00280010'),
    Columns: us('x00280011'),
    BitsAllocated: us('x00280100'),
    BitsStored: us('x00280101'),
    HighBit: us('x00280102'),
    PixelRepresentation: pixelRepresentation,
    SamplesPerPixel: us('x00280002'),
    PhotometricInterpretation: text('x00280004'),
    NumberOfFrames: integer('x00280008'),
    RescaleSlope: decimal('x00281053'),
    RescaleIntercept: decimal('x00281052'),
    PixelPaddingValue: padding('x00280120'),
    PixelPaddingRangeLimit: padding('x00280121'),
    WindowCenter: decimal('x00281050'),
    WindowWidth: decimal('x00281051'),
    hasPixelData: pixels !== undefined,
    pixelDataOffset: native ? pixels.dataOffset : undefined,
    pixelDataEnd: native ? pixels.dataOffset + pixels.length : undefined,
  });
}

/** Checks what the pixel reader needs and returns rows, columns and bits. */
export function pixelLayout(
  header: DicomImageHeader,
  file: string | undefined,
): { rows: number; columns: number; bitsAllocated: number; bitsStored: number; signed: boolean } {
  const fail = (message: string): never => {
    throw new LesionEncError('UNSUPPORTED_FORMAT', message, fileOption(file));
  };
  const rows = header.Rows;
  const columns = header.Columns;
  if (rows === undefined || columns === undefined || rows < 1 || columns < 1) {
    fail(
      `DICOM Rows/Columns: expected positive sizes, got ${describeValue(rows)} x ${describeValue(columns)}`,
    );
  }
  if ((header.SamplesPerPixel ?? 1) !== 1) {
    fail(`DICOM SamplesPerPixel: expected 1 (greyscale CT), got ${header.SamplesPerPixel}`);
  }
  const photometric = header.PhotometricInterpretation ?? 'MONOCHROME2';
  if (photometric !== 'MONOCHROME2' && photometric !== 'MONOCHROME1') {
    fail(
      `DICOM PhotometricInterpretation: expected MONOCHROME1 or MONOCHROME2, got '${photometric}'`,
    );
  }
  if ((header.NumberOfFrames ?? 1) !== 1) {
    fail(`DICOM NumberOfFrames: expected single-frame images, got ${header.NumberOfFrames} frames`);
  }
  const bitsAllocated = header.BitsAllocated ?? 16;
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    fail(`DICOM BitsAllocated: expected 8, 16 or 32, got ${bitsAllocated}`);
  }
  const bitsStored = header.BitsStored ?? bitsAllocated;
  if (!(bitsStored >= 1 && bitsStored <= bitsAllocated)) {
    fail(`DICOM BitsStored: expected 1..${bitsAllocated}, got ${bitsStored}`);
  }
  return {
    rows: rows!,
    columns: columns!,
    bitsAllocated,
    bitsStored,
    signed: header.PixelRepresentation === 1,
  };
}

async function readStoredPixels(
  dataSet: DataSet,
  header: DicomImageHeader,
  file: string | undefined,
): Promise<NumericArray> {
  const element: Element | undefined = dataSet.elements[PIXEL_DATA];
  if (element === undefined) {
    throw new LesionEncError(
      'UNSUPPORTED_FORMAT',
      'DICOM Pixel Data: expected an image, got a file without pixels (a report or structure?)',
      fileOption(file),
    );
  }
  const layout = pixelLayout(header, file);
  const count = layout.rows * layout.columns;
  const syntax = header.TransferSyntaxUID;

  let stored: NumericArray;
  if (element.encapsulatedPixelData === true || isCompressedTransferSyntax(syntax)) {
    const parser = dicomParser();
    let frame: Uint8Array;
    try {
      const fragments = element.fragments ?? [];
      frame =
        fragments.length > 0
          ? parser.readEncapsulatedPixelDataFromFragments(dataSet, element, 0, fragments.length)
          : parser.readEncapsulatedImageFrame(dataSet, element, 0);
    } catch (error) {
      throw corrupt(
        `DICOM Pixel Data: expected encapsulated fragments, got ${errorText(error)}`,
        file,
        error,
      );
    }
    stored = await decodeCompressedFrame(frame, syntax, layout, file);
  } else {
    const bytesPerSample = layout.bitsAllocated / 8;
    const needed = count * bytesPerSample;
    const available = Math.min(element.length, dataSet.byteArray.length - element.dataOffset);
    if (available < needed) {
      throw corrupt(
        `DICOM Pixel Data: expected ${needed} bytes for ${layout.rows} x ${layout.columns} x ` +
          `${layout.bitsAllocated} bit, got ${Math.max(0, available)} (file truncated)`,
        file,
        undefined,
      );
    }
    const littleEndian = syntax !== TRANSFER_SYNTAX.explicitBig;
    stored = nativePixels(dataSet.byteArray, element.dataOffset, count, layout, littleEndian);
  }
  if (stored.length !== count) {
    throw corrupt(`DICOM pixels: expected ${count} samples, got ${stored.length}`, file, undefined);
  }
  return maskStoredBits(stored, layout);
}

/**
 * The stored values of native pixel bytes read apart from the rest of their file (the series
 * reader reads them straight into its volume): a view of `pixels` when aligned and in host byte
 * order, else a copy; bits above BitsStored cleared in a copy.
 *
 * @param pixels - Exactly `Rows * Columns * BitsAllocated / 8` bytes of Pixel Data.
 * @param header - The file's header, checked with {@link pixelLayout}.
 * @param file - Named in errors.
 * @returns The stored values of frame 0.
 */
export function nativeStoredPixels(
  pixels: Uint8Array,
  header: DicomImageHeader,
  file: string | undefined,
): NumericArray {
  const layout = pixelLayout(header, file);
  const count = layout.rows * layout.columns;
  const littleEndian = header.TransferSyntaxUID !== TRANSFER_SYNTAX.explicitBig;
  return maskStoredBits(nativePixels(pixels, 0, count, layout, littleEndian), layout);
}

/** Copies native (uncompressed) samples into an aligned array of the right type. */
function nativePixels(
  bytes: Uint8Array,
  offset: number,
  count: number,
  layout: { bitsAllocated: number; signed: boolean },
  littleEndian: boolean,
): NumericArray {
  const size = layout.bitsAllocated / 8;
  const source = bytes.subarray(offset, offset + count * size);
  const start = bytes.byteOffset + offset;
  if (littleEndian === HOST_LITTLE_ENDIAN && start % size === 0) {
    // Aligned samples in host order are used in place, without a copy (and never written to).
    if (size === 1) {
      return layout.signed
        ? new Int8Array(bytes.buffer, start, count)
        : new Uint8Array(bytes.buffer, start, count);
    }
    if (size === 2) {
      return layout.signed
        ? new Int16Array(bytes.buffer, start, count)
        : new Uint16Array(bytes.buffer, start, count);
    }
    return layout.signed
      ? new Int32Array(bytes.buffer, start, count)
      : new Uint32Array(bytes.buffer, start, count);
  }
  const out: NumericArray =
    size === 1
      ? layout.signed
        ? new Int8Array(count)
        : new Uint8Array(count)
      : size === 2
        ? layout.signed
          ? new Int16Array(count)
          : new Uint16Array(count)
        : layout.signed
          ? new Int32Array(count)
          : new Uint32Array(count);
  const target = new Uint8Array(out.buffer);
  if (littleEndian === HOST_LITTLE_ENDIAN || size === 1) {
    target.set(source);
  } else {
    for (let n = 0; n < count * size; n += size) {
      for (let b = 0; b < size; b++) target[n + b] = source[n + size - 1 - b]!;
    }
  }
  return out;
}

/**
 * Clears bits above BitsStored (old files keep overlays there) and sign-extends signed samples
 * stored in fewer bits than allocated.
 */
function maskStoredBits(
  stored: NumericArray,
  layout: { bitsAllocated: number; bitsStored: number; signed: boolean },
): NumericArray {
  if (layout.bitsStored >= layout.bitsAllocated) return stored;
  const bits = layout.bitsStored;
  const mask = 2 ** bits - 1;
  const signBit = 2 ** (bits - 1);
  const fix = (raw: number) => {
    const v = (raw >>> 0) & mask;
    return layout.signed && v >= signBit ? v - 2 ** bits : v;
  };
  // Exactly the samples that fix() would change lie outside this range.
  const lowest = layout.signed ? -signBit : 0;
  const highest = layout.signed ? signBit - 1 : mask;
  let first = -1;
  for (let n = 0; n < stored.length; n++) {
    const v = stored[n]!;
    if (v < lowest || v > highest) {
      first = n;
      break;
    }
  }
  if (first < 0) return stored;
  // The samples may be a view of the caller's bytes: change a copy.
  const out = stored.slice();
  for (let n = first; n < out.length; n++) out[n] = fix(out[n]!);
  log.debug(`cleared bits above BitsStored from sample ${first} on`);
  return out;
}
