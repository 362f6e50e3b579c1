// Segmentation metrics per class: Dice, IoU, volume difference (ml) and percentile Hausdorff (mm).
import {
  type LabelMap,
  type VolumeGeometry,
  LesionEncError,
  describeValue,
  sameGrid,
  voxelVolumeMm3,
} from '@lesionenc/base';

import { squaredDistanceTransform } from './internal/edt';
import { percentileOfSorted } from './internal/quantile';
import { checkRange } from './internal/validate';

/** A label volume and its grid: a {@link LabelMap} or anything with the same two fields. */
export type LabelVolume = Pick<LabelMap, 'data' | 'geometry'> & Partial<Pick<LabelMap, 'classes'>>;

/** One image (volume or slice) to score: the reference (truth) and the prediction. */
export interface SegmentationPair {
  /** Named in the per-image results. @defaultValue the index as a string */
  readonly id?: string;
  readonly reference: LabelVolume;
  readonly prediction: LabelVolume;
}

/** How the two directed surface-distance sets make one Hausdorff distance. */
export type HausdorffMode = 'pooled' | 'max-directed';

/** Options of {@link evaluateSegmentation} and {@link hausdorffDistanceMm}. */
export interface SegmentationOptions {
  /**
   * Label values to score. @defaultValue the non-zero classes of the first reference's
   * `classes`, or every non-zero value found when it has none
   */
  readonly classes?: readonly number[];
  /**
   * Percentile of the surface distances, 100 for the classic Hausdorff distance.
   * @defaultValue 95
   */
  readonly hausdorffPercentile?: number;
  /**
   * `pooled`: the percentile of both directed distance sets together (medpy's `hd95`);
   * `max-directed`: the larger of the two directed percentiles (MONAI's).
   * @defaultValue 'pooled'
   */
  readonly hausdorffMode?: HausdorffMode;
  /**
   * Whether to compute Hausdorff distances (the costly part).
   * @defaultValue true
   */
  readonly computeHausdorff?: boolean;
}

/** The defaults of {@link SegmentationOptions} (classes aside). */
export const DEFAULT_SEGMENTATION_OPTIONS = Object.freeze({
  hausdorffPercentile: 95,
  hausdorffMode: 'pooled' as HausdorffMode,
  computeHausdorff: true,
});

/** The scores of one class in one image. */
export interface ClassOverlap {
  readonly value: number;
  readonly name: string;
  readonly referenceVoxels: number;
  readonly predictedVoxels: number;
  readonly intersectionVoxels: number;
  /** 2 |R ∩ P| / (|R| + |P|); null when the class is in neither. */
  readonly dice: number | null;
  /** |R ∩ P| / |R ∪ P|; null when the class is in neither. */
  readonly iou: number | null;
  readonly referenceVolumeMl: number;
  readonly predictedVolumeMl: number;
  /** Predicted minus reference volume, ml. */
  readonly volumeDifferenceMl: number;
  /** Percentile Hausdorff distance, mm; null when the class is missing from either image. */
  readonly hausdorffMm: number | null;
}

/** The scores of one image. */
export interface ImageSegmentationMetrics {
  readonly id: string;
  readonly classes: ClassOverlap[];
}

/** A class over all images. */
export interface ClassAggregate {
  readonly value: number;
  readonly name: string;
  /** Images whose reference contains the class; the means below are over these. */
  readonly imagesWithClass: number;
  readonly meanDice: number | null;
  readonly meanIou: number | null;
  /** Dice of all voxels of all images pooled. Null when the class is nowhere. */
  readonly globalDice: number | null;
  readonly globalIou: number | null;
  readonly meanVolumeDifferenceMl: number | null;
  readonly meanAbsoluteVolumeDifferenceMl: number | null;
  /** Mean over the images where both reference and prediction contain the class. */
  readonly meanHausdorffMm: number | null;
  readonly hausdorffImages: number;
}

/** What {@link evaluateSegmentation} returns. */
export interface SegmentationReport {
  readonly perImage: ImageSegmentationMetrics[];
  readonly aggregate: ClassAggregate[];
  readonly hausdorffPercentile: number;
  readonly hausdorffMode: HausdorffMode;
}

