import { describe, expect, it } from 'vitest';

import {
  type ProgressEvent,
  createCtVolume,
  createGeometry,
  isLesionEncError,
  voxelVolumeMm3,
} from '@lesionenc/base';

import { segmentLungs } from './classical';
import { dice } from './testing/dice';
import { createSyntheticChest } from './internal/synthetic-chest';

// The target for the weight-free method against known truth.
const MIN_DICE_VS_TRUTH = 0.97;
// Voxels of both masks that must carry the same side (right/left) label.
const MIN_SIDE_AGREEMENT = 0.99;
const ML_TOLERANCE = 1e-9;

function sideAgreement(predicted: Uint8Array, truth: Uint8Array): number {
  let both = 0;
  let same = 0;
  for (let n = 0; n < truth.length; n++) {
    if (predicted[n]! > 0 && truth[n]! > 0) {
      both++;
      if (predicted[n] === truth[n]) same++;
    }
  }
  return same / both;
}

describe('segmentLungs (weight-free)', () => {
  it.each([
    ['a healthy chest', {}],
    ['juxtapleural and enclosed consolidation', { consolidation: true }],
    ['consolidation and a pleural effusion', { consolidation: true, effusion: true }],
  ])('finds both lungs of %s (Dice >= 0.97, right and left apart)', (_name, options) => {
    const chest = createSyntheticChest(options);
    const result = segmentLungs(chest.volume);
    expect(dice(result.labels.data, chest.truth)).toBeGreaterThanOrEqual(MIN_DICE_VS_TRUTH);
    expect(sideAgreement(result.labels.data, chest.truth)).toBeGreaterThanOrEqual(
      MIN_SIDE_AGREEMENT,
    );
  });

  it('keeps a consolidation on the pleura inside the lung, and leaves the effusion out', () => {
    const chest = createSyntheticChest({ consolidation: true, effusion: true });
    const withStep = segmentLungs(chest.volume).labels.data;
    const without = segmentLungs(chest.volume, { juxtapleural: false }).labels.data;
    // Truth-lung voxels brighter than -300 HU away from vessels: the consolidations.
    let lesion = 0;
    let keptWith = 0;
    let keptWithout = 0;
    let effusion = 0;
    let effusionKept = 0;
    const { data } = chest.volume;
    const [, rows, columns] = chest.geometry.shape;
    for (let n = 0; n < data.length; n++) {
      const j = n % columns;
      const i = Math.floor(n / columns) % rows;
      if (chest.truth[n] === 1 && data[n]! > -200 && j < columns * 0.2) {
        lesion++;
        if (withStep[n] !== 0) keptWith++;
        if (without[n] !== 0) keptWithout++;
      }
      if (chest.truth[n] === 0 && data[n]! > -200 && data[n]! < 100 && i > rows * 0.62) {
        if (j > columns * 0.55 && j < columns * 0.85 && i < rows * 0.72) {
          effusion++;
          if (withStep[n] !== 0) effusionKept++;
        }
      }
    }
    expect(lesion).toBeGreaterThan(50);
    expect(keptWith / lesion).toBeGreaterThan(0.75);
    expect(keptWithout / lesion).toBeLessThan(0.3);
    expect(effusion).toBeGreaterThan(50);
    expect(effusionKept / effusion).toBeLessThan(0.05);
  });

  it('labels by the patient side the direction says, not by the image side', () => {
    const chest = createSyntheticChest();
    const [slices, rows, columns] = chest.geometry.shape;
    // The same patient stored with columns running towards the patient's right.
    const mirrored = new Int16Array(chest.volume.data.length);
    const mirroredTruth = new Uint8Array(chest.truth.length);
    for (let k = 0; k < slices; k++)
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < columns; j++) {
          const from = (k * rows + i) * columns + j;
          const to = (k * rows + i) * columns + (columns - 1 - j);
          mirrored[to] = chest.volume.data[from]!;
          mirroredTruth[to] = chest.truth[from]!;
        }
    const geometry = createGeometry({
      shape: chest.geometry.shape,
      spacingMm: chest.geometry.spacingMm,
      direction: [0, 0, -1, 0, 1, 0, 1, 0, 0],
    });
    const result = segmentLungs(createCtVolume(mirrored, geometry));
    expect(sideAgreement(result.labels.data, mirroredTruth)).toBeGreaterThanOrEqual(
      MIN_SIDE_AGREEMENT,
    );
    // Right lung (1) now sits at high columns.
    const middle = Math.floor(slices * 0.4);
    const row = Math.floor(rows * 0.48);
    expect(result.labels.data[(middle * rows + row) * columns + Math.floor(columns * 0.7)]).toBe(1);
  });

  it('reports volumes in ml and keeps the slices with at least 3 mm2 of lung', () => {
    const chest = createSyntheticChest();
    const result = segmentLungs(chest.volume);
    const counts = [0, 0, 0];
    for (const v of result.labels.data) counts[v]! += 1;
    const mlPerVoxel = voxelVolumeMm3(chest.geometry) / 1000;
    expect(Math.abs(result.rightLungVolumeMl - counts[1]! * mlPerVoxel)).toBeLessThan(ML_TOLERANCE);
    expect(Math.abs(result.leftLungVolumeMl - counts[2]! * mlPerVoxel)).toBeLessThan(ML_TOLERANCE);
    // The synthetic lungs start at slice 1 and end before the last slice.
    expect(result.keptSlices[0]).toBe(1);
    expect(result.keptSlices).not.toContain(0);
    expect(result.keptSlices).not.toContain(chest.geometry.shape[0] - 1);
    for (const k of result.keptSlices) expect(result.sliceAreasMm2[k]).toBeGreaterThanOrEqual(3);

    // A threshold between two slices' areas drops exactly the slices below it.
    const areas = Array.from(result.sliceAreasMm2).filter((a) => a > 0);
    const threshold = [...areas].sort((a, b) => a - b)[2]!;
    const strict = segmentLungs(chest.volume, { minSliceAreaMm2: threshold });
    expect(strict.keptSlices).toEqual(
      result.keptSlices.filter((k) => result.sliceAreasMm2[k]! >= threshold),
    );
  });

  it('reports progress up to done and stops when aborted', () => {
    const chest = createSyntheticChest({ shape: [8, 64, 72], spacingMm: [8, 4.5, 4.5] });
    const events: ProgressEvent[] = [];
    segmentLungs(chest.volume, { onProgress: (e) => events.push(e) });
    expect(events[0]).toMatchObject({ stage: 'lungmask', status: 'start' });
    expect(events.at(-1)).toMatchObject({ status: 'done', fraction: 1 });
    const controller = new AbortController();
    controller.abort();
    try {
      segmentLungs(chest.volume, { signal: controller.signal });
      expect.unreachable();
    } catch (error) {
      expect(isLesionEncError(error, 'ABORTED')).toBe(true);
    }
  });

  it('gives an empty mask for a volume of air, and rejects windowed intensities', () => {
    const air = createCtVolume(new Int16Array(4 * 32 * 32).fill(-1000), { shape: [4, 32, 32] });
    const empty = segmentLungs(air);
    expect(empty.keptSlices).toEqual([]);
    expect(empty.rightLungVolumeMl + empty.leftLungVolumeMl).toBe(0);
    const windowed = createCtVolume(
      new Float32Array(4 * 32 * 32),
      { shape: [4, 32, 32] },
      {
        unit: 'windowed',
      },
    );
    try {
      segmentLungs(windowed);
      expect.unreachable();
    } catch (error) {
      expect(isLesionEncError(error, 'INVALID_VOLUME')).toBe(true);
      expect((error as Error).message).toMatch(/expected a volume in HU/);
    }
  });
});
