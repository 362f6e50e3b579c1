// A small DICOM Part 10 writer: explicit VR little endian data sets with defined lengths, the
// file meta group, and the value encodings of PS3.5 section 6.2 (padding, multiplicity, limits).
import { LesionEncError } from '@lesionenc/base';

/** The value representations this writer encodes. */
export type WriterVr =
  | 'AE'
  | 'AS'
  | 'AT'
  | 'CS'
  | 'DA'
  | 'DS'
  | 'DT'
  | 'FD'
  | 'FL'
  | 'IS'
  | 'LO'
  | 'LT'
  | 'OB'
  | 'OW'
  | 'PN'
  | 'SH'
  | 'SL'
  | 'SQ'
  | 'SS'
  | 'ST'
  | 'TM'
  | 'UI'
  | 'UL'
  | 'US'
  | 'UT';

/** One attribute: the tag as `0xGGGGEEEE`, its VR and its value. */
export interface WriterElement {
  readonly tag: number;
  readonly vr: WriterVr;
  /**
   * Text VRs take a string or strings (joined with `\`); numeric VRs a number or numbers; OB/OW
   * bytes; SQ a list of items, each a list of elements; AT tags as `0xGGGGEEEE` numbers. An
   * empty string or list writes a zero-length (Type 2 empty) value.
   */
  readonly value:
    string | readonly string[] | number | readonly number[] | Uint8Array | WriterItem[];
}

/** One sequence item. */
export type WriterItem = readonly WriterElement[];

/** Transfer syntax the writer produces: explicit VR little endian (PS3.5 A.2). */
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

// VRs whose explicit-VR header has two reserved bytes and a 32-bit length (PS3.5 7.1.2).
const LONG_VRS: ReadonlySet<WriterVr> = new Set(['OB', 'OW', 'SQ', 'UT']);

// Largest value length in characters, per value, for the text VRs (PS3.5 table 6.2-1).
const MAX_CHARS: Partial<Record<WriterVr, number>> = {
  AE: 16,
  AS: 4,
  CS: 16,
  DA: 8,
  DS: 16,
  DT: 26,
  IS: 12,
  LO: 64,
  LT: 10240,
  PN: 64,
  SH: 16,
  ST: 1024,
  TM: 16,
  UI: 64,
};

// VRs whose value may hold several values separated by backslashes.
const MULTI_VALUED: ReadonlySet<WriterVr> = new Set([
  'AE',
  'AS',
  'CS',
  'DA',
  'DS',
  'DT',
  'IS',
  'LO',
  'PN',
  'SH',
  'TM',
  'UI',
]);

const NUMERIC_SIZE: Partial<Record<WriterVr, number>> = {
  AT: 4,
  FD: 8,
  FL: 4,
  SL: 4,
  SS: 2,
  UL: 4,
  US: 2,
};

function tagText(tag: number): string {
  const hex = tag.toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

function fail(tag: number, message: string): never {
  throw new LesionEncError('INVALID_ARGUMENT', `DICOM ${tagText(tag)}: ${message}`);
}

/**
 * Text as bytes, one byte per UTF-16 code unit below 256: readers of this project decode DICOM
 * text one byte per character, so text read from a file is written back byte for byte, in the
 * character set the source declared.
 */
function textBytes(tag: number, text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let n = 0; n < text.length; n++) {
    const c = text.charCodeAt(n);
    if (c > 0xff) fail(tag, `expected single-byte characters, got U+${c.toString(16)}`);
    out[n] = c;
  }
  return out;
}

function padEven(bytes: Uint8Array, pad: number): Uint8Array {
  if (bytes.length % 2 === 0) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = pad;
  return out;
}

function encodeText(e: WriterElement): Uint8Array {
  const values = typeof e.value === 'string' ? [e.value] : (e.value as readonly string[]);
  if (!values.every((v) => typeof v === 'string'))
    fail(e.tag, `expected text for VR ${e.vr}, got ${typeof values[0]}`);
  if (values.length > 1 && !MULTI_VALUED.has(e.vr))
    fail(e.tag, `expected one value for VR ${e.vr}, got ${values.length}`);
  const limit = MAX_CHARS[e.vr];
  for (const v of values) {
    if (limit !== undefined && v.length > limit)
      fail(e.tag, `expected at most ${limit} characters for VR ${e.vr}, got ${v.length}`);
    if (MULTI_VALUED.has(e.vr) && v.includes('\\'))
      fail(e.tag, `expected no backslash inside a value, got '${v}'`);
  }
  return padEven(textBytes(e.tag, values.join('\\')), e.vr === 'UI' ? 0 : 0x20);
}

function encodeNumbers(e: WriterElement): Uint8Array {
  const values = typeof e.value === 'number' ? [e.value] : (e.value as readonly number[]);
  const size = NUMERIC_SIZE[e.vr]!;
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  values.forEach((v, n) => {
    if (typeof v !== 'number' || !Number.isFinite(v))
      fail(e.tag, `expected finite numbers for VR ${e.vr}, got ${String(v)}`);
    const at = n * size;
    const integer = e.vr !== 'FD' && e.vr !== 'FL';
    if (integer && !Number.isInteger(v)) fail(e.tag, `expected integers for VR ${e.vr}, got ${v}`);
    switch (e.vr) {
      case 'US':
        if (v < 0 || v > 0xffff) fail(e.tag, `expected 0..65535 for US, got ${v}`);
        view.setUint16(at, v, true);
        break;
      case 'SS':
        if (v < -0x8000 || v > 0x7fff) fail(e.tag, `expected -32768..32767 for SS, got ${v}`);
        view.setInt16(at, v, true);
        break;
      case 'UL':
        if (v < 0 || v > 0xffffffff) fail(e.tag, `expected 0..2^32-1 for UL, got ${v}`);
        view.setUint32(at, v, true);
        break;
      case 'SL':
        view.setInt32(at, v, true);
        break;
      case 'AT':
        // An attribute tag is written as two 16-bit numbers: group, then element.
        view.setUint16(at, v >>> 16, true);
        view.setUint16(at + 2, v & 0xffff, true);
        break;
      case 'FL':
        view.setFloat32(at, v, true);
        break;
      default:
        view.setFloat64(at, v, true);
    }
  });
  return out;
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

function itemHeader(element: number, length: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0xfffe, true);
  view.setUint16(2, element, true);
  view.setUint32(4, length, true);
  return out;
}

