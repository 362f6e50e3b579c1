// ROC curve and area under it, computed exactly as scikit-learn 1.2.1's roc_curve and roc_auc_score.
import { type NumericArray, checkBinaryInput } from './internal/validate';

/** The version of scikit-learn whose conventions {@link rocCurve} and {@link rocAuc} follow. */
export const SKLEARN_REFERENCE_VERSION = '1.2.1';

/** Points of a ROC curve, from (0, 0) at the highest threshold to (1, 1) at the lowest. */
export interface RocCurve {
  /** False-positive rate (1 - specificity) at each threshold. */
  readonly fpr: number[];
  /** True-positive rate (sensitivity) at each threshold. */
  readonly tpr: number[];
  /**
   * Decreasing thresholds; a sample is called positive when its score is >= the threshold.
   * The first one is the highest score + 1 (scikit-learn 1.2.1's convention), where nothing is
   * called positive.
   */
  readonly thresholds: number[];
}

/** Options of {@link rocCurve}. */
export interface RocOptions {
  /**
   * Drop thresholds whose point lies on a straight segment between its neighbours (they change
   * neither the plotted curve nor the AUC), like scikit-learn's `drop_intermediate`.
   * @defaultValue true
   */
  readonly dropIntermediate?: boolean;
}

/** The defaults of {@link RocOptions}. */
export const DEFAULT_ROC_OPTIONS: Readonly<Required<RocOptions>> = Object.freeze({
  dropIntermediate: true,
});

/** Cumulative counts at each distinct score, scores descending. */
export interface ThresholdCounts {
  /** False positives when everything scoring >= thresholds[i] is called positive. */
  readonly fps: Float64Array;
  /** True positives at the same thresholds. */
  readonly tps: Float64Array;
  /** The distinct scores, descending. */
  readonly thresholds: Float64Array;
}

/**
 * Counts true and false positives at every distinct score (scikit-learn's `_binary_clf_curve`).
 *
 * @param labels - 0/1 labels.
 * @param scores - Finite scores of the same length.
 * @returns Counts at each distinct threshold, highest first.
 */
export function countAtThresholds(labels: Uint8Array, scores: Float64Array): ThresholdCounts {
  const n = labels.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (scores[b] as number) - (scores[a] as number));

  const fps: number[] = [];
  const tps: number[] = [];
  const thresholds: number[] = [];
  let tp = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k] as number;
    tp += labels[i] as number;
    const score = scores[i] as number;
    const next = k + 1 < n ? (scores[order[k + 1] as number] as number) : Number.NaN;
    // A threshold sits at the last sample of each run of equal scores.
    if (k === n - 1 || next !== score) {
      tps.push(tp);
      fps.push(k + 1 - tp);
      thresholds.push(score);
    }
  }
  return {
    fps: Float64Array.from(fps),
    tps: Float64Array.from(tps),
    thresholds: Float64Array.from(thresholds),
  };
}

/**
 * The receiver operating characteristic of a binary classifier, identical to scikit-learn
 * 1.2.1's `roc_curve(labels, scores)` (with `drop_intermediate=True` by default).
 *
 * @param labels - 0/1 ground truth (booleans accepted).
 * @param scores - Finite scores, higher meaning more likely positive.
 * @param options - See {@link RocOptions}.
 * @returns The curve.
 * @throws {@link LesionEncError} `SHAPE_MISMATCH` when the lengths differ, `INVALID_ARGUMENT`
 * for a label other than 0/1 or a score that is not finite, `DEGENERATE_INPUT` when the input is
 * empty or holds one class only.
 * @example
 * ```ts
 * const { fpr, tpr, thresholds } = rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
 * // thresholds: [1.8, 0.8, 0.4, 0.35, 0.1]
 * ```
 */
export function rocCurve(
  labels: NumericArray,
  scores: NumericArray,
  options: RocOptions = {},
): RocCurve {
  const { dropIntermediate } = { ...DEFAULT_ROC_OPTIONS, ...options };
  const input = checkBinaryInput('rocCurve', labels, scores, true);
  return rocFromCounts(countAtThresholds(input.labels, input.scores), dropIntermediate);
}

/** Builds the curve from threshold counts; both classes must be present. */
export function rocFromCounts(counts: ThresholdCounts, dropIntermediate: boolean): RocCurve {
  const { fps, tps, thresholds } = counts;
  let keep: number[];
  const m = fps.length;
  if (dropIntermediate && m > 2) {
    keep = [0];
    for (let i = 1; i < m - 1; i++) {
      const secondFps = (fps[i + 1] as number) - 2 * (fps[i] as number) + (fps[i - 1] as number);
      const secondTps = (tps[i + 1] as number) - 2 * (tps[i] as number) + (tps[i - 1] as number);
      if (secondFps !== 0 || secondTps !== 0) keep.push(i);
    }
    keep.push(m - 1);
  } else {
    keep = Array.from({ length: m }, (_, i) => i);
  }

  const totalFp = fps[m - 1] as number;
  const totalTp = tps[m - 1] as number;
  const fpr = [0];
  const tpr = [0];
  const first = thresholds[keep[0] as number] as number;
  const outThresholds = [first + 1];
  for (const i of keep) {
    fpr.push((fps[i] as number) / totalFp);
    tpr.push((tps[i] as number) / totalTp);
    outThresholds.push(thresholds[i] as number);
  }
  return { fpr, tpr, thresholds: outThresholds };
}

/**
 * Area under a piecewise-linear curve by the trapezoidal rule (numpy's `trapz(y, x)`).
 *
 * @param x - Increasing abscissae.
 * @param y - Ordinates at the same points.
 * @returns The area.
 */
export function trapezoidArea(x: readonly number[], y: readonly number[]): number {
  let area = 0;
  for (let i = 1; i < x.length; i++) {
    area +=
      (((x[i] as number) - (x[i - 1] as number)) * ((y[i] as number) + (y[i - 1] as number))) / 2;
  }
  return area;
}

/**
 * Area under the ROC curve, identical to scikit-learn 1.2.1's `roc_auc_score` for binary labels:
 * tied scores count as half a correct ordering (the trapezoid through a run of ties).
 *
 * @param labels - 0/1 ground truth.
 * @param scores - Finite scores.
 * @returns The AUC in [0, 1].
 * @throws {@link LesionEncError} as {@link rocCurve}; one class alone is `DEGENERATE_INPUT`.
 * @example
 * ```ts
 * rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]); // 0.75
 * ```
 */
export function rocAuc(labels: NumericArray, scores: NumericArray): number {
  const curve = rocCurve(labels, scores);
  return trapezoidArea(curve.fpr, curve.tpr);
}
