// createChestPhantom: one synthetic chest CT in HU with exact lung, lesion and tissue label maps.
import {
  type CtVolume,
  type LabelClass,
  type LabelMap,
  LESION_CLASSES,
  LUNG_CLASSES,
  LesionEncError,
  type VolumeGeometry,
  createCtVolume,
  createGeometry,
  createLogger,
  createRandom,
  describeValue,
} from '@lesionenc/base';

import {
  type ChestPhantomConfig,
  type ChestPhantomInit,
  DEFAULT_CHEST_PHANTOM,
  type LesionSpec,
  RECONSTRUCTION_KERNELS,
  type Reconstruction,
} from './config';
import { type PhantomGrid, drawAnatomy } from './internal/anatomy';
import { drawLesionSpecs, drawLesions } from './internal/lesions';
import { reconstruct } from './internal/reconstruct';
import { drawAirways, drawVessels, growTree } from './internal/trees';
import { TISSUE, TISSUE_CLASSES } from './tissues';

const logger = createLogger('lesionenc.phantom');

/** Volumes of one lesion class, ml, and as a share of lung volume, %. */
export interface ClassVolumetrics {
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

/**
 * The exact volumetrics of a phantom, counted from its label maps. Lung volumes include the
 * ground-glass and consolidation inside the lungs and exclude pleural effusion (which lies
 * outside the lung); the effusion's "% of lung" is its volume over the lung on the same side.
 */
export interface PhantomTruth {
  /** Volume of one voxel, ml. */
  readonly voxelVolumeMl: number;
  readonly rightLungMl: number;
  readonly leftLungMl: number;
  readonly lungMl: number;
  readonly groundGlass: ClassVolumetrics;
  readonly consolidation: ClassVolumetrics;
  readonly pleuralEffusion: ClassVolumetrics;
  /** Ground-glass plus consolidation. */
  readonly lesion: ClassVolumetrics;
  /** Ground-glass voxels with crazy-paving reticulation, ml (part of `groundGlass`). */
  readonly crazyPavingMl: number;
  /** Consolidation over all lesion volume (ground-glass + consolidation), 0-1; 0 without lesions. */
  readonly consolidationShare: number;
  /** Number of lesions drawn. */
  readonly lesionCount: number;
}

/**
 * One synthetic chest CT with its known truth. Plain data: it holds no resources, so there is
 * nothing to dispose.
 */
export interface ChestPhantom {
  /** The resolved configuration it was made from. */
  readonly config: ChestPhantomConfig;
  /** The reconstructed scan: Int16 HU, `[slices, rows, columns]`, LPS. */
  readonly volume: CtVolume;
  /**
   * Lung label map ({@link LUNG_CLASSES}): 1 right lung, 2 left lung. The patient's right lung
   * lies at low column indices (image left in radiological display; in LPS +x is the patient's
   * left). The label covers the lung parenchyma INCLUDING the ground-glass, consolidation,
   * vessels and intrapulmonary airways inside it, as the truth of a lung segmentation should in
   * a diseased lung. Pleural effusion is NOT lung: it fills the pleural space outside it and
   * compresses the lung. The trachea and the mediastinal parts of the main bronchi are not lung.
   */
  readonly lungs: LabelMap;
  /** Lesion label map ({@link LESION_CLASSES}): 1 ground-glass (crazy paving included), 2 consolidation, 3 pleural effusion. */
  readonly lesions: LabelMap;
  /** Tissue label map ({@link TISSUE_CLASSES}), the class of every voxel of {@link ChestPhantom.ideal}. */
  readonly tissues: LabelMap;
  /** The noise-free HU volume before the slice profile, kernel and noise (Float32). */
  readonly ideal: CtVolume;
  /** The lesions drawn, disease-pattern ones first, then the extra ones. */
  readonly lesionSpecs: readonly LesionSpec[];
  readonly truth: PhantomTruth;
}

/** Largest accepted slice count; 512 x 512 x 1024 is 256 M voxels. */
const MAX_SLICES = 1024;

/**
 * Merges a partial configuration onto the defaults and checks it.
 *
 * @param init - Any part of a configuration.
 * @returns The full, frozen configuration.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` naming the first bad field.
 */
export function resolveChestPhantomConfig(init: ChestPhantomInit = {}): ChestPhantomConfig {
  const base = DEFAULT_CHEST_PHANTOM;
  const disease = { ...base.disease, ...init.disease };
  const config: ChestPhantomConfig = Object.freeze({
    ...base,
    ...init,
    anatomy: Object.freeze({ ...base.anatomy, ...init.anatomy }),
    disease: Object.freeze({
      ...disease,
      effusion: Object.freeze({ ...base.disease.effusion, ...init.disease?.effusion }),
    }),
    extraLesions: Object.freeze([...(init.extraLesions ?? base.extraLesions)]),
  });
  const check = (ok: boolean, what: string, expected: string, got: unknown) => {
    if (!ok) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `phantom ${what}: expected ${expected}, got ${describeValue(got)}`,
      );
    }
  };
  const positive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;
  const within = (x: unknown, low: number, high: number) =>
    typeof x === 'number' && Number.isFinite(x) && x >= low && x <= high;
  check(Number.isInteger(config.seed), 'seed', 'an integer', config.seed);
  check(
    config.noiseSeed === null || Number.isInteger(config.noiseSeed),
    'noiseSeed',
    'an integer or null',
    config.noiseSeed,
  );
  check(
    Number.isInteger(config.matrix) && config.matrix >= 64 && config.matrix <= 512,
    'matrix',
    'an integer in [64, 512]',
    config.matrix,
  );
  check(
    Number.isInteger(config.slices) && config.slices >= 1 && config.slices <= MAX_SLICES,
    'slices',
    `an integer in [1, ${MAX_SLICES}]`,
    config.slices,
  );
  check(
    within(config.fieldOfViewMm, 150, 700),
    'fieldOfViewMm',
    'a number in [150, 700] (mm)',
    config.fieldOfViewMm,
  );
  check(
    positive(config.scanLengthMm),
    'scanLengthMm',
    'a positive length (mm)',
    config.scanLengthMm,
  );
  check(
    config.sliceSpacingMm === 'auto' || positive(config.sliceSpacingMm),
    'sliceSpacingMm',
    "a positive spacing (mm) or 'auto'",
    config.sliceSpacingMm,
  );
  check(
    config.sliceThicknessMm === 'auto' || positive(config.sliceThicknessMm),
    'sliceThicknessMm',
    "a positive thickness (mm) or 'auto'",
    config.sliceThicknessMm,
  );
  check(
    within(config.scanCentreMm, -200, 200),
    'scanCentreMm',
    'a number in [-200, 200] (mm)',
    config.scanCentreMm,
  );
  check(
    config.reconstruction in RECONSTRUCTION_KERNELS,
    'reconstruction',
    "'lung' or 'mediastinal'",
    config.reconstruction,
  );
  check(within(config.noiseScale, 0, 10), 'noiseScale', 'a number in [0, 10]', config.noiseScale);
  const a = config.anatomy;
  check(within(a.bodyScale, 0.7, 1.3), 'anatomy.bodyScale', 'a number in [0.7, 1.3]', a.bodyScale);
  check(within(a.fatScale, 0, 4), 'anatomy.fatScale', 'a number in [0, 4]', a.fatScale);
  check(within(a.lungHu, -900, -800), 'anatomy.lungHu', 'a number in [-900, -800] (HU)', a.lungHu);
  check(
    Number.isInteger(a.vesselTreesPerLung) &&
      a.vesselTreesPerLung >= 0 &&
      a.vesselTreesPerLung <= 12,
    'anatomy.vesselTreesPerLung',
    'an integer in [0, 12]',
    a.vesselTreesPerLung,
  );
  const d = config.disease;
  check(
    within(d.burdenPercent, 0, 80),
    'disease.burdenPercent',
    'a number in [0, 80] (%)',
    d.burdenPercent,
  );
  check(
    within(d.consolidationShare, 0, 1),
    'disease.consolidationShare',
    'a number in [0, 1]',
    d.consolidationShare,
  );
  check(
    within(d.crazyPavingFraction, 0, 1),
    'disease.crazyPavingFraction',
    'a number in [0, 1]',
    d.crazyPavingFraction,
  );
  check(within(d.textureHu, 0, 90), 'disease.textureHu', 'a number in [0, 90] (HU)', d.textureHu);
  check(
    Number.isInteger(d.lesionCount) && d.lesionCount >= 0 && d.lesionCount <= 200,
    'disease.lesionCount',
    'an integer in [0, 200]',
    d.lesionCount,
  );
  check(
    within(d.peripheralFraction, 0, 1),
    'disease.peripheralFraction',
    'a number in [0, 1]',
    d.peripheralFraction,
  );
  check(
    within(d.lowerLobeBias, 0, 1),
    'disease.lowerLobeBias',
    'a number in [0, 1]',
    d.lowerLobeBias,
  );
  check(
    d.laterality === 'bilateral' || d.laterality === 'right' || d.laterality === 'left',
    'disease.laterality',
    "'bilateral', 'right' or 'left'",
    d.laterality,
  );
  check(within(d.elongation, 1, 4), 'disease.elongation', 'a number in [1, 4]', d.elongation);
  check(within(d.lobulation, 0, 0.6), 'disease.lobulation', 'a number in [0, 0.6]', d.lobulation);
  check(
    within(d.effusion.rightMm, 0, 80),
    'disease.effusion.rightMm',
    'a number in [0, 80] (mm)',
    d.effusion.rightMm,
  );
  check(
    within(d.effusion.leftMm, 0, 80),
    'disease.effusion.leftMm',
    'a number in [0, 80] (mm)',
    d.effusion.leftMm,
  );
  return config;
}

