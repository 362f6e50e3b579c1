// NumPy .npy (format versions 1-3) decoding and encoding on bytes, for feature matrices.
// Format: numpy/lib/format.py, "A simple file format for NumPy arrays" (NEP 1).
import { LesionEncError, describeValue } from '@lesionenc/base';

import { HOST_LITTLE_ENDIAN, fileOption } from './internal/bytes';

/** An n-dimensional array in C (row-major) order, as NumPy stores it by default. */
export interface NpyArray {
  readonly data: Float32Array | Float64Array | Int32Array | Uint8Array;
  /** Sizes of each axis; `[]` for a scalar. */
  readonly shape: readonly number[];
}

/** Options of {@link decodeNpy}. */
export interface DecodeNpyOptions {
  /** Named in errors. */
  file?: string;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
// Header blocks are padded to this many bytes so the data is aligned (numpy >= 1.14 uses 64).
const HEADER_ALIGNMENT = 64;

type Kind = 'float32' | 'float64' | 'int32' | 'uint8';

const DESCR: Readonly<Record<string, { kind: Kind; bytes: number; little: boolean }>> =
  Object.freeze({
    '<f4': { kind: 'float32', bytes: 4, little: true },
    '>f4': { kind: 'float32', bytes: 4, little: false },
    '<f8': { kind: 'float64', bytes: 8, little: true },
    '>f8': { kind: 'float64', bytes: 8, little: false },
    '<i4': { kind: 'int32', bytes: 4, little: true },
    '>i4': { kind: 'int32', bytes: 4, little: false },
    '|u1': { kind: 'uint8', bytes: 1, little: true },
    '<u1': { kind: 'uint8', bytes: 1, little: true },
    '>u1': { kind: 'uint8', bytes: 1, little: true },
    '|b1': { kind: 'uint8', bytes: 1, little: true },
  });

/**
 * Decodes a `.npy` file: float32, float64, int32, uint8 (and bool, as uint8), either byte
 * order, C or Fortran order (Fortran data is transposed into C order).
 *
 * @param bytes - The file's bytes.
 * @param options - The file name, for errors.
 * @returns The array in C order.
 * @throws {@link LesionEncError} `UNSUPPORTED_FORMAT` for a file that is not `.npy` or an
 * element type outside the list, `CORRUPT_FILE` for a malformed header or a data length that
 * does not match the shape.
 * @example
 * ```ts
 * const { data, shape } = decodeNpy(bytes); // shape [slices, 64]
 * ```
 */
export function decodeNpy(bytes: Uint8Array, options: DecodeNpyOptions = {}): NpyArray {
  const file = options.file;
  const fail = (code: 'UNSUPPORTED_FORMAT' | 'CORRUPT_FILE', message: string): never => {
    throw new LesionEncError(code, message, fileOption(file));
  };
  if (bytes.length < 10 || !MAGIC.every((b, n) => bytes[n] === b)) {
    fail(
      'UNSUPPORTED_FORMAT',
      `npy magic: expected '\\x93NUMPY', got ${bytes.length} bytes without it`,
    );
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12)
      fail('CORRUPT_FILE', `npy header: expected 12 bytes, got ${bytes.length}`);
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    return fail('UNSUPPORTED_FORMAT', `npy version: expected 1, 2 or 3, got ${major}`);
  }
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) {
    fail(
      'CORRUPT_FILE',
      `npy header: expected ${headerLength} bytes, got ${bytes.length - headerStart}`,
    );
  }
  const header = new TextDecoder().decode(bytes.subarray(headerStart, dataStart));

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    return fail(
      'CORRUPT_FILE',
      `npy header: expected descr, fortran_order and shape, got ${describeValue(header.trim())}`,
    );
  }
  const type = DESCR[descr];
  if (type === undefined) {
    return fail(
      'UNSUPPORTED_FORMAT',
      `npy descr: expected one of ${Object.keys(DESCR).join(', ')}, got '${descr}'`,
    );
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (!shape.every((n) => Number.isInteger(n) && n >= 0)) {
    fail('CORRUPT_FILE', `npy shape: expected non-negative integers, got (${shapeText})`);
  }
  const count = shape.reduce((p, n) => p * n, 1);
  const expectedBytes = count * type.bytes;
  if (bytes.length - dataStart !== expectedBytes) {
    fail(
      'CORRUPT_FILE',
      `npy data: expected ${expectedBytes} bytes for shape (${shape.join(', ')}) of ${descr}, ` +
        `got ${bytes.length - dataStart}`,
    );
  }

  const data = allocate(type.kind, count);
  const target = new Uint8Array(data.buffer);
  const source = bytes.subarray(dataStart, dataStart + expectedBytes);
  if (type.little === HOST_LITTLE_ENDIAN || type.bytes === 1) {
    target.set(source);
  } else {
    for (let n = 0; n < count; n++) {
      for (let b = 0; b < type.bytes; b++)
        target[n * type.bytes + b] = source[n * type.bytes + type.bytes - 1 - b]!;
    }
  }
  const cData = fortran === 'True' && shape.length > 1 ? fortranToC(data, shape) : data;
  return Object.freeze({ data: cData, shape: Object.freeze(shape) });
}

