import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { isLesionEncError } from '@lesionenc/base';

import { applyClahe, createClahe } from './clahe';

// OpenCV parity: at most this many grey levels apart...
const MAX_GREY_LEVEL_DIFFERENCE = 1;
// ...on at least this fraction of the pixels of every fixture.
const MIN_FRACTION_WITHIN = 0.999;

interface FixtureImage {
  bits: 8 | 16;
  rows: number;
  columns: number;
  data: string;
}
interface FixtureCase {
  image: string;
  clipLimit: number;
  tileGridSize: [number, number];
  output: string;
}
const fixtures = JSON.parse(
  readFileSync(new URL('../fixtures/clahe.json', import.meta.url), 'utf8'),
) as { images: Record<string, FixtureImage>; fixtures: FixtureCase[] };

function decode(base64: string, bits: 8 | 16): Uint8Array | Uint16Array {
  const bytes = Buffer.from(base64, 'base64');
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return bits === 8 ? copy : new Uint16Array(copy.buffer);
}

describe('CLAHE against OpenCV 4.6', () => {
  it.each(fixtures.fixtures.map((f) => [f.image, f.clipLimit, f.tileGridSize.join('x'), f]))(
    '%s, clipLimit %d, grid %s',
    (_name, _clip, _grid, fixture) => {
      const f = fixture as FixtureCase;
      const image = fixtures.images[f.image]!;
      const input = decode(image.data, image.bits);
      const expected = decode(f.output, image.bits);
      const actual = applyClahe(input, image.rows, image.columns, {
        clipLimit: f.clipLimit,
        tileGridSize: f.tileGridSize,
      });
      expect(actual.constructor).toBe(input.constructor);
      let within = 0;
      let worst = 0;
      for (let n = 0; n < actual.length; n++) {
        const d = Math.abs(actual[n]! - expected[n]!);
        if (d <= MAX_GREY_LEVEL_DIFFERENCE) within += 1;
        worst = Math.max(worst, d);
      }
      expect(within / actual.length).toBeGreaterThanOrEqual(MIN_FRACTION_WITHIN);
      // The output differs from the input: the comparison is not of two identity maps.
      expect(expected.some((v, n) => v !== input[n])).toBe(true);
    },
  );

  it('works in place and reuses its buffers across calls', () => {
    const image = fixtures.images['ct-64x80']!;
    const input = decode(image.data, 8) as Uint8Array;
    const clahe = createClahe({ clipLimit: 2, tileGridSize: [8, 8] });
    const first = clahe.apply(input, image.rows, image.columns);
    const inPlace = input.slice();
    clahe.apply(inPlace, image.rows, image.columns, inPlace);
    expect(inPlace).toEqual(first);
    clahe.dispose();
    expect(() => clahe.apply(input, image.rows, image.columns)).toThrow(/disposed/);
  });

  it.each([
    ['a negative clip limit', { clipLimit: -1 }],
    ['a zero tile count', { tileGridSize: [0, 8] as [number, number] }],
    ['a fractional tile count', { tileGridSize: [2.5, 8] as [number, number] }],
  ])('rejects %s with INVALID_ARGUMENT', (_name, config) => {
    try {
      createClahe(config);
      expect.unreachable();
    } catch (error) {
      expect(isLesionEncError(error, 'INVALID_ARGUMENT')).toBe(true);
    }
  });

  it('rejects an image whose length does not match its size', () => {
    try {
      applyClahe(new Uint8Array(10), 3, 4);
      expect.unreachable();
    } catch (error) {
      expect(isLesionEncError(error, 'SHAPE_MISMATCH')).toBe(true);
      expect((error as Error).message).toMatch(/expected 12 pixels/);
    }
  });
});