/** The slice spacing and thickness a configuration resolves to, mm. */
export function phantomSliceGeometry(config: ChestPhantomConfig): {
  sliceSpacingMm: number;
  sliceThicknessMm: number;
} {
  const sliceSpacingMm =
    config.sliceSpacingMm === 'auto' ? config.scanLengthMm / config.slices : config.sliceSpacingMm;
  const sliceThicknessMm =
    config.sliceThicknessMm === 'auto' ? sliceSpacingMm : config.sliceThicknessMm;
  return { sliceSpacingMm, sliceThicknessMm };
}

function gridOf(config: ChestPhantomConfig): { grid: PhantomGrid; geometry: VolumeGeometry } {
  const { sliceSpacingMm } = phantomSliceGeometry(config);
  const pixelMm = config.fieldOfViewMm / config.matrix;
  const half = ((config.matrix - 1) / 2) * pixelMm;
  const z0 = config.scanCentreMm - ((config.slices - 1) / 2) * sliceSpacingMm;
  const grid: PhantomGrid = {
    slices: config.slices,
    rows: config.matrix,
    columns: config.matrix,
    pixelMm,
    sliceSpacingMm,
    x0: -half,
    y0: -half,
    z0,
  };
  const geometry = createGeometry({
    shape: [config.slices, config.matrix, config.matrix],
    spacingMm: [sliceSpacingMm, pixelMm, pixelMm],
    originMm: [-half, -half, z0],
  });
  return { grid, geometry };
}

