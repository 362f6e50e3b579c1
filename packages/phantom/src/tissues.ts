// The tissue classes of the chest phantom, their nominal HU and the range each one is documented to lie in.
import type { LabelClass } from '@lesionenc/base';

/** Voxel values of the phantom's tissue map ({@link ChestPhantom.tissues}). */
export const TISSUE = Object.freeze({
  air: 0,
  fat: 1,
  muscle: 2,
  bone: 3,
  heart: 4,
  greatVessel: 5,
  lung: 6,
  pulmonaryVessel: 7,
  airway: 8,
  airwayWall: 9,
  abdomen: 10,
  effusion: 11,
  spinalCanal: 12,
  groundGlass: 13,
  consolidation: 14,
} as const);

/** A tissue class name, a key of {@link TISSUE}. */
export type TissueName = keyof typeof TISSUE;

/** One tissue with its HU before reconstruction blur and noise. */
export interface TissueHu {
  /** The value the tissue is drawn with (the centre of its texture), HU. */
  readonly nominalHu: number;
  /** Every voxel of the tissue's noise-free volume lies in `[minHu, maxHu]` away from edges. */
  readonly minHu: number;
  readonly maxHu: number;
  /** Where the numbers come from. */
  readonly note: string;
}

/**
 * Documented HU of every tissue class. The noise-free volume ({@link ChestPhantom.ideal}) draws
 * each tissue within its range; the reconstructed volume adds blur (partial volume at edges) and
 * noise around it. Pulmonary vessel voxels are those at least 90 % filled by a vessel, which
 * puts their lower bound well above the lung's.
 */
export const TISSUE_HU: Readonly<Record<TissueName, TissueHu>> = Object.freeze({
  air: { nominalHu: -1000, minHu: -1024, maxHu: -990, note: 'room air' },
  fat: { nominalHu: -100, minHu: -130, maxHu: -70, note: 'subcutaneous and mediastinal fat' },
  muscle: {
    nominalHu: 45,
    minHu: 30,
    maxHu: 60,
    note: 'skin, chest wall, intercostal and paraspinal muscle, diaphragm, oesophagus',
  },
  bone: {
    nominalHu: 350,
    minHu: 200,
    maxHu: 900,
    note: 'cancellous bone about 250-350, cortex of ribs, sternum and vertebrae about 700-800',
  },
  heart: { nominalHu: 40, minHu: 30, maxHu: 50, note: 'unenhanced blood and myocardium' },
  greatVessel: { nominalHu: 42, minHu: 30, maxHu: 55, note: 'unenhanced aorta and vena cava' },
  lung: {
    nominalHu: -850,
    minHu: -920,
    maxHu: -760,
    note: 'aerated parenchyma; about 40 HU denser in the dependent (posterior) lung',
  },
  pulmonaryVessel: {
    nominalHu: 40,
    minHu: -100,
    maxHu: 50,
    note: 'intrapulmonary arteries and veins (voxels at least 90 % vessel)',
  },
  airway: { nominalHu: -1000, minHu: -1010, maxHu: -960, note: 'lumen of trachea and bronchi' },
  airwayWall: { nominalHu: 20, minHu: 0, maxHu: 40, note: 'walls of trachea and bronchi' },
  abdomen: { nominalHu: 55, minHu: 45, maxHu: 65, note: 'liver and spleen below the diaphragm' },
  effusion: { nominalHu: 15, minHu: 0, maxHu: 30, note: 'simple pleural fluid' },
  spinalCanal: { nominalHu: 20, minHu: 10, maxHu: 30, note: 'spinal cord and cerebrospinal fluid' },
  groundGlass: {
    nominalHu: -550,
    minHu: -750,
    maxHu: -300,
    note: 'ground-glass opacity, crazy paving reticulation included; hazy rim towards -750',
  },
  consolidation: {
    nominalHu: 10,
    minHu: -100,
    maxHu: 50,
    note: 'consolidation (air bronchograms inside it are tissue `airway`)',
  },
});

/** The class table of the tissue map. */
export const TISSUE_CLASSES: readonly LabelClass[] = Object.freeze(
  (Object.keys(TISSUE) as TissueName[]).map((name) => Object.freeze({ value: TISSUE[name], name })),
);

/** Nominal HU per tissue value, for fast lookup in hot loops. */
export const NOMINAL_HU_BY_TISSUE: Float32Array = (() => {
  const table = new Float32Array(256);
  for (const name of Object.keys(TISSUE) as TissueName[]) {
    table[TISSUE[name]] = TISSUE_HU[name].nominalHu;
  }
  return table;
})();
