// Seeded random numbers (xoshiro128**), the only source of randomness in the project.
import { LesionEncError } from './errors';

/** A seeded, reproducible stream of random numbers. Same seed, same numbers, on every platform. */
export interface Random {
  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number;
  /** Uniform integer in [0, maxExclusive). */
  nextInt(maxExclusive: number): number;
  /** Uniform in [low, high). */
  uniform(low: number, high: number): number;
  /** Normal with the given mean and standard deviation. */
  normal(mean?: number, standardDeviation?: number): number;
  /** Shuffles an array in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[];
  /**
   * A new independent stream derived from this one's seed and a label, so that adding a random
   * step in one place does not change the numbers drawn in another.
   */
  fork(label: string): Random;
  /** The internal state, for checkpoints. */
  getState(): RandomState;
}

/** The state of a {@link Random}, enough to resume it exactly. */
export interface RandomState {
  seed: number;
  words: [number, number, number, number];
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function hashLabel(seed: number, label: string): number {
  // FNV-1a over the label, mixed with the parent seed.
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

/**
 * Creates a seeded random number generator.
 *
 * @param seed - Any integer; it is reduced to 32 bits.
 * @param state - A state from {@link Random.getState}, to resume a stream.
 * @returns A {@link Random}.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` when the seed is not a finite integer.
 * @example
 * ```ts
 * const random = createRandom(42);
 * const order = random.shuffle([...Array(10).keys()]);
 * ```
 */
export function createRandom(seed: number, state?: RandomState): Random {
  if (!Number.isInteger(seed)) {
    throw new LesionEncError('INVALID_ARGUMENT', `random seed: expected an integer, got ${seed}`);
  }
  const seed32 = seed >>> 0;
  let words: [number, number, number, number];
  if (state !== undefined) {
    words = [...state.words];
  } else {
    const mix = splitmix32(seed32);
    words = [mix(), mix(), mix(), mix()];
  }
  let spareNormal: number | undefined;

  const nextUint32 = (): number => {
    const [a, b, c, d] = words;
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    let c2 = (c ^ a) >>> 0;
    let d2 = (d ^ b) >>> 0;
    const b2 = (b ^ c2) >>> 0;
    const a2 = (a ^ d2) >>> 0;
    c2 = (c2 ^ t) >>> 0;
    d2 = rotl(d2, 11);
    words = [a2, b2, c2, d2];
    return result;
  };

  const random: Random = {
    next: () => nextUint32() / 4294967296,
    nextInt: (maxExclusive) => {
      if (!Number.isInteger(maxExclusive) || maxExclusive <= 0 || maxExclusive > 4294967296) {
        throw new LesionEncError(
          'INVALID_ARGUMENT',
          `nextInt: expected an integer bound in [1, 2^32], got ${maxExclusive}`,
        );
      }
      // Rejection sampling keeps every integer equally likely.
      const limit = 4294967296 - (4294967296 % maxExclusive);
      let x = nextUint32();
      while (x >= limit) x = nextUint32();
      return x % maxExclusive;
    },
    uniform: (low, high) => low + (high - low) * random.next(),
    normal: (mean = 0, standardDeviation = 1) => {
      if (spareNormal !== undefined) {
        const z = spareNormal;
        spareNormal = undefined;
        return mean + standardDeviation * z;
      }
      // Box-Muller; u1 is kept away from 0 so the logarithm stays finite.
      const u1 = (nextUint32() + 1) / 4294967297;
      const u2 = random.next();
      const r = Math.sqrt(-2 * Math.log(u1));
      spareNormal = r * Math.sin(2 * Math.PI * u2);
      return mean + standardDeviation * r * Math.cos(2 * Math.PI * u2);
    },
    shuffle: (items) => {
      for (let i = items.length - 1; i > 0; i--) {
        const j = random.nextInt(i + 1);
        const tmp = items[i] as (typeof items)[number];
        items[i] = items[j] as (typeof items)[number];
        items[j] = tmp;
      }
      return items;
    },
    fork: (label) => createRandom(hashLabel(seed32, label)),
    getState: () => ({ seed: seed32, words: [...words] }),
  };
  return random;
}
