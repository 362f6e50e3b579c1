// Loading the project's own small WebAssembly kernels (C compiled with SIMD128, embedded as
// base64 by scripts/build-wasm-kernels.mjs) and laying out typed arrays in their memory.
//
// The kernels are an accelerator, never a requirement: where WebAssembly SIMD is missing, where
// a browser refuses synchronous compilation on its main thread, or where the environment
// variable LESIONENC_WASM_KERNELS is `off`, loading returns undefined and callers run their
// plain TypeScript path, which computes the same values.

import { LesionEncError } from './errors';

/** A loaded kernel module: its exports, its memory and where free memory starts. */
export interface WasmKernelModule<Exports> {
  readonly exports: Exports;
  readonly memory: WebAssembly.Memory;
  /** First byte after the module's static data and stack; workspaces start here. */
  readonly heapBase: number;
}

const PAGE_BYTES = 65536;

/** Largest memory a 32-bit module can address (65536 pages of 64 KiB). */
const MAX_BYTES = 4 * 1024 * 1024 * 1024;

function decodeBase64(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function kernelsDisabled(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  const value = env?.['LESIONENC_WASM_KERNELS'];
  return value === 'off' || value === '0' || value === 'false';
}

/**
 * Compiles and instantiates an embedded kernel module synchronously.
 *
 * @param base64 - The module bytes, base64 (a generated `*-wasm.ts` file's `WASM_BASE64`).
 * @returns The module, or `undefined` when kernels are turned off or cannot run here.
 */
export function loadWasmKernels<Exports>(base64: string): WasmKernelModule<Exports> | undefined {
  if (kernelsDisabled() || typeof WebAssembly === 'undefined') return undefined;
  try {
    const bytes = decodeBase64(base64);
    if (!WebAssembly.validate(bytes)) return undefined;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    const memory = instance.exports['memory'] as WebAssembly.Memory;
    const heapBase = (instance.exports['__heap_base'] as WebAssembly.Global).value as number;
    return { exports: instance.exports as unknown as Exports, memory, heapBase };
  } catch {
    return undefined;
  }
}

/** Element types a workspace lays out. */
export type WasmArrayKind = 'f32' | 'f64' | 'i32';

const ELEMENT_BYTES: Record<WasmArrayKind, number> = { f32: 4, f64: 8, i32: 4 };

/** Byte offsets of the arrays of one {@link WasmWorkspace.layout} call, by name. */
export type WasmLayout<Names extends string> = Record<Names, number>;

/**
 * Typed arrays in a kernel module's memory. `layout` places named arrays one after the other
 * from the heap base (16-byte aligned) and grows the memory to fit them; earlier layouts are
 * overwritten, so one workspace serves one computation at a time. Views must be taken after the
 * last `layout` call: growing memory detaches earlier ones.
 */
export class WasmWorkspace {
  private readonly module: WasmKernelModule<unknown>;

  /** @param module - The module whose memory is laid out. */
  constructor(module: WasmKernelModule<unknown>) {
    this.module = module;
  }

  /**
   * Places arrays and makes room for them.
   *
   * @param arrays - Name to element kind and element count.
   * @returns Byte offset of each array.
   * @throws LesionEncError `OUT_OF_MEMORY` when they need more than 4 GiB.
   */
  layout<Names extends string>(
    arrays: Record<Names, readonly [WasmArrayKind, number]>,
  ): WasmLayout<Names> {
    let offset = Math.ceil(this.module.heapBase / 16) * 16;
    const offsets = {} as WasmLayout<Names>;
    for (const name of Object.keys(arrays) as Names[]) {
      const [kind, count] = arrays[name];
      offsets[name] = offset;
      offset += Math.ceil((count * ELEMENT_BYTES[kind]) / 16) * 16;
    }
    if (offset > MAX_BYTES) {
      throw new LesionEncError(
        'OUT_OF_MEMORY',
        `wasm kernel workspace: expected at most 4 GiB, got ${(offset / 2 ** 30).toFixed(2)} GiB`,
        { details: { bytes: offset } },
      );
    }
    const have = this.module.memory.buffer.byteLength;
    if (offset > have) this.module.memory.grow(Math.ceil((offset - have) / PAGE_BYTES));
    return offsets;
  }

  /** A Float32Array view of `count` elements at byte `offset`. */
  f32(offset: number, count: number): Float32Array {
    return new Float32Array(this.module.memory.buffer, offset, count);
  }

  /** A Float64Array view of `count` elements at byte `offset`. */
  f64(offset: number, count: number): Float64Array {
    return new Float64Array(this.module.memory.buffer, offset, count);
  }

  /** An Int32Array view of `count` elements at byte `offset`. */
  i32(offset: number, count: number): Int32Array {
    return new Int32Array(this.module.memory.buffer, offset, count);
  }
}