function checkPair(pair: SegmentationPair, index: number): void {
  const name = pair.id ?? String(index);
  for (const [role, volume] of [
    ['reference', pair.reference],
    ['prediction', pair.prediction],
  ] as const) {
    const expected = volume.geometry.shape[0] * volume.geometry.shape[1] * volume.geometry.shape[2];
    if (!(volume.data instanceof Uint8Array) || volume.data.length !== expected) {
      throw new LesionEncError(
        'SHAPE_MISMATCH',
        `segmentation image ${name} ${role}: expected a Uint8Array of ${expected} voxels, got ${describeValue(volume.data)}`,
      );
    }
  }
  if (!sameGrid(pair.reference.geometry, pair.prediction.geometry)) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `segmentation image ${name}: expected prediction on the reference grid ` +
        `[${pair.reference.geometry.shape.join(', ')}] at ${pair.reference.geometry.spacingMm.join(' x ')} mm, ` +
        `got [${pair.prediction.geometry.shape.join(', ')}] at ${pair.prediction.geometry.spacingMm.join(' x ')} mm`,
    );
  }
}

// A mask voxel is on the surface when a face neighbour is outside the mask or outside the grid
// (scipy's binary_erosion with the default border). A single slice is treated as a 2D image.
function surfaceOf(mask: Uint8Array, shape: readonly [number, number, number]): Uint8Array {
  const [slices, rows, columns] = shape;
  const plane = rows * columns;
  const surface = new Uint8Array(mask.length);
  const flat = slices === 1;
  for (let k = 0; k < slices; k++) {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < columns; j++) {
        const n = k * plane + i * columns + j;
        if (mask[n] !== 1) continue;
        const edge =
          i === 0 ||
          i === rows - 1 ||
          j === 0 ||
          j === columns - 1 ||
          (!flat && (k === 0 || k === slices - 1));
        if (
          edge ||
          mask[n - 1] !== 1 ||
          mask[n + 1] !== 1 ||
          mask[n - columns] !== 1 ||
          mask[n + columns] !== 1 ||
          (!flat && (mask[n - plane] !== 1 || mask[n + plane] !== 1))
        ) {
          surface[n] = 1;
        }
      }
    }
  }
  return surface;
}

interface Box {
  readonly start: [number, number, number];
  readonly shape: [number, number, number];
}

function boundingBox(masks: Uint8Array[], shape: readonly [number, number, number]): Box {
  const [slices, rows, columns] = shape;
  const lo: [number, number, number] = [slices, rows, columns];
  const hi: [number, number, number] = [-1, -1, -1];
  for (const mask of masks) {
    for (let n = 0; n < mask.length; n++) {
      if (mask[n] !== 1) continue;
      const j = n % columns;
      const i = Math.floor(n / columns) % rows;
      const k = Math.floor(n / (rows * columns));
      lo[0] = Math.min(lo[0], k);
      lo[1] = Math.min(lo[1], i);
      lo[2] = Math.min(lo[2], j);
      hi[0] = Math.max(hi[0], k);
      hi[1] = Math.max(hi[1], i);
      hi[2] = Math.max(hi[2], j);
    }
  }
  return { start: lo, shape: [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1] };
}

function crop(mask: Uint8Array, shape: readonly [number, number, number], box: Box): Uint8Array {
  const [, rows, columns] = shape;
  const [bs, br, bc] = box.shape;
  const out = new Uint8Array(bs * br * bc);
  for (let k = 0; k < bs; k++) {
    for (let i = 0; i < br; i++) {
      const from = ((box.start[0] + k) * rows + box.start[1] + i) * columns + box.start[2];
      out.set(mask.subarray(from, from + bc), (k * br + i) * bc);
    }
  }
  return out;
}

// Distances (mm) from each surface voxel of `from` to the nearest surface voxel of `to`.
function directedDistances(
  fromSurface: Uint8Array,
  toSurface: Uint8Array,
  shape: readonly [number, number, number],
  spacingMm: readonly [number, number, number],
): Float64Array {
  const squared = squaredDistanceTransform(toSurface, shape, spacingMm);
  const out: number[] = [];
  for (let n = 0; n < fromSurface.length; n++) {
    if (fromSurface[n] === 1) out.push(Math.sqrt(squared[n] as number));
  }
  return Float64Array.from(out);
}

