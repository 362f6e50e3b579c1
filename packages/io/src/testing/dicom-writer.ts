// Test support: a minimal DICOM Part 10 writer (explicit/implicit VR, little/big endian, deflate)
// and a synthetic chest-like CT volume written out as a series of single-frame CT images.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'fflate';

import { createRandom } from '@lesionenc/base';

/** One attribute: tag as `[group, element]`, VR and value. */
export interface TestElement {
  tag: readonly [number, number];
  vr: string;
  value: string | number | readonly number[] | Uint8Array | Int16Array | Uint16Array;
  /** Write the length as undefined (0xFFFFFFFF): the value already holds items and a delimiter. */
  undefinedLength?: boolean;
}

/** How the data set after the meta group is encoded. */
export type TestSyntax = 'explicit-le' | 'implicit-le' | 'explicit-be' | 'deflate';

const SYNTAX_UID: Readonly<Record<TestSyntax, string>> = Object.freeze({
  'explicit-le': '1.2.840.10008.1.2.1',
  'implicit-le': '1.2.840.10008.1.2',
  'explicit-be': '1.2.840.10008.1.2.2',
  deflate: '1.2.840.10008.1.2.1.99',
});

const LONG_VRS = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN']);

function valueBytes(e: TestElement, little: boolean): Uint8Array {
  const { vr, value } = e;
  if (value instanceof Uint8Array) return padEven(value, 0);
  if (value instanceof Int16Array || value instanceof Uint16Array) {
    const out = new Uint8Array(value.length * 2);
    const view = new DataView(out.buffer);
    for (let n = 0; n < value.length; n++) view.setUint16(2 * n, value[n]! & 0xffff, little);
    return out;
  }
  if (vr === 'US' || vr === 'SS' || vr === 'UL') {
    const values = typeof value === 'number' ? [value] : (value as number[]);
    const size = vr === 'UL' ? 4 : 2;
    const out = new Uint8Array(values.length * size);
    const view = new DataView(out.buffer);
    values.forEach((v, n) => {
      if (vr === 'UL') view.setUint32(n * size, v, little);
      else if (vr === 'SS') view.setInt16(n * size, v, little);
      else view.setUint16(n * size, v, little);
    });
    return out;
  }
  const text =
    typeof value === 'string'
      ? value
      : typeof value === 'number'
        ? String(value)
        : value.join('\\');
  return padEven(new TextEncoder().encode(text), vr === 'UI' ? 0 : 0x20);
}

function padEven(bytes: Uint8Array, pad: number): Uint8Array {
  if (bytes.length % 2 === 0) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = pad;
  return out;
}

