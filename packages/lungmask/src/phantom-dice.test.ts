// Dice of the weight-free lung mask against the chest phantom's lung truth, which includes the
// lesions inside the lungs and leaves pleural effusions out.
import { describe, expect, it } from 'vitest';

import { DISEASE_PRESETS, createChestPhantom } from '@lesionenc/phantom';

import { segmentLungs } from './classical';
import { dice } from './testing/dice';

// The target against phantom truth, severe disease included (for severe disease, the
// mean over phantoms; a large consolidation against the heart can cost a single case up to 1 %).
const MIN_DICE_VS_TRUTH = 0.97;
const MIN_SEVERE_CASE_DICE = 0.96;
// 128 x 128 x 64 over the default 360 mm field and 320 mm coverage: 2.8 mm pixels, 5 mm slices.
const MATRIX = 128;
const SLICES = 64;

describe('segmentLungs against the chest phantom', () => {
  it.each([
    ['none', 0],
    ['mild', 0],
    ['mild', 1],
    ['effusion', 0],
    ['effusion', 1],
  ] as const)(
    '%s disease, seed %d: Dice >= 0.97 against lung-with-lesion truth',
    (preset, seed) => {
      const phantom = createChestPhantom({
        seed,
        matrix: MATRIX,
        slices: SLICES,
        disease: DISEASE_PRESETS[preset],
      });
      const { labels } = segmentLungs(phantom.volume);
      expect(dice(labels.data, phantom.lungs.data)).toBeGreaterThanOrEqual(MIN_DICE_VS_TRUTH);
    },
  );

  it('severe disease, eight seeds: mean Dice >= 0.97, none below 0.96', () => {
    const scores = [0, 1, 2, 3, 4, 5, 6, 7].map((seed) => {
      const phantom = createChestPhantom({
        seed,
        matrix: MATRIX,
        slices: SLICES,
        disease: DISEASE_PRESETS.severe,
      });
      return dice(segmentLungs(phantom.volume).labels.data, phantom.lungs.data);
    });
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    expect(mean).toBeGreaterThanOrEqual(MIN_DICE_VS_TRUTH);
    expect(Math.min(...scores)).toBeGreaterThanOrEqual(MIN_SEVERE_CASE_DICE);
  });

  it('takes back consolidations that merge with the mediastinum through the gaps along z', () => {
    const phantom = createChestPhantom({
      seed: 0,
      matrix: MATRIX,
      slices: SLICES,
      disease: DISEASE_PRESETS.severe,
    });
    const withGaps = segmentLungs(phantom.volume).labels.data;
    const without = segmentLungs(phantom.volume, { maxCraniocaudalGapMm: 0 }).labels.data;
    // Consolidation voxels of the truth (lesion label 2) found by each run.
    let consolidation = 0;
    let foundWith = 0;
    let foundWithout = 0;
    for (let n = 0; n < phantom.lesions.data.length; n++) {
      if (phantom.lesions.data[n] !== 2) continue;
      consolidation++;
      if (withGaps[n] !== 0) foundWith++;
      if (without[n] !== 0) foundWithout++;
    }
    expect(consolidation).toBeGreaterThan(1000);
    expect(foundWith).toBeGreaterThan(foundWithout + 0.1 * consolidation);
    expect(dice(withGaps, phantom.lungs.data)).toBeGreaterThan(dice(without, phantom.lungs.data));
  });
});
