// Tests of the augmentation pipeline: image and mask stay aligned, draws are seeded per op.
import { isLesionEncError } from '@lesionenc/base';
import { describe, expect, it } from 'vitest';

import {
  type AugmentSample,
  affine,
  blur,
  brightnessContrast,
  composeAugmentations,
  createDefaultAugmentation,
  gaussianNoise,
  horizontalFlip,
  perspective,
  randomCrop,
  sharpen,
} from './augment';

const CLASSES = 3;
// Share of pixels whose class read back from the warped image must match the warped mask;
// pixels on block edges blend neighbouring classes under bilinear interpolation.
const MIN_AGREEMENT = 0.95;

// Blocks of 16 px with pseudo-random classes (no symmetry a flip could hide), with
// intensity class / (CLASSES - 1) + 0.1 so that even background is distinguishable from padding.
function pattern(rows: number, columns: number): AugmentSample {
  const image = new Float32Array(rows * columns);
  const mask = new Uint8Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const rb = Math.floor(r / 16);
      const cb = Math.floor(c / 16);
      const label = (rb * 7 + cb * 13 + rb * cb * cb * 5 + cb * cb) % CLASSES;
      mask[r * columns + c] = label;
      image[r * columns + c] = 0.1 + (0.8 * label) / (CLASSES - 1);
    }
  }
  return { image, mask, rows, columns };
}

function agreement(sample: AugmentSample): number {
  let agree = 0;
  let counted = 0;
  for (let i = 0; i < sample.image.length; i++) {
    const v = sample.image[i]!;
    if (v < 0.05) continue; // padding outside the warped input
    counted++;
    if (Math.round(((v - 0.1) / 0.8) * (CLASSES - 1)) === sample.mask[i]) agree++;
  }
  return counted === 0 ? 0 : agree / counted;
}

describe('augmentation', () => {
  const input = pattern(96, 112);

  it.each([
    ['hflip', horizontalFlip(1)],
    [
      'affine',
      affine({ p: 1, rotateDeg: 25, scaleLimit: 0.2, translateFraction: 0.1, shearDeg: 8 }),
    ],
    ['perspective', perspective({ p: 1, scale: 0.1 })],
    ['crop', randomCrop(60, 72)],
  ])('keeps image and mask aligned under %s', (_name, op) => {
    const augment = composeAugmentations([op], 11);
    for (let key = 0; key < 5; key++) {
      const out = augment.apply(input, key);
      expect(out.image.length).toBe(out.rows * out.columns);
      expect(agreement(out)).toBeGreaterThanOrEqual(MIN_AGREEMENT);
      // Nearest-neighbour masks only carry labels of the input.
      expect(out.mask.every((v) => v < CLASSES)).toBe(true);
    }
  });

  it('detects misalignment (flipping only the mask breaks agreement)', () => {
    const out = composeAugmentations([horizontalFlip(1)], 0).apply(input, 0);
    const broken = { ...input, mask: out.mask };
    expect(agreement(broken)).toBeLessThan(MIN_AGREEMENT);
  });

  it('changes geometry: the warped mask differs from the input', () => {
    const out = composeAugmentations([affine({ p: 1, rotateDeg: 20 })], 3).apply(input, 0);
    let changed = 0;
    for (let i = 0; i < input.mask.length; i++) if (out.mask[i] !== input.mask[i]) changed++;
    expect(changed / input.mask.length).toBeGreaterThan(0.1);
  });

  it('keeps the full default pipeline aligned up to intensity changes', () => {
    const augment = composeAugmentations(
      [
        horizontalFlip(0.5),
        affine({ p: 1, rotateDeg: 15 }),
        perspective({ p: 1 }),
        randomCrop(48, 48),
      ],
      5,
    );
    for (let key = 0; key < 4; key++)
      expect(agreement(augment.apply(input, key))).toBeGreaterThan(MIN_AGREEMENT);
  });

  it('is reproducible per key and varies across keys', () => {
    const a = createDefaultAugmentation([48, 48], 9);
    const b = createDefaultAugmentation([48, 48], 9);
    const first = a.apply(input, 'e0/s1');
    expect(Array.from(b.apply(input, 'e0/s1').image)).toEqual(Array.from(first.image));
    expect(Array.from(a.apply(input, 'e1/s1').image)).not.toEqual(Array.from(first.image));
  });

  it('leaves the mask untouched under intensity ops and changes the image', () => {
    for (const op of [
      brightnessContrast({ p: 1 }),
      blur({ p: 1 }),
      sharpen({ p: 1 }),
      gaussianNoise({ p: 1 }),
    ]) {
      const out = composeAugmentations([op], 2).apply(input, 0);
      expect(out.mask).toBe(input.mask);
      expect(Array.from(out.image)).not.toEqual(Array.from(input.image));
    }
  });

  it('does not modify its input', () => {
    const before = Array.from(input.image);
    createDefaultAugmentation([48, 48], 1).apply(input, 0);
    expect(Array.from(input.image)).toEqual(before);
  });

  it('rejects crops larger than the input and mismatched samples', () => {
    const codes: unknown[] = [];
    for (const run of [
      () => composeAugmentations([randomCrop(100, 10)], 0).apply(input, 0),
      () => composeAugmentations([], 0).apply({ ...input, mask: new Uint8Array(3) }, 0),
    ]) {
      try {
        run();
      } catch (error) {
        codes.push(isLesionEncError(error) ? error.code : error);
      }
    }
    expect(codes).toEqual(['SHAPE_MISMATCH', 'SHAPE_MISMATCH']);
  });
});
