import { afterEach, describe, expect, it } from 'vitest';

import { isLesionEncError } from './errors';
import { WasmWorkspace, loadWasmKernels } from './wasm-kernels';

// The smallest module of the kernels' shape, written out by hand: one page of memory, exported
// as `memory`, and an exported constant `__heap_base` of 1024.
const MODULE = Uint8Array.from([
  // magic, version
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  // memory section: one memory, no maximum, one page
  0x05, 0x03, 0x01, 0x00, 0x01,
  // global section: one immutable i32 = 1024
  0x06, 0x07, 0x01, 0x7f, 0x00, 0x41, 0x80, 0x08, 0x0b,
  // export section: "memory" (memory 0), "__heap_base" (global 0)
  0x07, 0x18, 0x02, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x0b, 0x5f, 0x5f, 0x68,
  0x65, 0x61, 0x70, 0x5f, 0x62, 0x61, 0x73, 0x65, 0x03, 0x00,
]);
const BASE64 = Buffer.from(MODULE).toString('base64');

describe('loadWasmKernels', () => {
  afterEach(() => {
    delete process.env['LESIONENC_WASM_KERNELS'];
  });

  it('instantiates a module and reads its heap base', () => {
    const module = loadWasmKernels<Record<string, never>>(BASE64);
    expect(module).toBeDefined();
    expect(module!.heapBase).toBe(1024);
    expect(module!.memory.buffer.byteLength).toBe(65536);
  });

  it('gives undefined for bytes that are not a module, and when kernels are turned off', () => {
    expect(loadWasmKernels(Buffer.from('not wasm').toString('base64'))).toBeUndefined();
    process.env['LESIONENC_WASM_KERNELS'] = 'off';
    expect(loadWasmKernels(BASE64)).toBeUndefined();
  });
});

describe('WasmWorkspace', () => {
  it('lays arrays out from the heap base, 16-byte aligned, and grows the memory to fit', () => {
    const module = loadWasmKernels<Record<string, never>>(BASE64)!;
    const workspace = new WasmWorkspace(module);
    const at = workspace.layout({ a: ['f32', 3], b: ['f64', 20000], c: ['i32', 1] });
    expect(at.a).toBe(1024);
    expect(at.b).toBe(1040);
    expect(at.c).toBe(1040 + 160000);
    expect(module.memory.buffer.byteLength).toBeGreaterThanOrEqual(at.c + 4);
    const b = workspace.f64(at.b, 20000);
    b[19999] = 2.5;
    expect(workspace.f64(at.b + 19999 * 8, 1)[0]).toBe(2.5);
    workspace.i32(at.c, 1)[0] = -7;
    expect(new Int32Array(module.memory.buffer, at.c, 1)[0]).toBe(-7);
    workspace.f32(at.a, 3).set([1, 2, 3]);
    expect(Array.from(new Float32Array(module.memory.buffer, 1024, 3))).toEqual([1, 2, 3]);
  });

  it('refuses a layout beyond the 4 GiB a 32-bit module addresses', () => {
    const workspace = new WasmWorkspace(loadWasmKernels<Record<string, never>>(BASE64)!);
    try {
      workspace.layout({ huge: ['f64', 2 ** 29 + 1] });
      expect.unreachable();
    } catch (error) {
      expect(isLesionEncError(error, 'OUT_OF_MEMORY')).toBe(true);
    }
  });
});
