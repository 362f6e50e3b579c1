// Tests of the two-samples-per-word intercept addition against plain arithmetic.
import { describe, expect, it } from 'vitest';

import { createRandom } from '@lesionenc/base';

import { shiftIntoInt16 } from './int16-shift';
import { createSimdShift } from './simd-shift';

function reference(
  stored: ArrayLike<number>,
  intercept: number,
): { values: number[]; fits: boolean } {
  const values = Array.from(stored, (v) => v + intercept);
  return { values, fits: values.every((v) => v >= -32768 && v <= 32767) };
}

describe.each([
  ['SIMD', true],
  ['SWAR', false],
] as const)('shiftIntoInt16 (%s)', (_kernel, useSimd) => {
  const random = createRandom(5);
  // Long enough for several SIMD chunks and a partial last vector.
  const long = new Uint16Array(100_003).map(() => random.nextInt(4096));
  const longOverflow = long.slice();
  longOverflow[90_000] = 40000;
  const cases: [string, Int16Array | Uint16Array, number][] = [
    ['unsigned CT', new Uint16Array(64).map(() => random.nextInt(4096)), -1024],
    ['signed CT', new Int16Array(64).map(() => random.nextInt(5000) - 2048), -1024],
    ['signed extremes', new Int16Array([-32768, 32767, 0, -1]), 0],
    ['positive intercept', new Int16Array(32).map(() => random.nextInt(3000) - 1000), 1000],
    ['unsigned overflow', new Uint16Array([0, 40000, 5, 6]), -1024],
    ['signed underflow', new Int16Array([-32000, 10, 20, 30]), -1024],
    ['odd length', new Uint16Array([1, 2, 3]), -5],
    ['several chunks', long, -1024],
    ['overflow in a late chunk', longOverflow, -1024],
  ];

  it.each(cases)('%s matches plain addition, aligned and not', (_name, stored, intercept) => {
    const want = reference(stored, intercept);
    for (const [storedShift, outOffset] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 3],
    ] as const) {
      // Place the samples at an odd 16-bit position to force the unaligned paths.
      const backing = new (stored.constructor as Int16ArrayConstructor)(
        stored.length + storedShift,
      );
      backing.set(stored, storedShift);
      const view = backing.subarray(storedShift);
      const out = new Int16Array(stored.length + outOffset);
      const fits = shiftIntoInt16(view, intercept, out, outOffset, useSimd);
      expect(fits).toBe(want.fits);
      if (fits) expect(Array.from(out.subarray(outOffset))).toEqual(want.values);
      expect(Array.from(view)).toEqual(Array.from(stored));
    }
  });

  it.each(cases)(
    '%s is right in place, the samples being the output',
    (_name, stored, intercept) => {
      const want = reference(stored, intercept);
      for (const offset of [0, 1, 2]) {
        // The samples are read into the volume first, then shifted where they lie.
        const volume = new Int16Array(stored.length + offset + 1);
        const bytes = new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength);
        new Uint8Array(volume.buffer, offset * 2, stored.byteLength).set(bytes);
        const view = new (stored.constructor as Int16ArrayConstructor)(
          volume.buffer,
          offset * 2,
          stored.length,
        );
        const fits = shiftIntoInt16(view, intercept, volume, offset, useSimd);
        expect(fits).toBe(want.fits);
        // When a sum does not fit, the samples must come back as they were stored.
        if (fits)
          expect(Array.from(volume.subarray(offset, offset + stored.length))).toEqual(want.values);
        else expect(Array.from(view)).toEqual(Array.from(stored));
      }
    },
  );

  it('decides exactly when the bitwise bounds are loose, with a large negative intercept', () => {
    const stored = new Uint16Array([10000, 10001, 10002, 10003]);
    const out = new Int16Array(4);
    expect(shiftIntoInt16(stored, -40000, out, 0, useSimd)).toBe(true);
    expect(Array.from(out)).toEqual([-30000, -29999, -29998, -29997]);
  });
});

describe('createSimdShift', () => {
  it('compiles under Node, so the SIMD cases above do not silently test the fallback', () => {
    expect(createSimdShift()).not.toBeNull();
  });
});
