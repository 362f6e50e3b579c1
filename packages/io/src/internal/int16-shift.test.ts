// Tests of the two-samples-per-word intercept addition against plain arithmetic.
import { describe, expect, it } from 'vitest';

import { createRandom } from '@lesionenc/base';

import { shiftIntoInt16 } from './int16-shift';

function reference(
  stored: ArrayLike<number>,
  intercept: number,
): { values: number[]; fits: boolean } {
  const values = Array.from(stored, (v) => v + intercept);
  return { values, fits: values.every((v) => v >= -32768 && v <= 32767) };
}

describe('shiftIntoInt16', () => {
  const random = createRandom(5);
  const cases: [string, Int16Array | Uint16Array, number][] = [
    ['unsigned CT', new Uint16Array(64).map(() => random.nextInt(4096)), -1024],
    ['signed CT', new Int16Array(64).map(() => random.nextInt(5000) - 2048), -1024],
    ['signed extremes', new Int16Array([-32768, 32767, 0, -1]), 0],
    ['positive intercept', new Int16Array(32).map(() => random.nextInt(3000) - 1000), 1000],
    ['unsigned overflow', new Uint16Array([0, 40000, 5, 6]), -1024],
    ['signed underflow', new Int16Array([-32000, 10, 20, 30]), -1024],
    ['odd length', new Uint16Array([1, 2, 3]), -5],
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
      const fits = shiftIntoInt16(view, intercept, out, outOffset);
      expect(fits).toBe(want.fits);
      if (fits) expect(Array.from(out.subarray(outOffset))).toEqual(want.values);
      expect(Array.from(view)).toEqual(Array.from(stored));
    }
  });
});
