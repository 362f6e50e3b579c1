// Tests of one scan through the image stages, on a small severe phantom with effusion, and of the
// restriction of lesion labels to the lungs and the pleural space.
import {
  LUNG_CLASSES,
  createGeometry,
  createLabelMap,
  isLesionEncError,
  voxelVolumeMm3,
} from '@lesionenc/base';
import { createLesionUnet, type LesionUnet } from '@lesionenc/lesion-encoder';
import { DISEASE_PRESETS, createChestPhantom } from '@lesionenc/phantom';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { analyseScan, measureLesions } from './analyse';
import { initBackend } from './backend';
import { restrictAndMeasure } from './internal/volumetrics';

/** Volumes computed two ways agree to float rounding, ml. */
const VOLUME_TOLERANCE_ML = 1e-6;
/** The weight-free lung mask on a small phantom, against its truth. */
const MIN_LUNG_DICE = 0.9;

const phantom = createChestPhantom({
  seed: 5,
  matrix: 64,
  slices: 12,
  disease: { ...DISEASE_PRESETS.severe, effusion: DISEASE_PRESETS.effusion.effusion },
});

async function codeOf(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
  } catch (error) {
    return isLesionEncError(error) ? error.code : 'not a LesionEncError';
  }
  return undefined;
}

describe('analyseScan', () => {
  let unet: LesionUnet;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    unet = createLesionUnet({ inputSizePx: [64, 64], dropConnectRate: 0 });
  });
  afterAll(() => unet.dispose());

  it('segments the lungs, encodes every kept slice and measures the lesions it keeps', async () => {
    const fractions: number[] = [];
    const scan = await analyseScan(phantom.volume, {
      unet,
      memoryBudgetBytes: 64 * 2 ** 20,
      onProgress: (e) => fractions.push(e.fraction),
    });

    let both = 0;
    let predicted = 0;
    let truth = 0;
    for (let n = 0; n < phantom.lungs.data.length; n++) {
      // The lung mask's own voxels: this untrained network's consolidation labels, which join
      // the lungs in the pleural band, are noise.
      const p = scan.lungs.labels.data[n]! > 0 && scan.lesions.data[n] !== 2;
      const t = phantom.lungs.data[n]! > 0;
      if (p) predicted++;
      if (t) truth++;
      if (p && t) both++;
    }
    expect((2 * both) / (predicted + truth)).toBeGreaterThan(MIN_LUNG_DICE);

    expect(scan.keptSlices).toEqual(scan.lungs.keptSlices);
    expect(scan.keptSlices.length).toBeGreaterThan(0);
    expect(scan.featureSize).toBe(1280);
    expect(scan.features.length).toBe(scan.keptSlices.length * 1280);
    expect(scan.features.every(Number.isFinite)).toBe(true);
    expect(scan.lesions.geometry).toBe(phantom.volume.geometry);
    expect(scan.volumetricFeatures).toHaveLength(4);

    // Ground-glass and consolidation only inside the lungs, and the volumes are the label counts.
    const voxelMl = voxelVolumeMm3(phantom.volume.geometry) / 1000;
    let lesionVoxels = 0;
    for (let n = 0; n < scan.lesions.data.length; n++) {
      const value = scan.lesions.data[n]!;
      if (value === 1 || value === 2) {
        expect(scan.lungs.labels.data[n]).not.toBe(0);
        lesionVoxels++;
      }
    }
    expect(Math.abs(scan.volumetrics.lesion.volumeMl - lesionVoxels * voxelMl)).toBeLessThan(
      VOLUME_TOLERANCE_ML,
    );
    expect(
      Math.abs(
        scan.volumetrics.lungVolumeMl -
          (scan.lungs.rightLungVolumeMl + scan.lungs.leftLungVolumeMl),
      ),
    ).toBeLessThan(VOLUME_TOLERANCE_ML);

    expect(fractions.at(-1)).toBe(1);
    expect(fractions.every((f, i) => i === 0 || f >= fractions[i - 1]! - 1e-12)).toBe(true);
  });

  it('keeps the tensor count flat over 20 scans', async () => {
    await analyseScan(phantom.volume, { unet });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) await analyseScan(phantom.volume, { unet });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad options and stops on abort with typed codes', async () => {
    const free = createLesionUnet({ inputSizePx: null });
    try {
      expect(await codeOf(() => analyseScan(phantom.volume, { unet: free }))).toBe(
        'INVALID_ARGUMENT',
      );
    } finally {
      free.dispose();
    }
    expect(await codeOf(() => analyseScan(phantom.volume, { unet, memoryBudgetBytes: 0 }))).toBe(
      'INVALID_ARGUMENT',
    );
    const controller = new AbortController();
    controller.abort();
    expect(
      await codeOf(() => analyseScan(phantom.volume, { unet, signal: controller.signal })),
    ).toBe('ABORTED');
  });
});

