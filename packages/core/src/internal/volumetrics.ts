// Lesion labels restricted to the lungs and the pleural space, and the volumetrics of one scan
// (ml and % of lung per class and per lung; the four BS_Volumetric features).
import { type AxisTriple, type VolumeGeometry, voxelVolumeMm3 } from '@lesionenc/base';
import { dilateMask2d } from '@lesionenc/preprocess';

/** Label values of the lesion map (as `LESION_CLASSES`). */
export const GROUND_GLASS = 1;
export const CONSOLIDATION = 2;
export const PLEURAL_EFFUSION = 3;
const RIGHT_LUNG = 1;
const LEFT_LUNG = 2;

/** Volumes of one lesion class, ml, and as a share of lung volume, %. */
export interface ClassVolume {
  readonly volumeMl: number;
  readonly rightMl: number;
  readonly leftMl: number;
  /** `volumeMl` over the volume of both lungs, %. */
  readonly percentOfLung: number;
  /** `rightMl` over the right lung's volume, %. */
  readonly rightPercentOfLung: number;
  /** `leftMl` over the left lung's volume, %. */
  readonly leftPercentOfLung: number;
}

/** Lung and lesion volumes of one scan. */
export interface ScanVolumetrics {
  readonly rightLungVolumeMl: number;
  readonly leftLungVolumeMl: number;
  readonly lungVolumeMl: number;
  readonly groundGlass: ClassVolume;
  readonly consolidation: ClassVolume;
  readonly pleuralEffusion: ClassVolume;
  /** Ground-glass plus consolidation. */
  readonly lesion: ClassVolume;
}

/**
 * Keeps ground-glass inside the lungs, consolidation and pleural effusion inside the lungs or the
 * band of `pleuralMarginMm` around them (in-plane), and measures them. A threshold lung mask
 * leaves out dense consolidation at the lung's border (its HU are those of soft tissue), so
 * consolidation in the band joins the lung beside it: the lung is completed with it, as a mask
 * trained on diseased lungs (lungmask's R231) would include it. Ground-glass lies at lung-like HU,
 * inside the mask. Pleural effusion in the band is kept without joining the lung.
 *
 * @param raw - Lesion labels as the network gave them, on the volume's grid.
 * @param lungs - Lung labels (1 right, 2 left) on the same grid.
 * @param geometry - The grid.
 * @param pleuralMarginMm - Width of the pleural band, mm.
 * @returns The kept labels and the completed lung labels (new arrays), and the volumetrics.
 */
export function restrictAndMeasure(
  raw: Uint8Array,
  lungs: Uint8Array,
  geometry: VolumeGeometry,
  pleuralMarginMm: number,
): { labels: Uint8Array; lungs: Uint8Array; volumetrics: ScanVolumetrics } {
  const shape = geometry.shape as AxisTriple;
  const right = new Uint8Array(lungs.length);
  const left = new Uint8Array(lungs.length);
  let outside = false;
  for (let n = 0; n < lungs.length; n++) {
    right[n] = lungs[n] === RIGHT_LUNG ? 1 : 0;
    left[n] = lungs[n] === LEFT_LUNG ? 1 : 0;
    if ((raw[n] === CONSOLIDATION || raw[n] === PLEURAL_EFFUSION) && lungs[n] === 0) {
      outside = true;
    }
  }
  // The bands are only needed to place lesions found outside the lung mask.
  const rightBand = outside
    ? dilateMask2d(right, shape, geometry.spacingMm, pleuralMarginMm)
    : right;
  const leftBand = outside ? dilateMask2d(left, shape, geometry.spacingMm, pleuralMarginMm) : left;
  const completed = Uint8Array.from(lungs);

  // counts[class * 2 + side], side 0 right, 1 left.
  const counts = new Float64Array(8);
  const labels = new Uint8Array(raw.length);
  let rightLung = 0;
  let leftLung = 0;
  for (let n = 0; n < raw.length; n++) {
    const lung = lungs[n]!;
    if (lung === RIGHT_LUNG) rightLung += 1;
    else if (lung === LEFT_LUNG) leftLung += 1;
    const value = raw[n]!;
    if (value === 0) continue;
    let side: number;
    if (lung !== 0) side = lung === RIGHT_LUNG ? 0 : 1;
    else if (value === GROUND_GLASS) continue;
    else if (rightBand[n] !== 0) side = 0;
    else if (leftBand[n] !== 0) side = 1;
    else continue;
    labels[n] = value;
    counts[value * 2 + side]! += 1;
    if (lung === 0 && value === CONSOLIDATION) {
      // Consolidation at the lung's border: part of that lung.
      completed[n] = side === 0 ? RIGHT_LUNG : LEFT_LUNG;
      if (side === 0) rightLung += 1;
      else leftLung += 1;
    }
  }

  const voxelMl = voxelVolumeMm3(geometry) / 1000;
  const rightLungVolumeMl = rightLung * voxelMl;
  const leftLungVolumeMl = leftLung * voxelMl;
  const lungVolumeMl = rightLungVolumeMl + leftLungVolumeMl;
  const percent = (ml: number, of: number) => (of > 0 ? (100 * ml) / of : 0);
  const classVolume = (rightCount: number, leftCount: number): ClassVolume => {
    const rightMl = rightCount * voxelMl;
    const leftMl = leftCount * voxelMl;
    return Object.freeze({
      volumeMl: rightMl + leftMl,
      rightMl,
      leftMl,
      percentOfLung: percent(rightMl + leftMl, lungVolumeMl),
      rightPercentOfLung: percent(rightMl, rightLungVolumeMl),
      leftPercentOfLung: percent(leftMl, leftLungVolumeMl),
    });
  };
  const at = (value: number, side: number) => counts[value * 2 + side]!;
  return {
    labels,
    lungs: completed,
    volumetrics: Object.freeze({
      rightLungVolumeMl,
      leftLungVolumeMl,
      lungVolumeMl,
      groundGlass: classVolume(at(GROUND_GLASS, 0), at(GROUND_GLASS, 1)),
      consolidation: classVolume(at(CONSOLIDATION, 0), at(CONSOLIDATION, 1)),
      pleuralEffusion: classVolume(at(PLEURAL_EFFUSION, 0), at(PLEURAL_EFFUSION, 1)),
      lesion: classVolume(
        at(GROUND_GLASS, 0) + at(CONSOLIDATION, 0),
        at(GROUND_GLASS, 1) + at(CONSOLIDATION, 1),
      ),
    }),
  };
}

/** Names of the four BS_Volumetric features, in the order {@link volumetricFeatures} gives them. */
export const VOLUMETRIC_FEATURE_NAMES: readonly string[] = Object.freeze([
  'right_ground_glass_percent_of_lung',
  'left_ground_glass_percent_of_lung',
  'right_consolidation_percent_of_lung',
  'left_consolidation_percent_of_lung',
]);

/**
 * The four features of the volumetric baseline (paper section 4.1, BS_Volumetric): ground-glass
 * and consolidation as a percentage of each lung.
 *
 * @param v - The scan's volumetrics.
 * @returns Four numbers in {@link VOLUMETRIC_FEATURE_NAMES} order.
 */
export function volumetricFeatures(v: ScanVolumetrics): number[] {
  return [
    v.groundGlass.rightPercentOfLung,
    v.groundGlass.leftPercentOfLung,
    v.consolidation.rightPercentOfLung,
    v.consolidation.leftPercentOfLung,
  ];
}
