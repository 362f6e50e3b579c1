// Decoders for encapsulated DICOM pixel data: JPEG Lossless, JPEG baseline, JPEG-LS, JPEG 2000
// and RLE. The wasm/asm.js codecs are loaded on first use only.
import { Decoder as JpegLosslessDecoder } from '@cornerstonejs/jpeg-lossless-decoder-js';
import * as jpegModule from 'jpeg-js';

import { LesionEncError, describeValue } from '@lesionenc/base';

import { fileOption } from './bytes';
import type { NumericArray } from '../orientation';

/** What a codec needs to know about the samples. */
export interface FrameLayout {
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
}

const JPEG_LOSSLESS = new Set(['1.2.840.10008.1.2.4.57', '1.2.840.10008.1.2.4.70']);
const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
const JPEG_LS = new Set(['1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81']);
const JPEG_2000 = new Set(['1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91']);
const RLE = '1.2.840.10008.1.2.5';
const UNCOMPRESSED = new Set([
  '1.2.840.10008.1.2',
  '1.2.840.10008.1.2.1',
  '1.2.840.10008.1.2.1.99',
  '1.2.840.10008.1.2.2',
]);

/** Whether a transfer syntax carries encapsulated (compressed) pixel data. */
export function isCompressedTransferSyntax(uid: string): boolean {
  return !UNCOMPRESSED.has(uid);
}

/** Names of the transfer syntaxes that have a decoder, for messages and `info`. */
export const SUPPORTED_COMPRESSED_SYNTAXES: readonly string[] = Object.freeze([
  ...JPEG_LOSSLESS,
  JPEG_BASELINE,
  ...JPEG_LS,
  ...JPEG_2000,
  RLE,
]);

/**
 * Decodes one compressed frame into stored sample values.
 *
 * @param frame - The frame's bytes (all fragments joined).
 * @param syntax - The transfer syntax UID.
 * @param layout - Size and bit depth from the header.
 * @param file - Named in errors.
 * @returns `rows * columns` samples.
 * @throws {@link LesionEncError} `UNSUPPORTED_FORMAT` for a syntax without a decoder,
 * `CORRUPT_FILE` when the codec fails or returns the wrong size.
 */
export async function decodeCompressedFrame(
  frame: Uint8Array,
  syntax: string,
  layout: FrameLayout,
  file: string | undefined,
): Promise<NumericArray> {
  const fail = (what: string, error: unknown): never => {
    if (error instanceof LesionEncError) throw error;
    throw new LesionEncError(
      'CORRUPT_FILE',
      `${what}: expected a decodable frame, got ${error instanceof Error ? error.message : String(error)}`,
      { ...fileOption(file), cause: error },
    );
  };
  let out: NumericArray;
  if (JPEG_LOSSLESS.has(syntax)) {
    try {
      out = decodeJpegLossless(frame, layout);
    } catch (error) {
      return fail('JPEG Lossless', error);
    }
  } else if (syntax === JPEG_BASELINE) {
    try {
      out = decodeJpegBaseline(frame, layout, file);
    } catch (error) {
      return fail('JPEG baseline', error);
    }
  } else if (JPEG_LS.has(syntax)) {
    try {
      out = await decodeWithEmscripten('charls', frame, layout);
    } catch (error) {
      return fail('JPEG-LS', error);
    }
  } else if (JPEG_2000.has(syntax)) {
    try {
      out = await decodeWithEmscripten('openjpeg', frame, layout);
    } catch (error) {
      return fail('JPEG 2000', error);
    }
  } else if (syntax === RLE) {
    try {
      out = decodeRle(frame, layout);
    } catch (error) {
      return fail('RLE', error);
    }
  } else {
    throw new LesionEncError(
      'UNSUPPORTED_FORMAT',
      `DICOM transfer syntax: expected native, deflate or one of ${SUPPORTED_COMPRESSED_SYNTAXES.join(', ')}, got ${describeValue(syntax)}`,
      fileOption(file),
    );
  }
  const count = layout.rows * layout.columns;
  if (out.length !== count) {
    throw new LesionEncError(
      'CORRUPT_FILE',
      `compressed frame: expected ${count} samples (${layout.rows} x ${layout.columns}), got ${out.length}`,
      fileOption(file),
    );
  }
  return out;
}

function asSigned(values: Uint8Array | Uint16Array, layout: FrameLayout): NumericArray {
  if (!layout.signed) return values;
  return values instanceof Uint16Array
    ? new Int16Array(values.buffer, values.byteOffset, values.length)
    : new Int8Array(values.buffer, values.byteOffset, values.length);
}

function decodeJpegLossless(frame: Uint8Array, layout: FrameLayout): NumericArray {
  const bytesPerSample = layout.bitsAllocated > 8 ? 2 : 1;
  // The decoder reads from an ArrayBuffer; give it a private copy so offsets start at 0.
  const copy = frame.slice();
  const decoded = new JpegLosslessDecoder().decode(copy.buffer, 0, copy.length, bytesPerSample);
  return asSigned(decoded, layout);
}

interface JpegJs {
  decode(
    data: Uint8Array,
    options: Record<string, unknown>,
  ): { width: number; height: number; data: Uint8Array };
}

