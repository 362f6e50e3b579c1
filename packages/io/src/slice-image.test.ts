// Tests of PNG/JPG slices as one-slice volumes and label maps, and of format sniffing.
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import * as jpegModule from 'jpeg-js';
import { describe, expect, it } from 'vitest';

import { createCtVolume, isLesionEncError } from '@lesionenc/base';

import { encodeNifti } from './nifti';
import { readVolume, sniffFormat } from './read-volume';
import { decodeSliceImage, decodeSliceLabels } from './slice-image';

// Largest grey-level error of a quality-95 JPEG of a smooth image.
const JPEG_TOLERANCE = 3;

async function expectCode(run: () => Promise<unknown>, code: string, message?: RegExp) {
  try {
    await run();
    expect.unreachable('should have thrown');
  } catch (error) {
    expect(isLesionEncError(error), String(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    if (message !== undefined) expect((error as Error).message).toMatch(message);
  }
}

const width = 7;
const height = 5;
const ramp8 = new Uint8Array(width * height).map((_, n) => (n * 7) % 256);

describe('decodeSliceImage', () => {
  it('reads 8-bit grey PNGs exactly as a windowed one-slice volume', async () => {
    const png = encodePng({ width, height, data: ramp8, depth: 8, channels: 1 });
    const slice = await decodeSliceImage(png, { file: 'a.png', pixelSpacingMm: [0.8, 0.9] });
    expect(slice.unit).toBe('windowed');
    expect(slice.geometry.shape).toEqual([1, height, width]);
    expect(slice.geometry.spacingMm).toEqual([1, 0.8, 0.9]);
    expect(slice.data).toBeInstanceOf(Int16Array);
    expect(Array.from(slice.data)).toEqual(Array.from(ramp8));
  });

  it('reads 16-bit PNGs without losing bits and colour PNGs as grey', async () => {
    const ramp16 = new Uint16Array(width * height).map((_, n) => n * 1871);
    const png16 = encodePng({ width, height, data: ramp16, depth: 16, channels: 1 });
    const slice16 = await decodeSliceImage(png16);
    expect(slice16.data).toBeInstanceOf(Float32Array);
    expect(Array.from(slice16.data)).toEqual(Array.from(ramp16));

    const rgb = new Uint8Array(width * height * 3);
    ramp8.forEach((v, n) => rgb.set([v, v, v], 3 * n));
    rgb.set([255, 0, 0], 0);
    const colour = await decodeSliceImage(
      encodePng({ width, height, data: rgb, depth: 8, channels: 3 }),
    );
    expect(colour.data[0]).toBe(Math.round(0.299 * 255));
    expect(Array.from(colour.data.subarray(1))).toEqual(Array.from(ramp8.subarray(1)));
  });

  it('reads JPEGs within the codec loss', async () => {
    const rgba = new Uint8Array(64 * 64 * 4);
    for (let n = 0; n < 64 * 64; n++)
      rgba.set([100 + (n % 64), 100 + (n % 64), 100 + (n % 64), 255], 4 * n);
    const bytes = jpegModule.encode({ width: 64, height: 64, data: rgba }, 95).data;
    const slice = await decodeSliceImage(new Uint8Array(bytes));
    expect(slice.geometry.shape).toEqual([1, 64, 64]);
    let worst = 0;
    for (let n = 0; n < 64 * 64; n++)
      worst = Math.max(worst, Math.abs(slice.data[n]! - (100 + (n % 64))));
    expect(worst).toBeLessThanOrEqual(JPEG_TOLERANCE);
  });

  it('names the file and the problem for bad images', async () => {
    await expectCode(
      () => decodeSliceImage(new Uint8Array([1, 2, 3, 4]), { file: 'x.png' }),
      'UNSUPPORTED_FORMAT',
      /^x\.png: /,
    );
    const png = encodePng({ width, height, data: ramp8, depth: 8, channels: 1 });
    await expectCode(
      () => decodeSliceImage(png.subarray(0, 40), { file: 'cut.png' }),
      'CORRUPT_FILE',
      /^cut\.png: PNG/,
    );
    await expectCode(
      () =>
        decodeSliceImage(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2]), {
          file: 'cut.jpg',
        }),
      'CORRUPT_FILE',
      /^cut\.jpg: JPEG/,
    );
  });
});

