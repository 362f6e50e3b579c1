// Adds an integer intercept to 16-bit samples into an int16 volume, two samples per 32-bit word
// (SWAR), the hot loop of reading a CT series with RescaleSlope 1.

let scratch = new Uint32Array(0);

/**
 * Writes `stored[q] + intercept` to `out[offset + q]` for every sample.
 *
 * @param stored - Int16 or Uint16 samples.
 * @param intercept - An integer.
 * @param out - The target volume.
 * @param offset - Where the samples go in `out`.
 * @returns False when some sum leaves the int16 range (the written values are then invalid).
 */
export function shiftIntoInt16(
  stored: Int16Array | Uint16Array,
  intercept: number,
  out: Int16Array,
  offset: number,
): boolean {
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
  const k = (intercept & 0xffff) * 0x10001;
  const kLow = k & 0x7fff7fff;
  // Signed samples are compared as offset binary, so AND and OR of the words bound every lane.
  const flip = stored instanceof Int16Array ? 0x80008000 | 0 : 0;
  let all = -1;
  let any = 0;
  for (let q = 0; q < words; q++) {
    const x = source[q]!;
    const u = x ^ flip;
    all &= u;
    any |= u;
    // Lane-wise (x + k) mod 2^16: add the low 15 bits, then fix the top bit of each lane.
    target[q] = ((x & 0x7fff7fff) + kLow) ^ ((x ^ k) & 0x80008000);
  }
  const bias = flip === 0 ? 0 : 32768;
  const lowest = Math.min(all & 0xffff, (all >>> 16) & 0xffff) - bias;
  const highest = Math.max(any & 0xffff, (any >>> 16) & 0xffff) - bias;
  if (lowest + intercept >= -32768 && highest + intercept <= 32767) return true;
  // The bitwise bounds are loose: decide exactly.
  return shiftScalar(stored, intercept, out, offset);
}

function shiftScalar(
  stored: Int16Array | Uint16Array,
  intercept: number,
  out: Int16Array,
  offset: number,
): boolean {
  let lo = 0;
  let hi = 0;
  for (let q = 0; q < stored.length; q++) {
    const v = stored[q]! + intercept;
    if (v < lo) lo = v;
    else if (v > hi) hi = v;
    out[offset + q] = v;
  }
  return lo >= -32768 && hi <= 32767;
}