/**
 * Percentile Hausdorff distance between two binary masks on one grid, in mm, with the grid's
 * (possibly anisotropic) spacing. Surface voxels are found with 6-connectivity (4 in a single
 * slice) and their distances to the other surface come from an exact Euclidean distance
 * transform, so the result equals a brute-force search over surface pairs.
 *
 * @param reference - 1 inside the reference, `[slices, rows, columns]` order.
 * @param prediction - 1 inside the prediction, same grid.
 * @param geometry - The grid (shape and spacing).
 * @param options - Percentile (95) and how the two directions combine (`pooled`).
 * @returns The distance in mm, or null when either mask is empty.
 * @throws {@link LesionEncError} `SHAPE_MISMATCH` when a mask does not fit the grid,
 * `INVALID_ARGUMENT` for a percentile outside [0, 100].
 */
export function hausdorffDistanceMm(
  reference: Uint8Array,
  prediction: Uint8Array,
  geometry: Pick<VolumeGeometry, 'shape' | 'spacingMm'>,
  options: Pick<SegmentationOptions, 'hausdorffPercentile' | 'hausdorffMode'> = {},
): number | null {
  const percentile = checkRange(
    'hausdorffDistanceMm percentile',
    options.hausdorffPercentile ?? DEFAULT_SEGMENTATION_OPTIONS.hausdorffPercentile,
    0,
    100,
  );
  const mode = options.hausdorffMode ?? DEFAULT_SEGMENTATION_OPTIONS.hausdorffMode;
  if (mode !== 'pooled' && mode !== 'max-directed') {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `hausdorffMode: expected 'pooled' or 'max-directed', got ${describeValue(mode)}`,
    );
  }
  const shape = geometry.shape;
  const count = shape[0] * shape[1] * shape[2];
  if (reference.length !== count || prediction.length !== count) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `hausdorffDistanceMm: expected masks of ${count} voxels, got ${reference.length} and ${prediction.length}`,
    );
  }
  if (!reference.includes(1) || !prediction.includes(1)) return null;

  const box = boundingBox([reference, prediction], shape);
  const refSurface = crop(surfaceOf(reference, shape), shape, box);
  const predSurface = crop(surfaceOf(prediction, shape), shape, box);
  const toRef = directedDistances(predSurface, refSurface, box.shape, geometry.spacingMm);
  const toPred = directedDistances(refSurface, predSurface, box.shape, geometry.spacingMm);
  if (mode === 'pooled') {
    const pooled = new Float64Array(toRef.length + toPred.length);
    pooled.set(toRef, 0);
    pooled.set(toPred, toRef.length);
    return percentileOfSorted(pooled.sort(), percentile);
  }
  return Math.max(
    percentileOfSorted(toRef.sort(), percentile),
    percentileOfSorted(toPred.sort(), percentile),
  );
}

function maskOf(data: Uint8Array, value: number): Uint8Array {
  const mask = new Uint8Array(data.length);
  for (let n = 0; n < data.length; n++) if (data[n] === value) mask[n] = 1;
  return mask;
}

function classesToScore(
  pairs: readonly SegmentationPair[],
  options: SegmentationOptions,
): number[] {
  if (options.classes !== undefined) {
    for (const value of options.classes) {
      if (!Number.isInteger(value) || value < 0 || value > 255) {
        throw new LesionEncError(
          'INVALID_ARGUMENT',
          `segmentation classes: expected label values in 0..255, got ${describeValue(value)}`,
        );
      }
    }
    return [...options.classes];
  }
  const declared = pairs[0]?.reference.classes;
  if (declared !== undefined && declared.length > 0) {
    return declared.map((c) => c.value).filter((v) => v !== 0);
  }
  const seen = new Set<number>();
  for (const pair of pairs) {
    for (const data of [pair.reference.data, pair.prediction.data]) {
      for (let n = 0; n < data.length; n++) if (data[n] !== 0) seen.add(data[n] as number);
    }
  }
  return [...seen].sort((a, b) => a - b);
}

const mean = (values: number[]): number | null =>
  values.length === 0 ? null : values.reduce((s, v) => s + v, 0) / values.length;