/**
 * Encodes an array as a version 1.0 `.npy` file in C order and little-endian.
 *
 * @param array - Data and shape; the shape's product must equal the data's length.
 * @returns The file's bytes.
 * @throws {@link LesionEncError} `SHAPE_MISMATCH` when shape and data disagree,
 * `INVALID_ARGUMENT` for an unsupported array type or a bad shape.
 */
export function encodeNpy(array: NpyArray): Uint8Array {
  const { data, shape } = array;
  const descr =
    data instanceof Float32Array
      ? '<f4'
      : data instanceof Float64Array
        ? '<f8'
        : data instanceof Int32Array
          ? '<i4'
          : data instanceof Uint8Array
            ? '|u1'
            : undefined;
  if (descr === undefined) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `npy data: expected Float32Array, Float64Array, Int32Array or Uint8Array, got ${describeValue(data)}`,
    );
  }
  if (!shape.every((n) => Number.isInteger(n) && n >= 0)) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `npy shape: expected non-negative integers, got ${describeValue([...shape])}`,
    );
  }
  const count = shape.reduce((p, n) => p * n, 1);
  if (count !== data.length) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `npy data: expected ${count} elements for shape [${shape.join(', ')}], got ${data.length}`,
    );
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1;
  header +=
    ' '.repeat((HEADER_ALIGNMENT - (unpadded % HEADER_ALIGNMENT)) % HEADER_ALIGNMENT) + '\n';

  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let n = 0; n < header.length; n++) out[10 + n] = header.charCodeAt(n);
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (HOST_LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1) {
    out.set(body, 10 + header.length);
  } else {
    const size = data.BYTES_PER_ELEMENT;
    for (let n = 0; n < data.length; n++) {
      for (let b = 0; b < size; b++)
        out[10 + header.length + n * size + b] = body[n * size + size - 1 - b]!;
    }
  }
  return out;
}

function allocate(kind: Kind, count: number): NpyArray['data'] {
  if (kind === 'float32') return new Float32Array(count);
  if (kind === 'float64') return new Float64Array(count);
  if (kind === 'int32') return new Int32Array(count);
  return new Uint8Array(count);
}

/** Reorders column-major data (first axis fastest) into row-major order. */
function fortranToC(data: NpyArray['data'], shape: readonly number[]): NpyArray['data'] {
  const out = allocate(
    data instanceof Float32Array
      ? 'float32'
      : data instanceof Float64Array
        ? 'float64'
        : data instanceof Int32Array
          ? 'int32'
          : 'uint8',
    data.length,
  );
  const rank = shape.length;
  const fStride: number[] = [];
  let s = 1;
  for (let a = 0; a < rank; a++) {
    fStride.push(s);
    s *= shape[a]!;
  }
  const index = new Array<number>(rank).fill(0);
  for (let c = 0; c < data.length; c++) {
    let f = 0;
    for (let a = 0; a < rank; a++) f += index[a]! * fStride[a]!;
    out[c] = data[f]!;
    // Advance the C-order index (last axis fastest).
    for (let a = rank - 1; a >= 0; a--) {
      index[a]! += 1;
      if (index[a]! < shape[a]!) break;
      index[a] = 0;
    }
  }
  return out;
}
