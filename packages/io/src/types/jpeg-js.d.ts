// Type declarations for the parts of jpeg-js (a pure-JS baseline JPEG codec) this package uses.
declare module 'jpeg-js' {
  /** A decoded image: RGBA or grey bytes, row-major. */
  export interface RawImageData {
    width: number;
    height: number;
    data: Uint8Array;
  }
  /** Decoding options. */
  export interface DecodeOptions {
    useTArray?: boolean;
    formatAsRGBA?: boolean;
    tolerantDecoding?: boolean;
    maxResolutionInMP?: number;
    maxMemoryUsageInMB?: number;
  }
  /** Decodes a baseline or progressive 8-bit JPEG. */
  export function decode(data: Uint8Array | ArrayBuffer, options?: DecodeOptions): RawImageData;
  /** Encodes RGBA pixels as baseline JPEG. */
  export function encode(image: RawImageData, quality?: number): { data: Uint8Array };
}
