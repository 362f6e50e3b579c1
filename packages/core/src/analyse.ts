// One scan through the image stages of the pipeline: lung mask and slice selection, the lesion
// encoder on the kept slices, lesion labels kept to the lungs and pleural space, volumetrics.
import {
  type CtVolume,
  LESION_CLASSES,
  type LabelClass,
  type LabelMap,
  LesionEncError,
  type LongTaskOptions,
  createLabelMap,
  subProgress,
  throwIfAborted,
} from '@lesionenc/base';
import type { LesionUnet } from '@lesionenc/lesion-encoder';
import { type LungSegmentation, type SegmentLungsOptions, segmentLungs } from '@lesionenc/lungmask';

import { encodeSlices, prepareSlices } from './internal/encode';
import type { LesionEncoderPool } from './pool';
import {
  type ScanVolumetrics,
  VOLUMETRIC_FEATURE_NAMES,
  restrictAndMeasure,
  volumetricFeatures,
} from './internal/volumetrics';

export { VOLUMETRIC_FEATURE_NAMES, type ScanVolumetrics };
export type { ClassVolume } from './internal/volumetrics';

// The paper's table (with its colours) for four-class networks, else one entry per class name.
function classTable(names: readonly string[]): readonly LabelClass[] {
  if (names.length === LESION_CLASSES.length) return LESION_CLASSES;
  return names.map((name, value) => ({ value, name }));
}

// Exactly one of a network and a pool, with a fixed input size.
function chooseEncoder(
  what: string,
  options: { unet?: LesionUnet; pool?: LesionEncoderPool },
): {
  encoder: { unet: LesionUnet } | { pool: LesionEncoderPool };
  inputSizePx: readonly [number, number];
} {
  const { unet, pool } = options;
  if ((unet === undefined) === (pool === undefined)) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `${what}: expected exactly one of unet and pool, got ${unet === undefined ? 'neither' : 'both'}`,
    );
  }
  const inputSizePx = (unet?.config ?? pool!.config).inputSizePx;
  if (inputSizePx === null) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `${what} unet.config.inputSizePx: expected a fixed [rows, columns], got null`,
    );
  }
  return { encoder: unet !== undefined ? { unet } : { pool: pool! }, inputSizePx };
}

/** Defaults of {@link AnalyseScanOptions}. */
export const DEFAULT_ANALYSE_SCAN: Readonly<{
  memoryBudgetBytes: number;
  pleuralMarginMm: number;
}> = Object.freeze({
  /** Activations of one forward batch; 512 MiB keeps a 256x256 B0 batch of 8 in the wasm heap. */
  memoryBudgetBytes: 512 * 2 ** 20,
  /** Width of the band around each lung where pleural effusion is kept. */
  pleuralMarginMm: 15,
});

/** Options of {@link analyseScan}. */
export interface AnalyseScanOptions extends LongTaskOptions {
  /**
   * The lesion U-Net with a fixed input size, run on this thread. Owned by the caller; not
   * disposed here. Give either this or `pool`.
   */
  unet?: LesionUnet;
  /** Worker threads holding the network, to use every core. Owned by the caller. */
  pool?: LesionEncoderPool;
  /** Bytes the activations of one forward batch may take. @defaultValue 512 MiB */
  memoryBudgetBytes?: number;
  /** Band around the lungs where effusion counts, mm. @defaultValue 15 */
  pleuralMarginMm?: number;
  /**
   * Run the network's encoder only: the feature sequence without lesion labels, several times
   * cheaper (for example for a generic encoder whose labels mean nothing). The lesion labels are
   * then all background and the lesion volumetrics zero. @defaultValue false
   */
  featuresOnly?: boolean;
  /** Options of the lung segmentation (thresholds, the 3 mm² slice rule). */
  lungmask?: Omit<SegmentLungsOptions, 'onProgress' | 'signal'>;
}

