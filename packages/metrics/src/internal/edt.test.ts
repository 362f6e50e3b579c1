// The exact distance transform against brute force on anisotropic grids.
import { createRandom } from '@lesionenc/base';
import { describe, expect, it } from 'vitest';

import { squaredDistanceTransform } from './edt';

/** Squared distances are sums of a few products of the spacings: exact up to rounding (mm²). */
const SQUARED_MM_TOLERANCE = 1e-9;

function bruteForce(
  seeds: Uint8Array,
  shape: [number, number, number],
  spacing: [number, number, number],
): Float64Array {
  const [S, R, C] = shape;
  const points: [number, number, number][] = [];
  for (let n = 0; n < seeds.length; n++) {
    if (seeds[n] === 1) points.push([Math.floor(n / (R * C)), Math.floor(n / C) % R, n % C]);
  }
  const out = new Float64Array(seeds.length).fill(Infinity);
  for (let k = 0; k < S; k++) {
    for (let i = 0; i < R; i++) {
      for (let j = 0; j < C; j++) {
        let best = Infinity;
        for (const [a, b, c] of points) {
          const d =
            ((k - a) * spacing[0]) ** 2 + ((i - b) * spacing[1]) ** 2 + ((j - c) * spacing[2]) ** 2;
          if (d < best) best = d;
        }
        out[(k * R + i) * C + j] = best;
      }
    }
  }
  return out;
}

describe('squaredDistanceTransform', () => {
  const cases: {
    shape: [number, number, number];
    spacing: [number, number, number];
    density: number;
  }[] = [
    { shape: [7, 11, 13], spacing: [2.5, 0.7, 0.9], density: 0.02 },
    { shape: [5, 9, 8], spacing: [1, 1, 1], density: 0.1 },
    { shape: [1, 17, 15], spacing: [3, 0.6, 1.4], density: 0.03 },
    { shape: [12, 3, 4], spacing: [0.5, 5, 2], density: 0.01 },
  ];
  cases.forEach(({ shape, spacing, density }, index) => {
    it(`equals brute force on grid ${shape.join('x')} at ${spacing.join('x')} mm`, () => {
      const random = createRandom(100 + index);
      const seeds = new Uint8Array(shape[0] * shape[1] * shape[2]);
      for (let n = 0; n < seeds.length; n++) seeds[n] = random.next() < density ? 1 : 0;
      seeds[random.nextInt(seeds.length)] = 1;
      const fast = squaredDistanceTransform(seeds, shape, spacing);
      const slow = bruteForce(seeds, shape, spacing);
      let worst = 0;
      for (let n = 0; n < seeds.length; n++) {
        worst = Math.max(worst, Math.abs((fast[n] as number) - (slow[n] as number)));
      }
      expect(worst).toBeLessThanOrEqual(SQUARED_MM_TOLERANCE);
    });
  });

  it('is infinite everywhere without seeds', () => {
    const out = squaredDistanceTransform(new Uint8Array(24), [2, 3, 4], [1, 1, 1]);
    expect(out.every((v) => v === Infinity)).toBe(true);
  });
});
