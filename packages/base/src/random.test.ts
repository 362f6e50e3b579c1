import { describe, expect, it } from 'vitest';

import { createRandom } from './random';

describe('createRandom', () => {
  it('gives the same stream for the same seed and a different one for another seed', () => {
    const a = createRandom(7);
    const b = createRandom(7);
    const c = createRandom(8);
    const xs = Array.from({ length: 50 }, () => a.next());
    expect(Array.from({ length: 50 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 50 }, () => c.next())).not.toEqual(xs);
  });

  it('matches the reference xoshiro128** output for a known state', () => {
    // Reference: the C implementation by Blackman and Vigna, state {1, 2, 3, 4}.
    const r = createRandom(0, { seed: 0, words: [1, 2, 3, 4] });
    const first = [r.next(), r.next(), r.next()].map((x) => Math.round(x * 4294967296));
    expect(first).toEqual([11520, 0, 5927040]);
  });

  it('draws uniform and normal numbers with the right moments', () => {
    const r = createRandom(123);
    const n = 20000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal(2, 3);
      sum += z;
      sumSq += z * z;
    }
    const mean = sum / n;
    const sd = Math.sqrt(sumSq / n - mean * mean);
    // Five standard errors.
    expect(Math.abs(mean - 2)).toBeLessThan((5 * 3) / Math.sqrt(n));
    expect(Math.abs(sd - 3)).toBeLessThan(0.1);
    const counts = new Array(5).fill(0);
    for (let i = 0; i < n; i++) counts[r.nextInt(5)]++;
    counts.forEach((count) => expect(Math.abs(count - n / 5)).toBeLessThan(5 * Math.sqrt(n / 5)));
  });

  it('forks streams that do not depend on how much the parent has drawn', () => {
    const a = createRandom(5);
    const b = createRandom(5);
    b.next();
    b.next();
    expect(a.fork('augment').next()).toBe(b.fork('augment').next());
    expect(a.fork('augment').next()).not.toBe(a.fork('split').next());
  });

  it('resumes exactly from a saved state', () => {
    const a = createRandom(99);
    a.next();
    const saved = a.getState();
    const expected = [a.next(), a.next()];
    const resumed = createRandom(99, saved);
    expect([resumed.next(), resumed.next()]).toEqual(expected);
  });

  it('shuffles into a permutation and rejects bad arguments', () => {
    const r = createRandom(1);
    const items = r.shuffle([...Array(100).keys()]);
    expect([...items].sort((x, y) => x - y)).toEqual([...Array(100).keys()]);
    expect(items).not.toEqual([...Array(100).keys()]);
    expect(() => createRandom(1.5)).toThrow(/integer/);
    expect(() => r.nextInt(0)).toThrow(/bound/);
  });
});