/** What {@link analyseScan} found in one scan. Plain data: nothing to dispose. */
export interface ScanAnalysis {
  /** Lung labels (1 right, 2 left), lung volumes and the kept slices. */
  readonly lungs: LungSegmentation;
  /** Lesion labels ({@link LESION_CLASSES}) on the scan's grid, inside lungs and pleural space. */
  readonly lesions: LabelMap;
  readonly volumetrics: ScanVolumetrics;
  /** The four BS_Volumetric features, in {@link VOLUMETRIC_FEATURE_NAMES} order. */
  readonly volumetricFeatures: readonly number[];
  /** One bottleneck vector per kept slice: `[keptSlices.length, featureSize]`, row-major. */
  readonly features: Float32Array;
  readonly featureSize: number;
  /** Slice indices of the rows of `features`, ascending (those with at least 3 mm² of lung). */
  readonly keptSlices: readonly number[];
  /** Slices per forward pass the memory budget allowed. */
  readonly batchSize: number;
  /** Wall time per stage, ms. */
  readonly timingsMs: Readonly<{ lungmask: number; encoder: number; volumetrics: number }>;
}

/**
 * Runs the image stages of the LesionEncoder pipeline on one CT volume in HU (paper sections 3.1
 * and 3.2): lung segmentation with slice selection, the lesion U-Net on every kept slice (one
 * lesion label map and one feature vector per slice, from the same forward pass), lesion labels
 * restricted to the lungs (ground-glass, consolidation) and the pleural space (effusion), and
 * lesion volumes per class and per lung.
 *
 * Every tensor made here is released before it returns.
 *
 * @param volume - The scan, HU, `[slices, rows, columns]`.
 * @param options - The network, memory budget, lung-mask options, progress and cancellation.
 * @returns Masks, volumetrics and the feature sequence.
 * @throws {@link LesionEncError} `INVALID_VOLUME` for a volume not in HU, `INVALID_ARGUMENT` for a
 * network without a fixed input size or a bad option, `ABORTED` when the signal fires.
 * @example
 * ```ts
 * const unet = createLesionUnet({ inputSizePx: [256, 256] });
 * const scan = await analyseScan(await readNifti('ct.nii.gz'), { unet });
 * console.log(scan.volumetrics.lesion.percentOfLung, scan.features.length / scan.featureSize);
 * unet.dispose();
 * ```
 */
export async function analyseScan(
  volume: CtVolume,
  options: AnalyseScanOptions,
): Promise<ScanAnalysis> {
  const memoryBudgetBytes = options.memoryBudgetBytes ?? DEFAULT_ANALYSE_SCAN.memoryBudgetBytes;
  const pleuralMarginMm = options.pleuralMarginMm ?? DEFAULT_ANALYSE_SCAN.pleuralMarginMm;
  if (!(memoryBudgetBytes > 0) || !(pleuralMarginMm >= 0)) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `analyseScan: expected memoryBudgetBytes > 0 and pleuralMarginMm >= 0, got ${memoryBudgetBytes} and ${pleuralMarginMm}`,
    );
  }
  const { encoder, inputSizePx } = chooseEncoder('analyseScan', options);
  const { signal, onProgress } = options;
  throwIfAborted(signal, 'analyseScan');

  // The lung mask takes a fifth of the expected time, the encoder most of the rest.
  let started = performance.now();
  const lungs = segmentLungs(volume, {
    ...options.lungmask,
    signal,
    onProgress: subProgress(onProgress, 0, 0.2),
  });
  const lungmaskMs = performance.now() - started;

  started = performance.now();
  const kept = lungs.keptSlices;
  const inputs = prepareSlices(volume, kept, inputSizePx, signal);
  const encodeProgress = subProgress(onProgress, 0.2, 0.95);
  const encoded = await encodeSlices(encoder, volume.geometry, kept, inputs, {
    memoryBudgetBytes,
    featuresOnly: options.featuresOnly === true,
    signal,
    onSlices: (done) =>
      encodeProgress?.({
        stage: 'encode',
        status: 'progress',
        fraction: kept.length > 0 ? done / kept.length : 1,
        completed: done,
        total: kept.length,
      }),
  });
  const encoderMs = performance.now() - started;

  started = performance.now();
  throwIfAborted(signal, 'analyseScan');
  const measured = measureLesions(encoded.labels, lungs.labels, { pleuralMarginMm });
  const volumetricsMs = performance.now() - started;
  onProgress?.({ stage: 'volumetrics', status: 'done', fraction: 1 });

  return {
    // The lung mask completed with the consolidation at its border.
    lungs: {
      ...lungs,
      labels: createLabelMap(measured.lungs, volume.geometry, lungs.labels.classes),
      rightLungVolumeMl: measured.volumetrics.rightLungVolumeMl,
      leftLungVolumeMl: measured.volumetrics.leftLungVolumeMl,
    },
    lesions: createLabelMap(measured.labels, volume.geometry, LESION_CLASSES),
    volumetrics: measured.volumetrics,
    volumetricFeatures: measured.volumetricFeatures,
    features: encoded.features,
    featureSize: encoded.featureSize,
    keptSlices: kept,
    batchSize: encoded.batchSize,
    timingsMs: Object.freeze({
      lungmask: lungmaskMs,
      encoder: encoderMs,
      volumetrics: volumetricsMs,
    }),
  };
}

