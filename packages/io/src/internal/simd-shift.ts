// A WebAssembly SIMD kernel for shiftIntoInt16: adds an intercept to eight 16-bit samples per
// instruction and keeps their lane-wise minimum and maximum, one cache-sized chunk at a time. The
// module is written out byte by byte (WebAssembly core binary format, with the fixed-width SIMD
// instructions of WebAssembly 2.0), so no build step or file is needed.

/** The kernel, once compiled. */
export interface SimdShift {
  /** As `shiftIntoInt16`, with the same contract. */
  shift(
    stored: Int16Array | Uint16Array,
    intercept: number,
    out: Int16Array,
    offset: number,
  ): boolean;
}

// The kernel writes lane minima at byte 0 and maxima at byte 16; samples start at DATA_START.
const DATA_START = 64;
// Samples per kernel call: 64 KiB, which stays in the CPU's caches between the copies.
const CHUNK_SAMPLES = 32_768;
// Linear memory, in 64 KiB pages: results, then one chunk.
const MEMORY_PAGES = 2;
// Samples per 128-bit vector.
const LANES = 8;

// Opcodes used below (WebAssembly core spec, section 5.4).
const OP = Object.freeze({
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  simd: 0xfd,
  void: 0x40,
  i32: 0x7f,
  v128: 0x7b,
});
// SIMD sub-opcodes, LEB128-encoded after the 0xfd prefix.
const SIMD = Object.freeze({
  load: [0x00],
  store: [0x0b],
  splatI16: [0x10],
  addI16: [0x8e, 0x01],
  minS: [0x96, 0x01],
  minU: [0x97, 0x01],
  maxS: [0x98, 0x01],
  maxU: [0x99, 0x01],
});
// Alignment hint (2^4 bytes) and offset 0 of every vector load and store.
const MEMARG = [0x04, 0x00];

function leb128(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v === 0 ? byte : byte | 0x80);
  } while (v !== 0);
  return out;
}

/**
 * `(end, intercept)`: for each vector from DATA_START to `end`, keeps its lane-wise min and max,
 * then adds the intercept to every lane modulo 2^16 in place; stores the min and max vectors.
 * Locals: 0 end, 1 intercept, 2 pointer, 3 intercept vector, 4 min, 5 max, 6 current vector.
 */
/** Signed LEB128, as `i32.const` takes its operand. */
function sleb128(value: number): number[] {
  const out: number[] = [];
  let v = value;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function kernelBody(min: number[], max: number[]): number[] {
  const simd = (op: number[], ...rest: number[]) => [OP.simd, ...op, ...rest];
  const code = [
    ...[0x02, 0x01, OP.i32, 0x04, OP.v128],
    ...[OP.localGet, 1, ...simd(SIMD.splatI16), OP.localSet, 3],
    ...[OP.i32Const, ...sleb128(DATA_START), ...simd(SIMD.load, ...MEMARG)],
    ...[OP.localTee, 4, OP.localSet, 5],
    ...[OP.i32Const, ...sleb128(DATA_START), OP.localSet, 2],
    ...[OP.block, OP.void, OP.loop, OP.void],
    ...[OP.localGet, 2, OP.localGet, 0, OP.i32GeU, OP.brIf, 1],
    ...[OP.localGet, 2, ...simd(SIMD.load, ...MEMARG), OP.localTee, 6],
    ...[OP.localGet, 4, ...simd(min), OP.localSet, 4],
    ...[OP.localGet, 6, OP.localGet, 5, ...simd(max), OP.localSet, 5],
    ...[OP.localGet, 2, OP.localGet, 6, OP.localGet, 3, ...simd(SIMD.addI16)],
    ...simd(SIMD.store, ...MEMARG),
    ...[OP.localGet, 2, OP.i32Const, 16, OP.i32Add, OP.localSet, 2],
    ...[OP.br, 0, OP.end, OP.end],
    ...[OP.i32Const, 0, OP.localGet, 4, ...simd(SIMD.store, ...MEMARG)],
    ...[OP.i32Const, 16, OP.localGet, 5, ...simd(SIMD.store, ...MEMARG)],
    OP.end,
  ];
  return [...leb128(code.length), ...code];
}

function section(id: number, content: number[]): number[] {
  return [id, ...leb128(content.length), ...content];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const name = (text: string) => [text.length, ...Array.from(text, (c) => c.charCodeAt(0))];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    // One type, (i32, i32) -> (), shared by the signed and the unsigned kernel.
    ...section(1, [0x01, 0x60, 0x02, OP.i32, OP.i32, 0x00]),
    ...section(3, [0x02, 0x00, 0x00]),
    ...section(5, [0x01, 0x00, MEMORY_PAGES]),
    ...section(7, [
      0x03,
      ...name('m'),
      0x02,
      0x00,
      ...name('s'),
      0x00,
      0x00,
      ...name('u'),
      0x00,
      0x01,
    ]),
    ...section(10, [
      0x02,
      ...kernelBody(SIMD.minS, SIMD.maxS),
      ...kernelBody(SIMD.minU, SIMD.maxU),
    ]),
  ]);
}

