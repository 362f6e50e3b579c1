// Segmentation loss: weighted cross-entropy + soft Dice, with partial labels (targets that name a
// group of classes, such as "any infection") handled by summing the grouped class probabilities.
import { LesionEncError } from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-core';

/**
 * A labelling scheme: group `g` of a target holds the classes listed at `groups[g]`. Full labels
 * are one class per group; the binary infection slices use `[[background, effusion],
 * [ground_glass, consolidation]]`.
 */
export type LabelGroups = readonly (readonly number[])[];

/** Settings of {@link createSegmentationLoss}. */
export interface SegmentationLossConfig {
  /** Weight of each class in both terms (length = classes). @defaultValue all 1 */
  classWeights?: readonly number[];
  /** Weight of the cross-entropy term. @defaultValue 1 */
  crossEntropyWeight?: number;
  /** Weight of the Dice term. @defaultValue 1 */
  diceWeight?: number;
  /** Added to Dice numerator and denominator (pixels). @defaultValue 1 */
  diceSmooth?: number;
}

/** Defaults of {@link SegmentationLossConfig}. */
export const DEFAULT_SEGMENTATION_LOSS: Readonly<
  Required<Omit<SegmentationLossConfig, 'classWeights'>>
> = Object.freeze({ crossEntropyWeight: 1, diceWeight: 1, diceSmooth: 1 });

/** A loss over one batch. */
export type SegmentationLoss = (
  target: tf.Tensor4D,
  probabilities: tf.Tensor4D,
  groups?: LabelGroups,
) => tf.Scalar;

const PROBABILITY_FLOOR = 1e-7;

/**
 * The one-hot groups of full labels: class `c` alone in group `c`.
 *
 * @param classCount - Number of classes.
 * @returns `[[0], [1], ...]`.
 */
export function fullLabelGroups(classCount: number): LabelGroups {
  return Array.from({ length: classCount }, (_, c) => [c]);
}

/**
 * Builds the loss: `crossEntropyWeight * CE + diceWeight * (1 - Dice)`. CE is the weighted mean
 * over pixels of `-log(P_group)`; Dice is the weighted mean over groups of the soft Dice of each
 * image, averaged over the batch. With partial labels, `P_group` is the sum of the probabilities
 * of the group's classes and a group's weight is the mean of its classes' weights.
 *
 * @param classCount - Classes of the network output.
 * @param config - Weights and smoothing.
 * @returns `(target one-hot over groups [b, h, w, G], softmax [b, h, w, C], groups?) => scalar`.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for bad weights or groups.
 */