/**
 * Makes a synthetic chest CT with exact masks: body wall with fat and muscle, ribs, spine,
 * sternum, heart, aorta, vena cava, trachea and main bronchi, diaphragm domes, two lungs with
 * branching vessel and airway trees, lesions from the disease pattern (ground-glass, crazy
 * paving, consolidation with air bronchograms) and dependent pleural effusion; then the
 * reconstruction's slice profile, kernel and correlated noise.
 *
 * Deterministic: the same configuration gives the same voxels. Each component draws from its
 * own fork of the seeded stream (`anatomy`, `vessels`, `airways`, `lesions`, `noise`), so
 * changing, say, the disease pattern leaves the vessels where they were.
 *
 * @param init - Any part of {@link ChestPhantomConfig}; the rest comes from
 * {@link DEFAULT_CHEST_PHANTOM}.
 * @returns The phantom and its truth.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for a bad configuration.
 * @example
 * ```ts
 * const phantom = createChestPhantom({ seed: 7, matrix: 128, slices: 64, disease: DISEASE_PRESETS.severe });
 * console.log(phantom.truth.lesion.percentOfLung);
 * ```
 */
export function createChestPhantom(init: ChestPhantomInit = {}): ChestPhantom {
  const config = resolveChestPhantomConfig(init);
  const started = performance.now();
  const { grid, geometry } = gridOf(config);
  const random = createRandom(config.seed);

  // Anatomy, with a little variation between seeds.
  const anatomyRandom = random.fork('anatomy');
  const volumes = drawAnatomy(grid, config.anatomy, config.disease.effusion, {
    heartShiftMm: anatomyRandom.uniform(-6, 6),
    domeShiftMm: anatomyRandom.uniform(-8, 8),
    ribPhase: anatomyRandom.uniform(0, 26),
  });

  // Airway and vessel trees from both hila.
  const airwayRandom = random.fork('airways');
  const vesselRandom = random.fork('vessels');
  const minVesselRadiusMm = Math.max(0.35, 0.3 * grid.pixelMm);
  for (let side = 0; side < 2; side++) {
    const hilum = volumes.hilaMm[side] as readonly [number, number, number];
    const lateral = side === 0 ? -1 : 1;
    const airwayRoots: [number, number, number][] = [
      [lateral * 0.5, 0.1, 0.85],
      [lateral * 0.9, -0.3, -0.2],
      [lateral * 0.4, 0.5, -0.8],
    ];
    for (const direction of airwayRoots) {
      const start: [number, number, number] = [hilum[0] + lateral * 4, hilum[1] + 2, hilum[2]];
      const segments = growTree(
        grid,
        volumes,
        airwayRandom,
        {
          start,
          direction,
          radiusMm: 4.5,
          lengthMm: 26,
        },
        0.9,
      );
      drawAirways(grid, volumes, segments);
    }
    for (let t = 0; t < config.anatomy.vesselTreesPerLung; t++) {
      // Roots fan out over the hemithorax: up, lateral and down, front and back.
      const elevation = -0.95 + (1.9 * (t + 0.5)) / config.anatomy.vesselTreesPerLung;
      const direction: [number, number, number] = [
        lateral * vesselRandom.uniform(0.4, 0.9),
        vesselRandom.uniform(-0.6, 0.6),
        elevation + vesselRandom.uniform(-0.15, 0.15),
      ];
      const start: [number, number, number] = [
        hilum[0] + vesselRandom.uniform(-3, 3),
        hilum[1] + vesselRandom.uniform(-8, 4),
        hilum[2] + vesselRandom.uniform(-8, 8),
      ];
      const segments = growTree(
        grid,
        volumes,
        vesselRandom,
        {
          start,
          direction,
          radiusMm: 5.5,
          lengthMm: 30,
        },
        minVesselRadiusMm,
      );
      drawVessels(grid, volumes, segments);
    }
  }

  // Lesions: from the disease pattern, then the hand-placed ones.
  const lesionRandom = random.fork('lesions');
  const lesionSpecs = [
    ...drawLesionSpecs(grid, volumes, config.disease, lesionRandom),
    ...config.extraLesions,
  ];
  const lesionData = new Uint8Array(volumes.tissues.length);
  const crazyPavingMask = new Uint8Array(
    lesionSpecs.some((s) => s.crazyPaving) ? lesionData.length : 0,
  );
  drawLesions(grid, volumes, lesionSpecs, lesionData, crazyPavingMask);
  const { tissues, lungs } = volumes;
  for (let v = 0; v < tissues.length; v++) {
    if (tissues[v] === TISSUE.effusion) lesionData[v] = 3;
  }

  // Reconstruction of the noise-free volume.
  const noiseRandom = createRandom(config.noiseSeed ?? config.seed).fork('noise');
  const { sliceThicknessMm } = phantomSliceGeometry(config);
  const voxels = reconstruct(
    volumes.hu,
    grid,
    RECONSTRUCTION_KERNELS[config.reconstruction],
    sliceThicknessMm,
    config.noiseScale,
    noiseRandom,
  );

  const truth = countTruth(grid, lungs, lesionData, crazyPavingMask, lesionSpecs.length);
  const metadata = {
    source: 'phantom',
    reconstruction: config.reconstruction,
    seed: config.seed,
    sliceThicknessMm,
  };
  const phantom: ChestPhantom = Object.freeze({
    config,
    volume: createCtVolume(voxels, geometry, { metadata }),
    lungs: trustedLabelMap(lungs, geometry, LUNG_CLASSES),
    lesions: trustedLabelMap(lesionData, geometry, LESION_CLASSES),
    tissues: trustedLabelMap(tissues, geometry, TISSUE_CLASSES),
    ideal: createCtVolume(volumes.hu, geometry, { metadata: { ...metadata, noiseFree: true } }),
    lesionSpecs: Object.freeze(lesionSpecs),
    truth,
  });
  logger.debug('phantom drawn', {
    shape: geometry.shape,
    ms: Math.round(performance.now() - started),
    lesionPercentOfLung: truth.lesion.percentOfLung,
  });
  return phantom;
}

