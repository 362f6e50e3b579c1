// Configuration of one synthetic chest CT: grid, scanner, anatomy and disease, with frozen defaults.

/** The two reconstructions of one acquisition, as in the paper's lung- and mediastinal-window scans. */
export type Reconstruction = 'lung' | 'mediastinal';

/** Which lungs a disease pattern involves. */
export type Laterality = 'bilateral' | 'right' | 'left';

/** How a reconstruction kernel shapes the image. */
export interface ReconstructionKernel {
  /** Gaussian blur of the signal in-plane (standard deviation), mm. */
  readonly psfSigmaMm: number;
  /** Edge enhancement of a sharp kernel: weight of the subtracted Laplacian, 0 for none. */
  readonly sharpening: number;
  /** Standard deviation of the image noise, HU, before `noiseScale`. */
  readonly noiseHu: number;
}

/**
 * The kernels of the two reconstructions. `lung` is sharp and noisy (like a B60f or LUNG
 * kernel), `mediastinal` smooth and quiet (like B30f or STANDARD). Noise is shaped by the
 * kernel, so its grain follows the kernel's sharpness.
 */
export const RECONSTRUCTION_KERNELS: Readonly<Record<Reconstruction, ReconstructionKernel>> =
  Object.freeze({
    lung: Object.freeze({
      psfSigmaMm: 0.4,
      sharpening: 0.15,
      noiseHu: 45,
    }),
    mediastinal: Object.freeze({
      psfSigmaMm: 1.0,
      sharpening: 0,
      noiseHu: 12,
    }),
  });

/** Patient build. */
export interface AnatomyConfig {
  /** Scales the body, thorax and organs in-plane (1 = an average adult, 330 x 230 mm chest). */
  readonly bodyScale: number;
  /** Scales the subcutaneous fat thickness. */
  readonly fatScale: number;
  /** HU of aerated lung parenchyma (anterior lung; the dependent lung is about 40 HU denser). */
  readonly lungHu: number;
  /** Number of vessel trees per lung (each branching from the hilum and tapering). */
  readonly vesselTreesPerLung: number;
}

/** Pleural effusion thickness at the lung base on each side, mm; 0 for none. */
export interface EffusionConfig {
  readonly rightMm: number;
  readonly leftMm: number;
}

/**
 * A disease pattern from which the lesions are drawn. Lesion sizes are set so that the lesions
 * together cover about `burdenPercent` of the lung volume (less where they overlap or are
 * clipped by the lung boundary; {@link ChestPhantom.truth} has the exact figures).
 */
export interface DiseaseConfig {
  /** Intended lesion volume as a percentage of lung volume (ground-glass + consolidation). */
  readonly burdenPercent: number;
  /** Fraction of the lesion volume that is consolidation, 0-1. */
  readonly consolidationShare: number;
  /** Fraction of the ground-glass lesions that show crazy paving, 0-1. */
  readonly crazyPavingFraction: number;
  /** Amplitude of the low-frequency texture inside lesions, HU. */
  readonly textureHu: number;
  /** Number of lesions (foci). */
  readonly lesionCount: number;
  /** Fraction of lesions centred in the subpleural periphery (within 20 mm of the chest wall). */
  readonly peripheralFraction: number;
  /** 0 = lesions spread evenly from apex to base, 1 = strongly in the lower lobes. */
  readonly lowerLobeBias: number;
  readonly laterality: Laterality;
  /** Ratio of the longest to the shortest lesion radius, 1 or more. */
  readonly elongation: number;
  /** Irregularity of lesion outlines, 0 (ellipsoid) to about 0.5 (lobulated). */
  readonly lobulation: number;
  readonly effusion: EffusionConfig;
}

/**
 * One lesion: a lobulated ellipsoid of ground-glass, optionally with a consolidated core (the
 * whole lesion when `consolidationFraction` is 1). Placed by hand through
 * {@link ChestPhantomConfig.extraLesions}, or drawn from the disease pattern.
 */
export interface LesionSpec {
  /** Centre in LPS, mm. */
  readonly centreMm: readonly [number, number, number];
  /** Semi-axes before rotation and lobulation, mm. */
  readonly radiiMm: readonly [number, number, number];
  /** Fraction of the lesion's volume in its consolidated core, 0-1. */
  readonly consolidationFraction: number;
  /** Whether the ground-glass part shows crazy paving (reticulation). */
  readonly crazyPaving: boolean;
  /** Mean HU of the ground-glass part, in [-700, -400]. */
  readonly groundGlassHu: number;
  /** Mean HU of the consolidated part, in [-50, 30]. */
  readonly consolidationHu: number;
  /** Texture amplitude, HU (0-90). */
  readonly textureHu: number;
  /** Outline irregularity, 0-0.5. */
  readonly lobulation: number;
  /** Seed of the lesion's orientation, outline and texture. */
  readonly seed: number;
}