export function createSegmentationLoss(
  classCount: number,
  config: SegmentationLossConfig = {},
): SegmentationLoss {
  const classWeights = config.classWeights ?? Array.from({ length: classCount }, () => 1);
  if (
    classWeights.length !== classCount ||
    !classWeights.every((w) => w >= 0 && Number.isFinite(w))
  ) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `classWeights: expected ${classCount} non-negative weights, got ${JSON.stringify(classWeights)}`,
    );
  }
  const { crossEntropyWeight, diceWeight, diceSmooth } = {
    ...DEFAULT_SEGMENTATION_LOSS,
    ...config,
  };

  return (target, probabilities, groups = fullLabelGroups(classCount)) => {
    const membership = new Float32Array(classCount * groups.length);
    const groupWeights = groups.map((members, g) => {
      if (
        members.length === 0 ||
        !members.every((c) => Number.isInteger(c) && c >= 0 && c < classCount)
      ) {
        throw new LesionEncError(
          'INVALID_ARGUMENT',
          `label group ${g}: expected class indices in [0, ${classCount}), got ${JSON.stringify(members)}`,
        );
      }
      for (const c of members) membership[c * groups.length + g] = 1;
      return members.reduce((sum, c) => sum + classWeights[c]!, 0) / members.length;
    });
    if (target.shape[3] !== groups.length || probabilities.shape[3] !== classCount) {
      throw new LesionEncError(
        'SHAPE_MISMATCH',
        `segmentation loss: expected target with ${groups.length} groups and prediction with ${classCount} classes, got [${target.shape.join(', ')}] and [${probabilities.shape.join(', ')}]`,
      );
    }
    return tf.tidy(() => {
      const [b, h, w] = probabilities.shape;
      const flat = tf.reshape(probabilities, [b * h * w, classCount]);
      const grouped = tf.reshape(
        tf.matMul(flat, tf.tensor2d(membership, [classCount, groups.length])),
        [b, h, w, groups.length],
      );
      const weights = tf.tensor1d(groupWeights);
      const logP = tf.log(tf.clipByValue(grouped, PROBABILITY_FLOOR, 1));
      const crossEntropy = tf.neg(tf.mean(tf.sum(tf.mul(tf.mul(target, logP), weights), -1)));

      const intersection = tf.sum(tf.mul(target, grouped), [1, 2]);
      const sizes = tf.add(tf.sum(target, [1, 2]), tf.sum(grouped, [1, 2]));
      const dice = tf.div(tf.add(tf.mul(intersection, 2), diceSmooth), tf.add(sizes, diceSmooth));
      const weightSum = groupWeights.reduce((s, v) => s + v, 0);
      const meanDice = tf.div(
        tf.mean(tf.sum(tf.mul(dice, weights), -1)),
        Math.max(weightSum, 1e-12),
      );
      return tf.add(
        tf.mul(crossEntropy, crossEntropyWeight),
        tf.mul(tf.sub(1, meanDice), diceWeight),
      ) as tf.Scalar;
    });
  };
}

/** Per-class Dice of label maps, averaged over the images whose truth contains the class. */
export interface DiceReport {
  /** Per class index: mean Dice, or `null` when no image contains the class. */
  perClass: (number | null)[];
  /** Per class index: how many images contained it. */
  imageCounts: number[];
  /** Mean of `perClass` over the lesion classes (index >= 1) that occur. */
  meanLesionDice: number | null;
}

/**
 * Dice per class between predicted and true label maps, the mean over the images that contain
 * the class in the truth (the COVID-SemiSeg convention).
 *
 * @param predicted - Label maps, one per image.
 * @param truth - Label maps of the same sizes.
 * @param classCount - Classes.
 * @returns The report.
 * @throws {@link LesionEncError} `SHAPE_MISMATCH` when sizes differ.
 */
export function computeDice(
  predicted: readonly Uint8Array[],
  truth: readonly Uint8Array[],
  classCount: number,
): DiceReport {
  if (predicted.length !== truth.length) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `Dice: expected as many predictions as truths, got ${predicted.length} and ${truth.length}`,
    );
  }
  const sums = new Float64Array(classCount);
  const counts = new Array<number>(classCount).fill(0);
  predicted.forEach((p, i) => {
    const t = truth[i]!;
    if (p.length !== t.length) {
      throw new LesionEncError(
        'SHAPE_MISMATCH',
        `Dice image ${i}: expected ${t.length} pixels, got ${p.length}`,
      );
    }
    const inter = new Float64Array(classCount);
    const sizeP = new Float64Array(classCount);
    const sizeT = new Float64Array(classCount);
    for (let k = 0; k < p.length; k++) {
      const a = p[k]!;
      const b = t[k]!;
      if (a < classCount) sizeP[a]!++;
      if (b < classCount) sizeT[b]!++;
      if (a === b && a < classCount) inter[a]!++;
    }
    for (let c = 0; c < classCount; c++) {
      if (sizeT[c]! === 0) continue;
      counts[c]!++;
      sums[c] = sums[c]! + (2 * inter[c]!) / (sizeP[c]! + sizeT[c]!);
    }
  });
  const perClass = counts.map((n, c) => (n === 0 ? null : sums[c]! / n));
  const lesion = perClass.slice(1).filter((v): v is number => v !== null);
  return {
    perClass,
    imageCounts: counts,
    meanLesionDice: lesion.length === 0 ? null : lesion.reduce((s, v) => s + v, 0) / lesion.length,
  };
}