function encodeElements(
  elements: readonly TestElement[],
  explicit: boolean,
  little: boolean,
): Uint8Array {
  const sorted = [...elements].sort((a, b) => a.tag[0] - b.tag[0] || a.tag[1] - b.tag[1]);
  const parts: Uint8Array[] = [];
  for (const e of sorted) {
    const value = valueBytes(e, little);
    const long = LONG_VRS.has(e.vr);
    const head = new Uint8Array(explicit ? (long ? 12 : 8) : 8);
    const view = new DataView(head.buffer);
    view.setUint16(0, e.tag[0], little);
    view.setUint16(2, e.tag[1], little);
    if (!explicit) {
      view.setUint32(4, value.length, little);
    } else {
      head[4] = e.vr.charCodeAt(0);
      head[5] = e.vr.charCodeAt(1);
      if (long) view.setUint32(8, e.undefinedLength === true ? 0xffffffff : value.length, little);
      else view.setUint16(6, value.length, little);
    }
    parts.push(head, value);
  }
  return concat(parts);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Encodes a Part 10 file: preamble, 'DICM', the meta group (always explicit VR little endian),
 * then the data set in the requested syntax.
 *
 * @param elements - The data set's attributes (not the meta group).
 * @param syntax - The transfer syntax of the data set.
 * @param sopInstanceUid - Written into the meta group.
 * @returns The file's bytes.
 */
export function encodeTestDicom(
  elements: readonly TestElement[],
  syntax: TestSyntax | { uid: string },
  sopInstanceUid: string,
): Uint8Array {
  const syntaxUid = typeof syntax === 'string' ? SYNTAX_UID[syntax] : syntax.uid;
  const meta = encodeElements(
    [
      { tag: [0x0002, 0x0001], vr: 'OB', value: new Uint8Array([0, 1]) },
      { tag: [0x0002, 0x0002], vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
      { tag: [0x0002, 0x0003], vr: 'UI', value: sopInstanceUid },
      { tag: [0x0002, 0x0010], vr: 'UI', value: syntaxUid },
      { tag: [0x0002, 0x0012], vr: 'UI', value: '1.2.826.0.1.3680043.9.7433.1' },
    ],
    true,
    true,
  );
  const groupLength = encodeElements(
    [{ tag: [0x0002, 0x0000], vr: 'UL', value: meta.length }],
    true,
    true,
  );
  const little = syntax !== 'explicit-be';
  let body = encodeElements(elements, syntax !== 'implicit-le', little);
  if (syntax === 'deflate') body = deflateSync(body);
  const preamble = new Uint8Array(132);
  preamble.set([0x44, 0x49, 0x43, 0x4d], 128);
  return concat([preamble, groupLength, meta, body]);
}

/**
 * Encapsulates one compressed frame as Pixel Data items (PS3.5 A.4): an empty basic offset
 * table, the fragment, and the sequence delimiter.
 *
 * @param fragment - The codestream.
 * @returns The Pixel Data element.
 */
export function encapsulatedPixelData(fragment: Uint8Array): TestElement {
  const padded = padEven(fragment, 0);
  const out = new Uint8Array(8 + 8 + padded.length + 8);
  const view = new DataView(out.buffer);
  const item = (at: number, element: number, length: number) => {
    view.setUint16(at, 0xfffe, true);
    view.setUint16(at + 2, element, true);
    view.setUint32(at + 4, length, true);
  };
  item(0, 0xe000, 0);
  item(8, 0xe000, padded.length);
  out.set(padded, 16);
  item(16 + padded.length, 0xe0dd, 0);
  return { tag: [0x7fe0, 0x0010], vr: 'OB', value: out, undefinedLength: true };
}

/** A synthetic volume with the geometry a series will carry. */
export interface TestVolume {
  /** HU, `[slices, rows, columns]`. */
  data: Int16Array;
  slices: number;
  rows: number;
  columns: number;
  rowSpacingMm: number;
  columnSpacingMm: number;
  sliceSpacingMm: number;
  /** LPS position of voxel (0, 0, 0). */
  originMm: [number, number, number];
}

/**
 * A chest-like volume: an elliptic body of soft tissue with two air-filled lungs, a denser
 * spine, seeded noise, and the outside at -1024 HU (or `paddingHu` where a scanner would pad).
 *
 * @param size - Slices, rows and columns.
 * @param seed - Noise seed.
 * @returns The volume.
 */
export function syntheticChest(
  size: { slices: number; rows: number; columns: number },
  seed = 1,
): TestVolume {
  const { slices, rows, columns } = size;
  const random = createRandom(seed);
  const data = new Int16Array(slices * rows * columns);
  for (let k = 0; k < slices; k++) {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < columns; j++) {
        const y = (i - rows / 2) / (rows * 0.35);
        const x = (j - columns / 2) / (columns * 0.45);
        const body = x * x + y * y <= 1;
        const lungR = ((x + 0.45) / 0.32) ** 2 + (y / 0.6) ** 2 <= 1;
        const lungL = ((x - 0.45) / 0.32) ** 2 + (y / 0.6) ** 2 <= 1;
        const spine = (x / 0.12) ** 2 + ((y - 0.7) / 0.15) ** 2 <= 1;
        let hu = -1024;
        if (body) hu = spine ? 700 : lungR || lungL ? -850 + 20 * k : 40;
        if (body) hu += Math.round((random.next() - 0.5) * 60);
        data[(k * rows + i) * columns + j] = hu;
      }
    }
  }
  return {
    data,
    slices,
    rows,
    columns,
    rowSpacingMm: 0.7,
    columnSpacingMm: 0.75,
    sliceSpacingMm: 1.25,
    originMm: [-180.5, -200.25, -310],
  };
}

/** How to write a series; every field changes one thing from a well-formed CT series. */
export interface TestSeriesOptions {
  syntax?: TestSyntax;
  seriesInstanceUid?: string;
  /** Stored = (HU - intercept) / slope. @defaultValue 1 and -1024 */
  rescaleSlope?: number;
  rescaleIntercept?: number;
  /** Write unsigned pixels (PixelRepresentation 0). @defaultValue true when intercept < 0 */
  unsigned?: boolean;
  bitsStored?: number;
  /** Stored value written for voxels at -1024 HU outside the body, with PixelPaddingValue. */
  paddingValue?: number;
  /** In-plane shift of each slice along the rows, mm per slice (gantry tilt). */
  tiltShiftMm?: number;
  /** Leave out these slice indices. */
  omitSlices?: readonly number[];
  /** Tags to leave out, by keyword. */
  omitTags?: readonly (
    'Modality' | 'ImagePositionPatient' | 'ImageOrientationPatient' | 'PixelSpacing'
  )[];
  /** Write the slices in this file-name order (indices); positions keep the true order. */
  fileOrder?: readonly number[];
  /** Columns of the slice at this index are cropped by one, making the series mixed. */
  mixSizeAt?: number;
  /** FrameOfReferenceUID; null leaves it out. @defaultValue a fixed UID */
  frameOfReferenceUid?: string | null;
  /** ImageOrientationPatient (row, then column cosines). @defaultValue `[1, 0, 0, 0, 1, 0]` */
  imageOrientation?: readonly number[];
}

/**
 * Writes a volume as a folder of single-frame CT images named `img-NNNN.dcm`.
 *
 * @param folder - Created if missing.
 * @param volume - From {@link syntheticChest}.
 * @param options - Variations to test.
 * @returns The file paths, in slice order.
 */
