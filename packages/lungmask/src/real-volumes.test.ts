// Dice of the weight-free lung mask against the masks shipped with the real HU volumes.
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { readNifti } from '@lesionenc/io';

import { segmentLungs } from './classical';

const dataDir = process.env.LESIONENC_DATA_DIR;
// The target against the masks of ../shared/data/volumes.
const MIN_DICE_VS_REFERENCE = 0.95;

// [volume, mask, threshold above which a mask voxel is lung]. The imlab masks are resampled
// floats with ringing; their README says to threshold at 128.
const CASES: readonly [string, string, number][] = [
  ['lucanode/ct_scan_1_short.nii.gz', 'lucanode/ct_scan_1_short_mask.nii.gz', 0.5],
  ['lucanode/ct_scan_2_short.nii.gz', 'lucanode/ct_scan_2_short_mask.nii.gz', 0.5],
  ['lucanode/ct_scan_3_short.nii.gz', 'lucanode/ct_scan_3_short_mask.nii.gz', 0.5],
  ['imlab/id001-128x128x64.nii.gz', 'imlab/id001-128x128x64-msk.nii.gz', 128],
  ['imlab/id002-128x128x64.nii.gz', 'imlab/id002-128x128x64-msk.nii.gz', 128],
  ['imlab/id003-128x128x64.nii.gz', 'imlab/id003-128x128x64-msk.nii.gz', 128],
  ['imlab/id004-128x128x64.nii.gz', 'imlab/id004-128x128x64-msk.nii.gz', 128],
];

describe.skipIf(dataDir === undefined)('segmentLungs on real HU volumes', () => {
  it.each(CASES)('%s: Dice >= 0.95 against its mask', async (volumeFile, maskFile, threshold) => {
    const root = join(dataDir!, 'volumes');
    const volume = await readNifti(join(root, volumeFile));
    const reference = await readNifti(join(root, maskFile));
    expect(reference.data.length).toBe(volume.data.length);
    const { labels, rightLungVolumeMl, leftLungVolumeMl } = segmentLungs(volume);
    let both = 0;
    let predicted = 0;
    let truth = 0;
    for (let n = 0; n < labels.data.length; n++) {
      const p = labels.data[n]! > 0;
      const t = reference.data[n]! > threshold;
      if (p) predicted++;
      if (t) truth++;
      if (p && t) both++;
    }
    expect((2 * both) / (predicted + truth)).toBeGreaterThanOrEqual(MIN_DICE_VS_REFERENCE);
    // Both lungs were found and told apart.
    expect(Math.min(rightLungVolumeMl, leftLungVolumeMl)).toBeGreaterThan(
      0.3 * Math.max(rightLungVolumeMl, leftLungVolumeMl),
    );
  });
});