/**
 * Compiles the kernel.
 *
 * @returns The kernel, or null where WebAssembly or its SIMD instructions are missing.
 */
export function createSimdShift(): SimdShift | null {
  if (typeof WebAssembly !== 'object') return null;
  const bytes = moduleBytes();
  let exports: WebAssembly.Exports;
  try {
    if (!WebAssembly.validate(bytes)) return null;
    exports = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
  } catch {
    return null;
  }
  const buffer = (exports.m as WebAssembly.Memory).buffer;
  type Kernel = (end: number, intercept: number) => void;
  const kinds = {
    signed: {
      kernel: exports.s as Kernel,
      lanes: new Int16Array(buffer, 0, 2 * LANES),
      data: new Int16Array(buffer, DATA_START, CHUNK_SAMPLES),
    },
    unsigned: {
      kernel: exports.u as Kernel,
      lanes: new Uint16Array(buffer, 0, 2 * LANES),
      data: new Uint16Array(buffer, DATA_START, CHUNK_SAMPLES),
    },
  };
  const result = new Int16Array(buffer, DATA_START, CHUNK_SAMPLES);

  const shift = (
    stored: Int16Array | Uint16Array,
    intercept: number,
    out: Int16Array,
    offset: number,
  ): boolean => {
    const kind = stored instanceof Int16Array ? kinds.signed : kinds.unsigned;
    const aliased =
      stored.buffer === out.buffer && stored.byteOffset === out.byteOffset + offset * 2;
    // Adds `k` to samples [start, end) in wasm memory; returns their exact min and max.
    const run = (start: number, end: number, k: number): [number, number] => {
      const length = end - start;
      const padded = Math.ceil(length / LANES) * LANES;
      kind.data.set(stored.subarray(start, end));
      // Repeating the last sample fills the last vector without changing the min or max.
      if (padded > length) kind.data.fill(stored[end - 1]!, length, padded);
      kind.kernel(DATA_START + padded * 2, k);
      let lo = kind.lanes[0]!;
      let hi = kind.lanes[LANES]!;
      for (let l = 1; l < LANES; l++) {
        lo = Math.min(lo, kind.lanes[l]!);
        hi = Math.max(hi, kind.lanes[LANES + l]!);
      }
      return [lo, hi];
    };
    for (let start = 0; start < stored.length; start += CHUNK_SAMPLES) {
      const end = Math.min(stored.length, start + CHUNK_SAMPLES);
      const [lo, hi] = run(start, end, intercept);
      if (lo + intercept < -32768 || hi + intercept > 32767) {
        // Samples that were also the output get back their stored values, as the contract says.
        for (let done = 0; aliased && done < start; done += CHUNK_SAMPLES) {
          run(done, done + CHUNK_SAMPLES, -intercept);
          out.set(result, offset + done);
        }
        return false;
      }
      out.set(result.subarray(0, end - start), offset + start);
    }
    return true;
  };
  return { shift };
}