/**
 * Another reconstruction of the same acquisition: the phantom's noise-free volume through
 * another kernel, with its own noise.
 *
 * @param phantom - A phantom from {@link createChestPhantom}.
 * @param reconstruction - `lung` (sharp, noisy) or `mediastinal` (smooth).
 * @param options - `noiseSeed` (defaults to the phantom's seed plus one) and `noiseScale`.
 * @returns The volume on the phantom's grid; the phantom's masks apply to it unchanged.
 */
export function reconstructChestPhantom(
  phantom: ChestPhantom,
  reconstruction: Reconstruction,
  options: { noiseSeed?: number; noiseScale?: number } = {},
): CtVolume {
  const kernel = RECONSTRUCTION_KERNELS[reconstruction];
  if (kernel === undefined) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `reconstruction: expected 'lung' or 'mediastinal', got ${describeValue(reconstruction)}`,
    );
  }
  const { grid, geometry } = gridOf(phantom.config);
  const { sliceThicknessMm } = phantomSliceGeometry(phantom.config);
  const seed = options.noiseSeed ?? phantom.config.seed + 1;
  const voxels = reconstruct(
    phantom.ideal.data as Float32Array,
    grid,
    kernel,
    sliceThicknessMm,
    options.noiseScale ?? phantom.config.noiseScale,
    createRandom(seed).fork('noise'),
  );
  return createCtVolume(voxels, geometry, {
    metadata: { source: 'phantom', reconstruction, seed: phantom.config.seed, sliceThicknessMm },
  });
}