describe('restrictAndMeasure', () => {
  // One slice of 1 x 8 voxels of 1 mm: right lung at 1-2, left lung at 5-6.
  const geometry = createGeometry({ shape: [1, 1, 8], spacingMm: [10, 1, 1] });
  const lungs = Uint8Array.from([0, 1, 1, 0, 0, 2, 2, 0]);

  it('keeps consolidation and effusion in the pleural band; consolidation completes the lung', () => {
    const raw = Uint8Array.from([1, 1, 2, 3, 2, 3, 1, 3]);
    const { labels, lungs: completed, volumetrics } = restrictAndMeasure(raw, lungs, geometry, 1);
    // Voxel 0: ground-glass outside the lungs, dropped. Voxel 3: effusion beside the right lung,
    // kept outside it. Voxel 4: consolidation 1 mm from the left lung (2 mm from the right),
    // joined to the left. Voxel 7: effusion beside the left lung.
    expect(Array.from(labels)).toEqual([0, 1, 2, 3, 2, 3, 1, 3]);
    expect(Array.from(completed)).toEqual([0, 1, 1, 0, 2, 2, 2, 0]);
    const voxelMl = 10 / 1000;
    expect(volumetrics.rightLungVolumeMl).toBeCloseTo(2 * voxelMl, 12);
    expect(volumetrics.leftLungVolumeMl).toBeCloseTo(3 * voxelMl, 12);
    expect(volumetrics.groundGlass.rightMl).toBeCloseTo(voxelMl, 12);
    expect(volumetrics.groundGlass.leftMl).toBeCloseTo(voxelMl, 12);
    expect(volumetrics.consolidation.rightPercentOfLung).toBeCloseTo(50, 10);
    expect(volumetrics.consolidation.leftMl).toBeCloseTo(voxelMl, 12);
    expect(volumetrics.pleuralEffusion.rightMl).toBeCloseTo(voxelMl, 12);
    expect(volumetrics.pleuralEffusion.leftMl).toBeCloseTo(2 * voxelMl, 12);
    expect(volumetrics.lesion.percentOfLung).toBeCloseTo(80, 10);
    // The input mask is left as it was.
    expect(Array.from(lungs)).toEqual([0, 1, 1, 0, 0, 2, 2, 0]);
  });

  it('drops lesions beyond the band', () => {
    const raw = Uint8Array.from([3, 0, 0, 0, 0, 0, 0, 2]);
    const far = restrictAndMeasure(raw, Uint8Array.from([0, 0, 1, 1, 0, 0, 0, 0]), geometry, 1);
    expect(far.labels[0]).toBe(0);
    expect(far.labels[7]).toBe(0);
    expect(Array.from(far.lungs)).toEqual([0, 0, 1, 1, 0, 0, 0, 0]);
    expect(far.volumetrics.pleuralEffusion.volumeMl).toBe(0);
    expect(far.volumetrics.consolidation.volumeMl).toBe(0);
  });
});

describe('measureLesions', () => {
  const geometry = createGeometry({ shape: [1, 1, 8], spacingMm: [10, 1, 1] });
  const lungs = createLabelMap(Uint8Array.from([0, 1, 1, 0, 0, 2, 2, 0]), geometry, LUNG_CLASSES);

  it('gives the four volumetric features of the baseline', () => {
    const m = measureLesions(Uint8Array.from([0, 1, 2, 0, 0, 1, 0, 0]), lungs, {
      pleuralMarginMm: 1,
    });
    // Right: ground-glass 50 %, consolidation 50 %; left: ground-glass 50 %, consolidation 0 %.
    expect(m.volumetricFeatures.map((f) => Math.round(f * 1e9) / 1e9)).toEqual([50, 50, 50, 0]);
  });

  it('rejects labels of another size and a negative band with typed codes', () => {
    const code = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return isLesionEncError(error) ? error.code : 'other';
      }
      return undefined;
    };
    expect(code(() => measureLesions(new Uint8Array(7), lungs))).toBe('SHAPE_MISMATCH');
    expect(code(() => measureLesions(new Uint8Array(8), lungs, { pleuralMarginMm: -1 }))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});