describe('decodeSliceLabels', () => {
  it('keeps values of grey label PNGs and binarizes 0/255 masks', async () => {
    const mask = new Uint8Array(width * height).map((_, n) => (n % 3 === 0 ? 255 : 0));
    const png = encodePng({ width, height, data: mask, depth: 8, channels: 1 });
    const labels = await decodeSliceLabels(png, undefined, { binarize: true });
    expect(Array.from(labels.data)).toEqual(Array.from(mask).map((v) => (v > 0 ? 1 : 0)));
    expect(labels.classes.map((c) => c.value)).toEqual([0, 1]);
    const raw = await decodeSliceLabels(png);
    expect(raw.classes.map((c) => c.value)).toEqual([0, 255]);
  });
});

describe('readVolume and sniffFormat', () => {
  it('tells formats by content, not by name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lesionenc-read-'));
    try {
      const nifti = encodeNifti(createCtVolume(new Int16Array(8), { shape: [2, 2, 2] }));
      await writeFile(join(dir, 'scan.bin'), nifti);
      expect((await readVolume(join(dir, 'scan.bin'))).format).toBe('nifti');
      const png = encodePng({ width, height, data: ramp8, depth: 8, channels: 1 });
      await writeFile(join(dir, 'slice.dat'), png);
      const read = await readVolume(join(dir, 'slice.dat'));
      expect(read.format).toBe('png');
      expect(read.volume.unit).toBe('windowed');
      await writeFile(join(dir, 'other.txt'), 'hello world');
      await expectCode(
        () => readVolume(join(dir, 'other.txt')),
        'UNSUPPORTED_FORMAT',
        /other\.txt/,
      );
      await writeFile(join(dir, 'zero.nii'), new Uint8Array(0));
      await expectCode(() => readVolume(join(dir, 'zero.nii')), 'CORRUPT_FILE', /0 bytes/);
      expect(sniffFormat(new Uint8Array([0x1f, 0x8b]))).toBe('nifti');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const dataDir = process.env.LESIONENC_DATA_DIR;

describe.skipIf(!dataDir)('real slice sets (LESIONENC_DATA_DIR)', () => {
  it('reads the COVID-SemiSeg JPG slices and their palette labels at the same size', async () => {
    const folder = join(dataDir!, 'covid-semiseg', 'train');
    const names = (await readdir(join(folder, 'images')))
      .filter((f) => f.endsWith('.jpg'))
      .slice(0, 5);
    for (const name of names) {
      const image = await decodeSliceImage(
        new Uint8Array(await readFile(join(folder, 'images', name))),
      );
      const labelFile = join(folder, 'labels', name.replace('.jpg', '.png'));
      const labels = await decodeSliceLabels(new Uint8Array(await readFile(labelFile)));
      expect(labels.geometry.shape).toEqual(image.geometry.shape);
      expect(labels.classes.every((c) => c.value <= 2)).toBe(true);
      expect(image.unit).toBe('windowed');
    }
  });

  it('reads the Zenodo 256x256 PNG slices', async () => {
    const slice = await readVolume(join(dataDir!, 'zenodo-slices', 'ct', '0000.png'));
    expect(slice.volume.geometry.shape).toEqual([1, 256, 256]);
    const lungs = await decodeSliceLabels(
      new Uint8Array(await readFile(join(dataDir!, 'zenodo-slices', 'lungs', '0000.png'))),
      undefined,
      { binarize: true },
    );
    expect(lungs.classes.map((c) => c.value)).toEqual([0, 1]);
  });
});
