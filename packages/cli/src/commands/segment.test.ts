// `lesionenc segment` and `encode` end to end: a weights folder, a NIfTI phantom and a PNG slice.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { analyseScan, initBackend } from '@lesionenc/core';
import { decodeSliceLabels, readNiftiLabels, readNpy, writeNifti } from '@lesionenc/io';
import { createLesionUnet, encodeModelWeights } from '@lesionenc/lesion-encoder';
import { DISEASE_PRESETS, createChestPhantom } from '@lesionenc/phantom';
import { encode as encodePng } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { capture } from '../testing/capture';
import { runEncode, runSegment } from './segment';

const directory = mkdtempSync(join(tmpdir(), 'lesionenc-cli-segment-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const CONFIG = { inputSizePx: [64, 64] as [number, number], dropConnectRate: 0, seed: 3 };
const weights = join(directory, 'weights');
const scanPath = join(directory, 'scan.nii.gz');
const phantom = createChestPhantom({
  seed: 4,
  matrix: 64,
  slices: 8,
  disease: DISEASE_PRESETS.severe,
});

describe('lesionenc segment / encode', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    const unet = createLesionUnet(CONFIG);
    const encoded = await encodeModelWeights(unet.model, 'float32');
    unet.dispose();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(weights, { recursive: true });
    writeFileSync(join(weights, 'weights.bin'), encoded.data);
    writeFileSync(
      join(weights, 'weights.json'),
      JSON.stringify({ config: CONFIG, weights: encoded.specs }),
    );
    await writeNifti(scanPath, phantom.volume);
  });

  it('writes NIfTI labels on the scan geometry, equal to analyseScan with the same weights', async () => {
    const out = join(directory, 'labels.nii.gz');
    const { io, out: text } = capture();
    expect(await runSegment([scanPath, '--out', out, '--weights', weights, '--json'], io)).toBe(0);
    const report = JSON.parse(text.join('')) as { weights: string; keptSlices: number[] };
    expect(report.weights).toBe(weights);
    const labels = await readNiftiLabels(out);
    expect(labels.geometry.shape).toEqual(phantom.volume.geometry.shape);

    const unet = createLesionUnet(CONFIG);
    try {
      const direct = await analyseScan(phantom.volume, { unet });
      expect(report.keptSlices).toEqual(direct.keptSlices);
      expect(Array.from(labels.data)).toEqual(Array.from(direct.lesions.data));
    } finally {
      unet.dispose();
    }
  });

  it('writes a PNG of the input size with class indices for a 2D slice', async () => {
    const width = 50;
    const height = 40;
    const grey = new Uint8Array(width * height).map((_, i) => (i * 37) % 256);
    const png = join(directory, 'slice.png');
    writeFileSync(png, encodePng({ width, height, data: grey, channels: 1, depth: 8 }));
    const out = join(directory, 'slice-labels.png');
    const { io } = capture();
    expect(await runSegment([png, '--out', out, '--weights', weights], io)).toBe(0);
    const labels = await decodeSliceLabels(new Uint8Array(readFileSync(out)));
    expect(labels.geometry.shape).toEqual([1, height, width]);
    expect(Array.from(labels.data).every((v) => v >= 0 && v <= 3)).toBe(true);
  });

  it('writes one feature vector per kept slice with two workers', async () => {
    const out = join(directory, 'features.npy');
    const { io, out: text } = capture();
    expect(
      await runEncode(
        [scanPath, '--out', out, '--weights', weights, '--workers', '2', '--json'],
        io,
      ),
    ).toBe(0);
    const report = JSON.parse(text.join('')) as { keptSlices: number[] };
    const features = await readNpy(out);
    expect(features.shape).toEqual([report.keptSlices.length, 1280]);
  });

  it('exits 2 on usage errors and 1 with the code on bad input', async () => {
    const { io, err } = capture();
    expect(await runSegment([scanPath, '--out', join(directory, 'x.txt')], io)).toBe(2);
    expect(await runEncode([scanPath], io)).toBe(2);
    expect(
      await runSegment([scanPath, '--out', join(directory, 'y.png'), '--weights', weights], io),
    ).toBe(1);
    expect(err.join('\n')).toMatch(/INVALID_ARGUMENT/);
    expect(
      await runSegment([join(directory, 'missing.nii'), '--out', join(directory, 'z.nii')], io),
    ).toBe(1);
    expect(err.join('\n')).toMatch(/FILE_NOT_FOUND/);
  });
});