export async function writeTestSeries(
  folder: string,
  volume: TestVolume,
  options: TestSeriesOptions = {},
): Promise<string[]> {
  await mkdir(folder, { recursive: true });
  const slope = options.rescaleSlope ?? 1;
  const intercept = options.rescaleIntercept ?? -1024;
  const unsigned = options.unsigned ?? intercept < 0;
  const series = options.seriesInstanceUid ?? '1.2.826.0.1.3680043.9.7433.2.1';
  const omit = new Set(options.omitTags ?? []);
  const sliceSize = volume.rows * volume.columns;
  const names: string[] = [];
  const order = options.fileOrder ?? Array.from({ length: volume.slices }, (_, k) => k);
  for (let k = 0; k < volume.slices; k++) {
    if (options.omitSlices?.includes(k)) continue;
    const columns = options.mixSizeAt === k ? volume.columns - 1 : volume.columns;
    const stored = unsigned
      ? new Uint16Array(volume.rows * columns)
      : new Int16Array(volume.rows * columns);
    for (let i = 0; i < volume.rows; i++) {
      for (let j = 0; j < columns; j++) {
        const hu = volume.data[k * sliceSize + i * volume.columns + j]!;
        stored[i * columns + j] =
          options.paddingValue !== undefined && hu === -1024
            ? options.paddingValue
            : Math.round((hu - intercept) / slope);
      }
    }
    const position = [
      volume.originMm[0],
      volume.originMm[1] + (options.tiltShiftMm ?? 0) * k,
      volume.originMm[2] + volume.sliceSpacingMm * k,
    ];
    const sop = `${series}.${k + 1}`;
    const elements: TestElement[] = [
      { tag: [0x0008, 0x0016], vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
      { tag: [0x0008, 0x0018], vr: 'UI', value: sop },
      { tag: [0x0010, 0x0020], vr: 'LO', value: 'SYNTHETIC' },
      { tag: [0x0018, 0x0050], vr: 'DS', value: String(volume.sliceSpacingMm) },
      { tag: [0x0020, 0x000d], vr: 'UI', value: '1.2.826.0.1.3680043.9.7433.3' },
      { tag: [0x0020, 0x000e], vr: 'UI', value: series },
      { tag: [0x0020, 0x0011], vr: 'IS', value: '1' },
      // InstanceNumber deliberately runs against the positions, so sorting by it would be wrong.
      { tag: [0x0020, 0x0013], vr: 'IS', value: String(volume.slices - k) },
      { tag: [0x0028, 0x0002], vr: 'US', value: 1 },
      { tag: [0x0028, 0x0004], vr: 'CS', value: 'MONOCHROME2' },
      { tag: [0x0028, 0x0010], vr: 'US', value: volume.rows },
      { tag: [0x0028, 0x0011], vr: 'US', value: columns },
      { tag: [0x0028, 0x0100], vr: 'US', value: 16 },
      { tag: [0x0028, 0x0101], vr: 'US', value: options.bitsStored ?? 16 },
      { tag: [0x0028, 0x0102], vr: 'US', value: (options.bitsStored ?? 16) - 1 },
      { tag: [0x0028, 0x0103], vr: 'US', value: unsigned ? 0 : 1 },
      { tag: [0x0028, 0x1052], vr: 'DS', value: String(intercept) },
      { tag: [0x0028, 0x1053], vr: 'DS', value: String(slope) },
      { tag: [0x7fe0, 0x0010], vr: 'OW', value: stored },
    ];
    if (!omit.has('Modality')) elements.push({ tag: [0x0008, 0x0060], vr: 'CS', value: 'CT' });
    if (!omit.has('ImagePositionPatient')) {
      elements.push({
        tag: [0x0020, 0x0032],
        vr: 'DS',
        value: position.map((v) => v.toFixed(4)).join('\\'),
      });
    }
    if (!omit.has('ImageOrientationPatient')) {
      elements.push({
        tag: [0x0020, 0x0037],
        vr: 'DS',
        value: (options.imageOrientation ?? [1, 0, 0, 0, 1, 0]).join('\\'),
      });
    }
    if (options.frameOfReferenceUid !== null) {
      elements.push({
        tag: [0x0020, 0x0052],
        vr: 'UI',
        value: options.frameOfReferenceUid ?? '1.2.826.0.1.3680043.9.7433.4',
      });
    }
    if (!omit.has('PixelSpacing')) {
      elements.push({
        tag: [0x0028, 0x0030],
        vr: 'DS',
        value: `${volume.rowSpacingMm}\\${volume.columnSpacingMm}`,
      });
    }
    if (options.paddingValue !== undefined) {
      elements.push({
        tag: [0x0028, 0x0120],
        vr: unsigned ? 'US' : 'SS',
        value: options.paddingValue,
      });
    }
    const name = join(folder, `img-${String(order[k] ?? k).padStart(4, '0')}.dcm`);
    await writeFile(name, encodeTestDicom(elements, options.syntax ?? 'explicit-le', sop));
    names.push(name);
  }
  return names;
}