/**
 * Scores predicted label maps against reference ones, per class and per image, and aggregates:
 * the mean over the images whose reference contains the class, and the global scores of all
 * voxels pooled.
 *
 * @param pairs - Reference and prediction of each image, on identical grids.
 * @param options - Classes, Hausdorff percentile and mode.
 * @returns Per-image and aggregated scores.
 * @throws {@link LesionEncError} `DEGENERATE_INPUT` for no images, `SHAPE_MISMATCH` when a
 * prediction is not on its reference's grid, `INVALID_ARGUMENT` for bad options.
 * @example
 * ```ts
 * const report = evaluateSegmentation([{ id: 'scan-1', reference, prediction }]);
 * report.aggregate.find((c) => c.name === 'ground-glass')?.meanDice;
 * ```
 */
export function evaluateSegmentation(
  pairs: readonly SegmentationPair[],
  options: SegmentationOptions = {},
): SegmentationReport {
  const settings = { ...DEFAULT_SEGMENTATION_OPTIONS, ...options };
  if (pairs.length === 0) {
    throw new LesionEncError(
      'DEGENERATE_INPUT',
      'evaluateSegmentation: expected at least one image, got none',
    );
  }
  checkRange('hausdorffPercentile', settings.hausdorffPercentile, 0, 100);
  pairs.forEach(checkPair);
  const values = classesToScore(pairs, settings);
  const nameOf = (value: number): string =>
    pairs[0]?.reference.classes?.find((c) => c.value === value)?.name ?? `label ${value}`;

  const perImage: ImageSegmentationMetrics[] = pairs.map((pair, index) => {
    const { geometry } = pair.reference;
    const voxelMl = voxelVolumeMm3(geometry) / 1000;
    const classes = values.map((value): ClassOverlap => {
      const ref = pair.reference.data;
      const pred = pair.prediction.data;
      let referenceVoxels = 0;
      let predictedVoxels = 0;
      let intersectionVoxels = 0;
      for (let n = 0; n < ref.length; n++) {
        const inRef = ref[n] === value;
        const inPred = pred[n] === value;
        if (inRef) referenceVoxels++;
        if (inPred) predictedVoxels++;
        if (inRef && inPred) intersectionVoxels++;
      }
      const total = referenceVoxels + predictedVoxels;
      const union = total - intersectionVoxels;
      const hausdorffMm =
        settings.computeHausdorff && referenceVoxels > 0 && predictedVoxels > 0
          ? hausdorffDistanceMm(maskOf(ref, value), maskOf(pred, value), geometry, settings)
          : null;
      return {
        value,
        name: nameOf(value),
        referenceVoxels,
        predictedVoxels,
        intersectionVoxels,
        dice: total === 0 ? null : (2 * intersectionVoxels) / total,
        iou: union === 0 ? null : intersectionVoxels / union,
        referenceVolumeMl: referenceVoxels * voxelMl,
        predictedVolumeMl: predictedVoxels * voxelMl,
        volumeDifferenceMl: (predictedVoxels - referenceVoxels) * voxelMl,
        hausdorffMm,
      };
    });
    return { id: pair.id ?? String(index), classes };
  });

  const aggregate = values.map((value, c): ClassAggregate => {
    const scores = perImage.map((image) => image.classes[c] as ClassOverlap);
    const present = scores.filter((s) => s.referenceVoxels > 0);
    const withDistance = scores.filter((s) => s.hausdorffMm !== null);
    let intersection = 0;
    let total = 0;
    for (const s of scores) {
      intersection += s.intersectionVoxels;
      total += s.referenceVoxels + s.predictedVoxels;
    }
    return {
      value,
      name: nameOf(value),
      imagesWithClass: present.length,
      meanDice: mean(present.map((s) => s.dice as number)),
      meanIou: mean(present.map((s) => s.iou as number)),
      globalDice: total === 0 ? null : (2 * intersection) / total,
      globalIou: total === 0 ? null : intersection / (total - intersection),
      meanVolumeDifferenceMl: mean(present.map((s) => s.volumeDifferenceMl)),
      meanAbsoluteVolumeDifferenceMl: mean(present.map((s) => Math.abs(s.volumeDifferenceMl))),
      meanHausdorffMm: mean(withDistance.map((s) => s.hausdorffMm as number)),
      hausdorffImages: withDistance.length,
    };
  });
  return {
    perImage,
    aggregate,
    hausdorffPercentile: settings.hausdorffPercentile,
    hausdorffMode: settings.hausdorffMode,
  };
}