function encodeValue(e: WriterElement): Uint8Array {
  if (e.vr === 'SQ') {
    if (!Array.isArray(e.value)) fail(e.tag, 'expected a list of items for VR SQ');
    // Items with defined lengths (PS3.5 7.5.1): no delimiters are needed.
    return concat(
      (e.value as WriterItem[]).flatMap((item) => {
        const body = encodeDataSet(item);
        return [itemHeader(0xe000, body.length), body];
      }),
    );
  }
  if (e.vr === 'OB' || e.vr === 'OW') {
    if (!(e.value instanceof Uint8Array)) fail(e.tag, `expected bytes for VR ${e.vr}`);
    return padEven(e.value, 0);
  }
  if (NUMERIC_SIZE[e.vr] !== undefined) return encodeNumbers(e);
  return encodeText(e);
}

/**
 * Encodes a data set in explicit VR little endian, elements in ascending tag order.
 *
 * @param elements - The attributes; each tag at most once.
 * @returns The encoded bytes.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for a value its VR cannot hold, naming the
 * tag, and for a repeated tag.
 */
export function encodeDataSet(elements: readonly WriterElement[]): Uint8Array {
  const sorted = [...elements].sort((a, b) => a.tag - b.tag);
  const parts: Uint8Array[] = [];
  for (let n = 0; n < sorted.length; n++) {
    const e = sorted[n]!;
    if (n > 0 && sorted[n - 1]!.tag === e.tag) fail(e.tag, 'expected each tag once, got it twice');
    const value = encodeValue(e);
    const long = LONG_VRS.has(e.vr);
    if (!long && value.length > 0xffff)
      fail(e.tag, `expected at most 65535 bytes for VR ${e.vr}, got ${value.length}`);
    const head = new Uint8Array(long ? 12 : 8);
    const view = new DataView(head.buffer);
    view.setUint16(0, e.tag >>> 16, true);
    view.setUint16(2, e.tag & 0xffff, true);
    head[4] = e.vr.charCodeAt(0);
    head[5] = e.vr.charCodeAt(1);
    if (long) view.setUint32(8, value.length, true);
    else view.setUint16(6, value.length, true);
    parts.push(head, value);
  }
  return concat(parts);
}

/** What the file meta information group (PS3.10 7.1) names. */
export interface Part10Meta {
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  readonly implementationClassUid: string;
  readonly implementationVersionName: string;
}

/**
 * Encodes a Part 10 file: 128-byte preamble, `DICM`, the meta group, then the data set in
 * explicit VR little endian.
 *
 * @param meta - The SOP class and instance, and who wrote the file.
 * @param elements - The data set (no group 0002 attributes).
 * @returns The file's bytes.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` as {@link encodeDataSet}.
 */
export function encodePart10(meta: Part10Meta, elements: readonly WriterElement[]): Uint8Array {
  if (elements.some((e) => e.tag >>> 16 === 0x0002))
    fail(0x00020000, 'expected the meta group to be written from `meta`, got group 0002 elements');
  const group = encodeDataSet([
    { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) },
    { tag: 0x00020002, vr: 'UI', value: meta.sopClassUid },
    { tag: 0x00020003, vr: 'UI', value: meta.sopInstanceUid },
    { tag: 0x00020010, vr: 'UI', value: EXPLICIT_VR_LITTLE_ENDIAN },
    { tag: 0x00020012, vr: 'UI', value: meta.implementationClassUid },
    { tag: 0x00020013, vr: 'SH', value: meta.implementationVersionName },
  ]);
  const groupLength = encodeDataSet([{ tag: 0x00020000, vr: 'UL', value: group.length }]);
  const preamble = new Uint8Array(132);
  preamble.set([0x44, 0x49, 0x43, 0x4d], 128);
  return concat([preamble, groupLength, group, encodeDataSet(elements)]);
}

/**
 * Formats a decimal string (VR DS) in at most 16 characters, keeping as many significant digits
 * as fit.
 *
 * @param value - A finite number.
 * @returns Its DS text.
 */
export function formatDecimalString(value: number): string {
  if (!Number.isFinite(value))
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `DS value: expected a finite number, got ${value}`,
    );
  const plain = String(value === 0 ? 0 : value);
  if (plain.length <= 16) return plain;
  for (let digits = 15; digits >= 1; digits--) {
    // Plain notation first, then exponent notation without '+' or trailing zeros (DS allows both).
    const rounded = Number(value.toPrecision(digits)).toString();
    if (rounded.length <= 16) return rounded;
    const [mantissa, exponent] = value.toExponential(digits - 1).split('e');
    const trimmed = mantissa!.includes('.') ? mantissa!.replace(/\.?0+$/, '') : mantissa!;
    const text = `${trimmed}e${Number(exponent)}`;
    if (text.length <= 16) return text;
  }
  return value.toExponential(0);
}
