// Small byte-level helpers shared by the decoders: gzip detection and inflation, ASCII strings.
import { gunzipSync } from 'fflate';

import { LesionEncError } from '@lesionenc/base';

/** Whether the bytes start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Inflates gzip bytes, turning any decoder failure into a `CORRUPT_FILE` error.
 *
 * @param bytes - A gzip member.
 * @param file - Named in errors.
 * @returns The inflated bytes.
 */
export function gunzipBytes(bytes: Uint8Array, file: string | undefined): Uint8Array {
  try {
    return gunzipSync(bytes);
  } catch (error) {
    throw new LesionEncError(
      'CORRUPT_FILE',
      `gzip stream: expected a complete gzip member, got a decoder error (${(error as Error).message})`,
      { cause: error, ...(file === undefined ? {} : { file }) },
    );
  }
}

/** Reads a NUL-terminated ASCII string of at most `length` bytes. */
export function readAscii(bytes: Uint8Array, offset: number, length: number): string {
  let out = '';
  for (let n = 0; n < length && offset + n < bytes.length; n++) {
    const c = bytes[offset + n]!;
    if (c === 0) break;
    out += String.fromCharCode(c);
  }
  return out;
}

/** Writes an ASCII string into at most `length` bytes (the rest stays zero). */
export function writeAscii(bytes: Uint8Array, offset: number, length: number, text: string): void {
  for (let n = 0; n < Math.min(length, text.length); n++) {
    bytes[offset + n] = text.charCodeAt(n) & 0x7f;
  }
}

/** The `file` option of an error, present only when there is a file. */
export function fileOption(file: string | undefined): { file?: string } {
  return file === undefined ? {} : { file };
}

/** Whether this machine stores numbers little-endian (every current browser and Node target). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