/** A label map whose values are known to be in the class table (the phantom wrote them). */
function trustedLabelMap(
  data: Uint8Array,
  geometry: VolumeGeometry,
  classes: readonly LabelClass[],
): LabelMap {
  return Object.freeze({ data, geometry, classes: Object.freeze([...classes]) });
}

function countTruth(
  grid: PhantomGrid,
  lungs: Uint8Array,
  lesions: Uint8Array,
  crazyPavingMask: Uint8Array,
  lesionCount: number,
): PhantomTruth {
  // counts[lesionClass * 3 + lungSide]; effusion is assigned a side by its x position.
  const counts = new Float64Array(12);
  let crazy = 0;
  const { columns } = grid;
  const middle = (columns - 1) / 2;
  for (let v = 0; v < lungs.length; v++) {
    const lesion = lesions[v] as number;
    let side = lungs[v] as number;
    if (lesion === 3) side = v % columns < middle ? 1 : 2;
    counts[lesion * 3 + side] = (counts[lesion * 3 + side] as number) + 1;
    if (lesion === 1 && crazyPavingMask.length > 0 && crazyPavingMask[v] === 1) crazy++;
  }
  const voxelVolumeMl = (grid.pixelMm * grid.pixelMm * grid.sliceSpacingMm) / 1000;
  const ml = (cls: number, side: number) => (counts[cls * 3 + side] as number) * voxelVolumeMl;
  let rightLungMl = 0;
  let leftLungMl = 0;
  for (let cls = 0; cls <= 2; cls++) {
    rightLungMl += ml(cls, 1);
    leftLungMl += ml(cls, 2);
  }
  const lungMl = rightLungMl + leftLungMl;
  const pct = (part: number, whole: number) => (whole > 0 ? (100 * part) / whole : 0);
  const classTruth = (rightMl: number, leftMl: number): ClassVolumetrics =>
    Object.freeze({
      volumeMl: rightMl + leftMl,
      rightMl,
      leftMl,
      percentOfLung: pct(rightMl + leftMl, lungMl),
      rightPercentOfLung: pct(rightMl, rightLungMl),
      leftPercentOfLung: pct(leftMl, leftLungMl),
    });
  const groundGlass = classTruth(ml(1, 1), ml(1, 2));
  const consolidation = classTruth(ml(2, 1), ml(2, 2));
  const lesion = classTruth(
    groundGlass.rightMl + consolidation.rightMl,
    groundGlass.leftMl + consolidation.leftMl,
  );
  return Object.freeze({
    voxelVolumeMl,
    rightLungMl,
    leftLungMl,
    lungMl,
    groundGlass,
    consolidation,
    pleuralEffusion: classTruth(ml(3, 1), ml(3, 2)),
    lesion,
    crazyPavingMl: crazy * voxelVolumeMl,
    consolidationShare: lesion.volumeMl > 0 ? consolidation.volumeMl / lesion.volumeMl : 0,
    lesionCount,
  });
}