/**
 * Per kept slice of an analysed scan, the share of its lung voxels each lesion class (labels 1,
 * 2, 3) covers, rounded to 1e-5: `[class - 1][slice]`. Pleural effusion lies outside the lung
 * mask, so its share is of the same slice's lung area and may exceed 1.
 *
 * @param analysis - Lung labels, lesion labels and kept slices of one scan.
 * @returns Three rows of `keptSlices.length` values.
 */
export function sliceLesionShares(
  analysis: Pick<ScanAnalysis, 'lungs' | 'lesions' | 'keptSlices'>,
): number[][] {
  const [, rows, columns] = analysis.lesions.geometry.shape;
  const plane = rows * columns;
  const lung = analysis.lungs.labels.data;
  const lesions = analysis.lesions.data;
  const shares = [[], [], []] as number[][];
  for (const k of analysis.keptSlices) {
    const counts = [0, 0, 0, 0];
    let lungVoxels = 0;
    for (let j = k * plane; j < (k + 1) * plane; j++) {
      if (lung[j]! > 0) lungVoxels++;
      const label = lesions[j]!;
      if (label >= 1 && label <= 3) counts[label]!++;
    }
    for (let c = 1; c <= 3; c++) {
      shares[c - 1]!.push(lungVoxels === 0 ? 0 : Math.round((counts[c]! / lungVoxels) * 1e5) / 1e5);
    }
  }
  return shares;
}

/**
 * The lung area of each kept slice, in mm²: lung voxels times the in-plane pixel area. Weighting
 * {@link sliceLesionShares} by these areas (over their mean) gives per-slice values whose mean
 * is the lesion share of the whole lung.
 *
 * @param analysis - From {@link analyseScan} (the lungs and the kept slices).
 * @returns One area per kept slice, aligned with `keptSlices`, rounded to 0.01 mm².
 */
export function sliceLungAreasMm2(analysis: Pick<ScanAnalysis, 'lungs' | 'keptSlices'>): number[] {
  const { shape, spacingMm } = analysis.lungs.labels.geometry;
  const plane = shape[1] * shape[2];
  const pixelMm2 = spacingMm[1] * spacingMm[2];
  const lung = analysis.lungs.labels.data;
  return analysis.keptSlices.map((k) => {
    let voxels = 0;
    for (let j = k * plane; j < (k + 1) * plane; j++) if (lung[j]! > 0) voxels++;
    return Math.round(voxels * pixelMm2 * 100) / 100;
  });
}

/** What {@link measureLesions} returns. */
export interface LesionMeasurement {
  /** The lesion labels kept (a new array, on the lungs' grid). */
  readonly labels: Uint8Array;
  /**
   * The lung labels completed with the consolidation found in the pleural band (a new array):
   * what the volumetrics measure as lung.
   */
  readonly lungs: Uint8Array;
  readonly volumetrics: ScanVolumetrics;
  /** The four BS_Volumetric features, in {@link VOLUMETRIC_FEATURE_NAMES} order. */
  readonly volumetricFeatures: readonly number[];
}

