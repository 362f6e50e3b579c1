// Types and loading of the scikit-learn / scipy reference fixtures shared by the tests.
import { readFileSync } from 'node:fs';

/** One binary-classification case of the fixture file. */
export interface BinaryFixture {
  name: string;
  labels: number[];
  scores: number[];
  auc: number;
  roc: { fpr: number[]; tpr: number[]; thresholds: number[] };
  roc_full: { fpr: number[]; tpr: number[]; thresholds: number[] };
  at_threshold: {
    threshold: number;
    tp: number;
    fp: number;
    tn: number;
    fn: number;
    sensitivity: number;
    specificity: number;
    accuracy: number;
    precision: number;
    f1: number;
    balanced_accuracy: number;
  }[];
  youden_threshold: number;
  fixed_sensitivity: number;
  fixed_sensitivity_threshold: number;
}

/** One DeLong case: two models and the O(m n) reference results. */
export interface DelongFixture {
  name: string;
  labels: number[];
  scores_a: number[];
  scores_b: number[];
  auc_a: number;
  auc_b: number;
  variance_a: number;
  variance_b: number;
  covariance: number;
  z: number;
  p_value: number;
  ci95_difference: [number, number];
  ci95_auc_a: [number, number];
}

/** One segmentation case: label volumes as digit strings and per-class reference results. */
export interface SegmentationFixture {
  name: string;
  shape: number[];
  spacing_mm: number[];
  reference: string;
  prediction: string;
  classes: {
    value: number;
    intersection: number;
    reference_voxels: number;
    predicted_voxels: number;
    dice: number | null;
    iou: number | null;
    hd95_pooled: number | null;
    hd95_max_directed: number | null;
    hd100: number | null;
  }[];
}

/** The whole fixture file written by fixtures/make-fixtures.py. */
export interface MetricsFixtures {
  sklearn_version: string;
  binary: BinaryFixture[];
  calibration: {
    labels: number[];
    probs: number[];
    brier: number;
    curves: {
      n_bins: number;
      strategy: 'uniform' | 'quantile';
      prob_true: number[];
      prob_pred: number[];
    }[];
  };
  delong: DelongFixture[];
  segmentation: SegmentationFixture[];
  special: { x: number[]; ndtr: number[]; erfc: number[]; p: number[]; ndtri: number[] };
  percentile: { data: number[]; q: number[]; values: number[] };
}

/** Reads the fixture file (tests only). */
export function loadFixtures(): MetricsFixtures {
  return JSON.parse(
    readFileSync(new URL('../../fixtures/metrics-fixtures.json', import.meta.url), 'utf8'),
  ) as MetricsFixtures;
}

/** Largest absolute element-wise difference; Infinity when the lengths differ. */
export function maxAbsDifference(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++)
    worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}
