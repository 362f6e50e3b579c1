// Adds an integer intercept to 16-bit samples into an int16 volume, the hot loop of reading a CT
// series with RescaleSlope 1: eight samples per WebAssembly SIMD instruction where the runtime has
// it, else two per 32-bit word (SWAR) in plain JavaScript.
import { type SimdShift, createSimdShift } from './simd-shift';

let scratch = new Uint32Array(0);
let simd: SimdShift | null | undefined;

/**
 * Writes `stored[q] + intercept` to `out[offset + q]` for every sample. The samples may be the
 * very elements they are written to (`stored` a view of `out` at `offset`, as when pixel bytes
 * are read straight into the volume); no other overlap is allowed.
 *
 * @param stored - Int16 or Uint16 samples.
 * @param intercept - An integer.
 * @param out - The target volume.
 * @param offset - Where the samples go in `out`.
 * @param useSimd - Use WebAssembly SIMD when the runtime has it (false tests the fallback).
 * @returns False when some sum leaves the int16 range. The samples are then unchanged; values
 * written to a separate `out` are invalid.
 */
export function shiftIntoInt16(
  stored: Int16Array | Uint16Array,
  intercept: number,
  out: Int16Array,
  offset: number,
  useSimd = true,
): boolean {
  if (useSimd) {
    simd ??= createSimdShift();
    if (simd !== null) return simd.shift(stored, intercept, out, offset);
  }
  const n = stored.length;
  const outStart = out.byteOffset + offset * 2;
  if (n % 2 !== 0 || outStart % 4 !== 0) return shiftScalar(stored, intercept, out, offset);
  const words = n / 2;
  let source: Uint32Array;
  if (stored.byteOffset % 4 === 0) {
    source = new Uint32Array(stored.buffer, stored.byteOffset, words);
  } else {
    // Unaligned samples are copied once into a reused aligned buffer.
    if (scratch.length < words) scratch = new Uint32Array(words);
    source = scratch.subarray(0, words);
    new Uint16Array(source.buffer, 0, n).set(stored);
  }
  const target = new Uint32Array(out.buffer, outStart, words);
  const signed = stored instanceof Int16Array;
  const { all, any } = addPerLane(source, target, intercept, signed);

  const bias = signed ? 32768 : 0;
  const lowest = Math.min(all & 0xffff, (all >>> 16) & 0xffff) - bias;
  const highest = Math.max(any & 0xffff, (any >>> 16) & 0xffff) - bias;
  if (lowest + intercept >= -32768 && highest + intercept <= 32767) return true;

  // The bitwise bounds are loose: decide exactly, on the samples as they were. Lane-wise
  // addition modulo 2^16 is undone exactly by adding the opposite intercept.
  if (source.buffer === target.buffer && source.byteOffset === target.byteOffset) {
    addPerLane(target, target, -intercept, signed);
  }
  return shiftScalar(stored, intercept, out, offset);
}

/**
 * `target[q] = source[q] + intercept` in each 16-bit lane, modulo 2^16, returning the AND and OR
 * of the source words in offset binary (signed lanes with their top bit flipped), which bound
 * every lane from below and above.
 */
function addPerLane(
  source: Uint32Array,
  target: Uint32Array,
  intercept: number,
  signed: boolean,
): { all: number; any: number } {
  const k = (intercept & 0xffff) * 0x10001;
  const kLow = k & 0x7fff7fff;
  const flip = signed ? 0x80008000 | 0 : 0;
  let all = -1;
  let any = 0;
  for (let q = 0; q < source.length; q++) {
    const x = source[q]!;
    const u = x ^ flip;
    all &= u;
    any |= u;
    // Lane-wise (x + k) mod 2^16: add the low 15 bits, then fix the top bit of each lane.
    target[q] = ((x & 0x7fff7fff) + kLow) ^ ((x ^ k) & 0x80008000);
  }
  return { all, any };
}

/** The exact path: checks the range first, so nothing is written when a sum does not fit. */
function shiftScalar(
  stored: Int16Array | Uint16Array,
  intercept: number,
  out: Int16Array,
  offset: number,
): boolean {
  let lo = Infinity;
  let hi = -Infinity;
  for (let q = 0; q < stored.length; q++) {
    const v = stored[q]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo + intercept < -32768 || hi + intercept > 32767) return false;
  for (let q = 0; q < stored.length; q++) out[offset + q] = stored[q]! + intercept;
  return true;
}