/**
 * Keeps ground-glass inside the lungs, consolidation and effusion inside the lungs or a band
 * around them, completes the lungs with the consolidation of the band (a threshold lung mask
 * leaves out dense lesions at its border), then measures every class in ml and % of lung, per
 * lung and in total.
 * Works on any lesion labels on the lung mask's grid: the encoder's, a reader's, a phantom's.
 *
 * @param lesionLabels - Lesion labels ({@link LESION_CLASSES} values), one per voxel.
 * @param lungs - Lung labels, 1 right and 2 left, with their geometry.
 * @param options - Width of the pleural band, mm. @defaultValue 15
 * @returns The kept labels and their volumetrics.
 * @throws {@link LesionEncError} `SHAPE_MISMATCH` when the sizes differ, `INVALID_ARGUMENT` for a
 * negative band.
 */
export function measureLesions(
  lesionLabels: Uint8Array,
  lungs: LabelMap,
  options: { pleuralMarginMm?: number } = {},
): LesionMeasurement {
  const pleuralMarginMm = options.pleuralMarginMm ?? DEFAULT_ANALYSE_SCAN.pleuralMarginMm;
  if (lesionLabels.length !== lungs.data.length) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `measureLesions: expected ${lungs.data.length} lesion labels (the lung grid), got ${lesionLabels.length}`,
    );
  }
  if (!(pleuralMarginMm >= 0)) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `measureLesions pleuralMarginMm: expected >= 0, got ${pleuralMarginMm}`,
    );
  }
  const {
    labels,
    lungs: completed,
    volumetrics,
  } = restrictAndMeasure(lesionLabels, lungs.data, lungs.geometry, pleuralMarginMm);
  return {
    labels,
    lungs: completed,
    volumetrics,
    volumetricFeatures: Object.freeze(volumetricFeatures(volumetrics)),
  };
}

/** What {@link analyseSliceImages} returns. Plain data: nothing to dispose. */
export interface SliceImageAnalysis {
  /** Lesion labels on the images' grid (every pixel: these images carry no lung mask). */
  readonly lesions: LabelMap;
  /** One vector per slice: `[slices, featureSize]`, row-major. */
  readonly features: Float32Array;
  readonly featureSize: number;
  readonly timingsMs: Readonly<{ encoder: number }>;
}

/**
 * Runs the lesion encoder on already-windowed 2D slices (PNG/JPG slice sets, `unit: 'windowed'`),
 * which have no HU for a lung mask: every slice is encoded whole, with the same input mapping as
 * the training slices. For HU volumes use {@link analyseScan}.
 *
 * @param volume - One or more slices, `unit: 'windowed'` (8-bit grey).
 * @param options - The network or a pool, memory budget, progress and cancellation.
 * @returns Labels at the images' size and one feature vector per slice.
 * @throws {@link LesionEncError} `INVALID_VOLUME` for a volume in HU, `INVALID_ARGUMENT` as
 * {@link analyseScan}.
 */
export async function analyseSliceImages(
  volume: CtVolume,
  options: Omit<AnalyseScanOptions, 'lungmask' | 'pleuralMarginMm'>,
): Promise<SliceImageAnalysis> {
  if (volume.unit !== 'windowed') {
    throw new LesionEncError(
      'INVALID_VOLUME',
      `analyseSliceImages: expected already-windowed slices (unit windowed), got ${volume.unit}; use analyseScan for HU volumes`,
    );
  }
  const { encoder, inputSizePx } = chooseEncoder('analyseSliceImages', options);
  const started = performance.now();
  const all = Array.from({ length: volume.geometry.shape[0] }, (_, k) => k);
  const inputs = prepareSlices(volume, all, inputSizePx, options.signal);
  const encoded = await encodeSlices(encoder, volume.geometry, all, inputs, {
    memoryBudgetBytes: options.memoryBudgetBytes ?? DEFAULT_ANALYSE_SCAN.memoryBudgetBytes,
    signal: options.signal,
    onSlices: (done) =>
      options.onProgress?.({
        stage: 'encode',
        status: 'progress',
        fraction: done / all.length,
        completed: done,
        total: all.length,
      }),
  });
  return {
    lesions: createLabelMap(
      encoded.labels,
      volume.geometry,
      classTable(('unet' in encoder ? encoder.unet : encoder.pool).config.classes),
    ),
    features: encoded.features,
    featureSize: encoded.featureSize,
    timingsMs: Object.freeze({ encoder: performance.now() - started }),
  };
}
