// Tests of the .npy codec against files numpy wrote, round trips and bad input.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { isLesionEncError } from '@lesionenc/base';

import { type NpyArray, decodeNpy, encodeNpy } from './npy';
import { readNpy, writeNpy } from './npy-node';

const FIXTURES = new URL('../fixtures/npy/', import.meta.url);

function expectCode(run: () => unknown, code: string, message?: RegExp): void {
  try {
    run();
    expect.unreachable('should have thrown');
  } catch (error) {
    expect(isLesionEncError(error), String(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    if (message !== undefined) expect((error as Error).message).toMatch(message);
  }
}

describe('decodeNpy against numpy', async () => {
  const expected = JSON.parse(await readFile(new URL('expected.json', FIXTURES), 'utf8')) as Record<
    string,
    { shape: number[]; values: number[] }
  >;
  const arrayType: Record<string, unknown> = {
    'f4-c': Float32Array,
    'f8-c': Float64Array,
    'i4-c': Int32Array,
    'u1-c': Uint8Array,
    'f4-fortran': Float32Array,
    'f8-big-endian': Float64Array,
    bool: Uint8Array,
  };

  it.each(Object.entries(expected))('%s', async (name, want) => {
    const array = await readNpy(new URL(`${name}.npy`, FIXTURES).pathname);
    expect(array.shape).toEqual(want.shape);
    expect(array.data).toBeInstanceOf(arrayType[name]);
    // Float32 data is compared as float32, so the JSON's float64 copy is rounded the same way.
    const values =
      array.data instanceof Float32Array ? Array.from(Float32Array.from(want.values)) : want.values;
    expect(Array.from(array.data)).toEqual(values);
  });
});

describe('encodeNpy', () => {
  const arrays: NpyArray[] = [
    { data: new Float32Array([1.5, -2, 3e-8, 7]), shape: [2, 2] },
    { data: new Float64Array([Math.PI, -0, 1e300]), shape: [3] },
    { data: new Int32Array([-2147483648, 0, 2147483647, 5, 6, 7]), shape: [1, 2, 3] },
    { data: new Uint8Array([0, 255]), shape: [2, 1] },
    { data: new Float32Array([42]), shape: [] },
    { data: new Float32Array(0), shape: [0, 64] },
  ];

  it.each(arrays.map((a) => [a.shape.join('x') || 'scalar', a] as const))(
    'round trips %s exactly with a 64-byte aligned header',
    (_n, array) => {
      const bytes = encodeNpy(array);
      expect((bytes.length - array.data.byteLength) % 64).toBe(0);
      const back = decodeNpy(bytes);
      expect(back.shape).toEqual(array.shape);
      expect(back.data.constructor).toBe(array.data.constructor);
      expect(new Uint8Array(back.data.buffer)).toEqual(
        new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength),
      );
    },
  );

  it('refuses a shape that does not match the data', () => {
    expectCode(() => encodeNpy({ data: new Float32Array(5), shape: [2, 3] }), 'SHAPE_MISMATCH');
    expectCode(
      () => encodeNpy({ data: new Int16Array(2) as unknown as Uint8Array, shape: [2] }),
      'INVALID_ARGUMENT',
    );
  });

  it('writes atomically and reads back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lesionenc-npy-'));
    try {
      const path = join(dir, 'features.npy');
      const array = { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [3, 2] };
      await writeNpy(path, array);
      const back = await readNpy(path);
      expect(Array.from(back.data)).toEqual([1, 2, 3, 4, 5, 6]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('decodeNpy on bad input', () => {
  const good = encodeNpy({ data: new Float64Array([1, 2, 3, 4]), shape: [2, 2] });

  it('names the file and the problem', () => {
    expectCode(
      () => decodeNpy(new Uint8Array(20), { file: 'x.npy' }),
      'UNSUPPORTED_FORMAT',
      /^x\.npy: .*magic/,
    );
    expectCode(
      () => decodeNpy(good.subarray(0, good.length - 3), { file: 'y.npy' }),
      'CORRUPT_FILE',
      /^y\.npy: .*32 bytes/,
    );
    expectCode(() => decodeNpy(good.subarray(0, 30)), 'CORRUPT_FILE', /header/);
    const other = good.slice();
    const at = new TextDecoder().decode(other).indexOf("'<f8'");
    other.set(new TextEncoder().encode("'<c8'"), at);
    expectCode(() => decodeNpy(other), 'UNSUPPORTED_FORMAT', /descr/);
  });
});