function jpegJs(): JpegJs {
  const candidates: unknown[] = [jpegModule, (jpegModule as { default?: unknown }).default];
  for (const c of candidates) {
    if (c !== null && typeof c === 'object' && typeof (c as JpegJs).decode === 'function')
      return c as JpegJs;
  }
  throw new LesionEncError('INTERNAL', 'jpeg-js: expected a decode function, got none');
}

/**
 * Decodes an 8-bit baseline JPEG into one grey channel.
 *
 * @param bytes - The JPEG stream.
 * @returns Width, height and the grey values (the first channel of a colour image).
 */
export function decodeJpegGrey(bytes: Uint8Array): {
  width: number;
  height: number;
  grey: Uint8Array;
} {
  const image = jpegJs().decode(bytes, {
    useTArray: true,
    formatAsRGBA: true,
    maxMemoryUsageInMB: 1024,
  });
  const count = image.width * image.height;
  const grey = new Uint8Array(count);
  for (let n = 0; n < count; n++) grey[n] = image.data[4 * n]!;
  return { width: image.width, height: image.height, grey };
}

function decodeJpegBaseline(
  frame: Uint8Array,
  layout: FrameLayout,
  file: string | undefined,
): NumericArray {
  if (layout.bitsAllocated !== 8) {
    throw new LesionEncError(
      'UNSUPPORTED_FORMAT',
      `JPEG baseline: expected 8-bit samples, got BitsAllocated ${layout.bitsAllocated}`,
      fileOption(file),
    );
  }
  return asSigned(decodeJpegGrey(frame).grey, layout);
}

interface EmscriptenDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number };
  delete(): void;
}

type CodecName = 'charls' | 'openjpeg';
const codecs = new Map<CodecName, Promise<{ create(): EmscriptenDecoder }>>();

function loadCodec(name: CodecName): Promise<{ create(): EmscriptenDecoder }> {
  let codec = codecs.get(name);
  if (codec === undefined) {
    codec = (async () => {
      const module =
        name === 'charls'
          ? await import('@cornerstonejs/codec-charls')
          : await import('@cornerstonejs/codec-openjpeg');
      const factory = (
        module as { default: () => Promise<Record<string, new () => EmscriptenDecoder>> }
      ).default;
      const instance = await factory();
      const Ctor = name === 'charls' ? instance.JpegLSDecoder : instance.J2KDecoder;
      if (Ctor === undefined) throw new Error(`${name}: decoder class missing`);
      return { create: () => new Ctor() };
    })();
    codecs.set(name, codec);
  }
  return codec;
}

async function decodeWithEmscripten(
  name: CodecName,
  frame: Uint8Array,
  layout: FrameLayout,
): Promise<NumericArray> {
  const codec = await loadCodec(name);
  const decoder = codec.create();
  try {
    decoder.getEncodedBuffer(frame.length).set(frame);
    decoder.decode();
    const info = decoder.getFrameInfo();
    if (info.componentCount !== 1) {
      throw new Error(`expected 1 component, got ${info.componentCount}`);
    }
    // The decoded buffer lives in the codec's heap: copy it out before the decoder is freed.
    const decoded = decoder.getDecodedBuffer();
    const copy = decoded.slice();
    const values: Uint8Array | Uint16Array =
      info.bitsPerSample > 8 ? new Uint16Array(copy.buffer, 0, copy.length / 2) : copy;
    return asSigned(values, layout);
  } finally {
    decoder.delete();
  }
}

/** RLE Lossless (PS3.5 annex G): one PackBits segment per byte of each sample, MSB first. */
function decodeRle(frame: Uint8Array, layout: FrameLayout): NumericArray {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame.length < 64) throw new Error(`RLE header: expected 64 bytes, got ${frame.length}`);
  const segments = view.getUint32(0, true);
  const bytesPerSample = layout.bitsAllocated / 8;
  if (segments !== bytesPerSample) {
    throw new Error(`RLE segments: expected ${bytesPerSample}, got ${segments}`);
  }
  const count = layout.rows * layout.columns;
  const planes: Uint8Array[] = [];
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : frame.length;
    planes.push(unpackBits(frame.subarray(start, end), count));
  }
  const out = new Uint8Array(count * bytesPerSample);
  // Segment 0 holds the most significant bytes; the host is little-endian.
  for (let n = 0; n < count; n++) {
    for (let s = 0; s < segments; s++)
      out[n * bytesPerSample + (bytesPerSample - 1 - s)] = planes[s]![n]!;
  }
  if (bytesPerSample === 1) return layout.signed ? new Int8Array(out.buffer) : out;
  if (bytesPerSample === 2)
    return layout.signed ? new Int16Array(out.buffer) : new Uint16Array(out.buffer);
  return layout.signed ? new Int32Array(out.buffer) : new Uint32Array(out.buffer);
}

function unpackBits(segment: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count);
  let i = 0;
  let o = 0;
  while (o < count && i < segment.length) {
    const n = segment[i++]!;
    if (n < 128) {
      const run = n + 1;
      if (i + run > segment.length) throw new Error('RLE literal run past the segment end');
      out.set(segment.subarray(i, i + Math.min(run, count - o)), o);
      i += run;
      o += run;
    } else if (n > 128) {
      const run = 257 - n;
      out.fill(segment[i++]!, o, Math.min(count, o + run));
      o += run;
    }
  }
  if (o < count) throw new Error(`RLE segment: expected ${count} bytes, got ${o}`);
  return out;
}