/** Everything that determines one phantom scan. Same config, same voxels. */
export interface ChestPhantomConfig {
  /** Seeds every random choice (anatomy variation, vessels, lesions, noise). */
  readonly seed: number;
  /** Seeds the image noise alone when given, so two reconstructions can share anatomy. */
  readonly noiseSeed: number | null;
  /** In-plane matrix, rows = columns, 64 to 512. */
  readonly matrix: number;
  /** Number of axial slices. */
  readonly slices: number;
  /** Reconstructed field of view (width of the square image), mm. */
  readonly fieldOfViewMm: number;
  /** Craniocaudal coverage, mm; slices are spaced `scanLengthMm / slices` unless set below. */
  readonly scanLengthMm: number;
  /** Distance between slice centres, mm, or `auto` for `scanLengthMm / slices`. */
  readonly sliceSpacingMm: number | 'auto';
  /** Reconstructed slice thickness, mm, or `auto` for the slice spacing. */
  readonly sliceThicknessMm: number | 'auto';
  /** LPS z of the centre of the scanned range, mm (0 is mid-chest, about the lower hilum). */
  readonly scanCentreMm: number;
  readonly reconstruction: Reconstruction;
  /** Multiplies the kernel's noise level (scanner dose and make). */
  readonly noiseScale: number;
  readonly anatomy: AnatomyConfig;
  readonly disease: DiseaseConfig;
  /** Lesions placed by hand. */
  readonly extraLesions: readonly LesionSpec[];
}

/** What {@link createChestPhantom} accepts: any part of a config; nested parts may be partial. */
export type ChestPhantomInit = Partial<Omit<ChestPhantomConfig, 'anatomy' | 'disease'>> & {
  anatomy?: Partial<AnatomyConfig>;
  disease?: Partial<Omit<DiseaseConfig, 'effusion'>> & { effusion?: Partial<EffusionConfig> };
};

/** A healthy chest: no lesions, no effusion. */
export const NO_DISEASE: DiseaseConfig = Object.freeze({
  burdenPercent: 0,
  consolidationShare: 0.2,
  crazyPavingFraction: 0,
  textureHu: 40,
  lesionCount: 0,
  peripheralFraction: 0.7,
  lowerLobeBias: 0.5,
  laterality: 'bilateral',
  elongation: 1.6,
  lobulation: 0.4,
  effusion: Object.freeze({ rightMm: 0, leftMm: 0 }),
});

/** Disease presets for examples and the command line. */
export const DISEASE_PRESETS: Readonly<
  Record<'none' | 'mild' | 'severe' | 'effusion', DiseaseConfig>
> = Object.freeze({
  none: NO_DISEASE,
  mild: Object.freeze({
    ...NO_DISEASE,
    burdenPercent: 3,
    consolidationShare: 0.1,
    lesionCount: 5,
    peripheralFraction: 0.85,
  }),
  severe: Object.freeze({
    ...NO_DISEASE,
    burdenPercent: 30,
    consolidationShare: 0.45,
    crazyPavingFraction: 0.3,
    lesionCount: 14,
    peripheralFraction: 0.6,
    lowerLobeBias: 0.7,
    effusion: Object.freeze({ rightMm: 12, leftMm: 0 }),
  }),
  effusion: Object.freeze({
    ...NO_DISEASE,
    burdenPercent: 4,
    consolidationShare: 0.3,
    lesionCount: 4,
    effusion: Object.freeze({ rightMm: 35, leftMm: 25 }),
  }),
});

/** The default scan: 256 x 256 x 128, 360 mm field of view, 2.5 mm slices, lung kernel, mild disease. */
export const DEFAULT_CHEST_PHANTOM: ChestPhantomConfig = Object.freeze({
  seed: 0,
  noiseSeed: null,
  matrix: 256,
  slices: 128,
  fieldOfViewMm: 360,
  scanLengthMm: 320,
  sliceSpacingMm: 'auto',
  sliceThicknessMm: 'auto',
  scanCentreMm: 0,
  reconstruction: 'lung',
  noiseScale: 1,
  anatomy: Object.freeze({ bodyScale: 1, fatScale: 1, lungHu: -850, vesselTreesPerLung: 5 }),
  disease: DISEASE_PRESETS.mild,
  extraLesions: Object.freeze([]) as readonly LesionSpec[],
} satisfies ChestPhantomConfig);
