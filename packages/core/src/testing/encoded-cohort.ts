// Test data: an encoded cohort (as encodeCohort writes it) made in code, where severity shows in
// one slice feature and in the volumetrics, and conversion in another slice feature only.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { createRandom } from '@lesionenc/base';
import { writeNpy } from '@lesionenc/io';

/** Features per slice of {@link writeEncodedCohort}'s scans. */
export const TEST_FEATURES = 12;

/**
 * Writes `index.json` and `features/*.npy` for `patients` patients of 1-2 scans each: 30 %
 * severe (patients 0-2 of every ten), 30 % converters (7-9 of every ten, never severe).
 *
 * @param root - Folder to write into.
 * @param patients - Patient count.
 * @param seed - Noise seed.
 * @param signal - Shift of the informative features, in noise standard deviations.
 * @param layout - When set, the slice spacing the records give (`sliceSpacingMm`), how many
 *   times more slices each scan has than the 6-10 of the default layout, and whether records
 *   hold per-slice lesion shares (ground-glass larger in severe patients).
 * @returns The index path.
 */
export async function writeEncodedCohort(
  root: string,
  patients: number,
  seed: number,
  signal = 3,
  layout: { sliceSpacingMm?: number; stepsFactor?: number; lesionShares?: boolean } = {},
): Promise<string> {
  const random = createRandom(seed);
  mkdirSync(join(root, 'features'), { recursive: true });
  const scans = [];
  for (let p = 0; p < patients; p++) {
    const severe = p % 10 < 3 ? 1 : 0;
    const converter = severe === 0 && p % 10 >= 7 ? 1 : 0;
    for (let s = 0; s < 1 + (p % 2); s++) {
      const steps = (6 + Math.floor(random.uniform(0, 5))) * (layout.stepsFactor ?? 1);
      const data = new Float32Array(steps * TEST_FEATURES);
      for (let t = 0; t < steps; t++) {
        for (let f = 0; f < TEST_FEATURES; f++) {
          const shift = (f === 0 ? signal * severe : 0) + (f === 1 ? signal * converter : 0);
          data[t * TEST_FEATURES + f] = shift + random.normal();
        }
      }
      const file = `features/p${p}_s${s}.npy`;
      await writeNpy(join(root, file), { data, shape: [steps, TEST_FEATURES] });
      const burden = 2 + 10 * severe + random.uniform(0, 4);
      scans.push({
        patient: `p${p}`,
        scan: `s${s}`,
        features: file,
        keptSlices: Array.from({ length: steps }, (_, k) => k),
        ...(layout.sliceSpacingMm === undefined ? {} : { sliceSpacingMm: layout.sliceSpacingMm }),
        ...(layout.lesionShares === true
          ? {
              sliceLesionShares: [0.1 + 0.2 * severe, 0.02, 0].map((level) =>
                Array.from({ length: steps }, () => Math.max(0, level + 0.05 * random.normal())),
              ),
            }
          : {}),
        featureSize: TEST_FEATURES,
        volumetrics: {},
        volumetricFeatures: [burden, burden * 0.8, burden * 0.3, burden * 0.2],
        columns: { severe, converter },
      });
    }
  }
  const index = join(root, 'index.json');
  writeFileSync(index, JSON.stringify({ scans }));
  return index;
}
