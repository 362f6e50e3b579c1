// Messages between the page and the pipeline's Web Worker, and the result the page draws.
import type { BackendInfo, BackendName } from '@lesionenc/core';

/** Where the scan comes from. */
export type ScanSource = { kind: 'synthetic' } | { kind: 'files'; files: File[] };

/** URLs of the models and of tfjs' wasm binaries, as the page serves them. */
export interface ModelUrls {
  /** Folder of the lesion encoder's `weights.json` + `weights.bin`. */
  lesionWeights: string;
  /** Folder of `tfjs-backend-wasm*.wasm`, ending in `/`. */
  wasm: string;
  /** Optional ICA model and classifiers (null when the page serves none). */
  ica: string | null;
  severity: string | null;
  progression: string | null;
}

/** Page to worker. */
export interface RunRequest {
  type: 'run';
  source: ScanSource;
  backend: BackendName;
  models: ModelUrls;
}

/** Volumes of one class in the report. */
export interface ClassReport {
  value: number;
  name: string;
  label: string;
  color: readonly [number, number, number];
  volumeMl: number;
  percentOfLung: number;
}

/** What the worker sends back: plain data and typed arrays, drawn and reported by the page. */
export interface ViewerResult {
  source: string;
  format: string;
  backend: BackendInfo;
  /** `[slices, rows, columns]`. */
  shape: readonly [number, number, number];
  spacingMm: readonly [number, number, number];
  /** HU, rounded to integers. */
  ct: Int16Array;
  /** 0 background, 1 right lung, 2 left lung. */
  lungs: Uint8Array;
  /** LESION_CLASSES values. */
  lesions: Uint8Array;
  keptSlices: readonly number[];
  lungVolumeMl: number;
  rightLungVolumeMl: number;
  leftLungVolumeMl: number;
  classes: readonly ClassReport[];
  severityProbability: number | null;
  progressionProbability: number | null;
  notes: readonly string[];
  lesionWeights: string | null;
  timingsMs: {
    read: number;
    models: number;
    lungmask: number;
    encoder: number;
    volumetrics: number;
    /** The whole of `assess`: lung mask, encoder, volumetrics, classifiers. */
    assess: number;
    /** Reading, models and `assess`. */
    total: number;
    /** Encoder time (pre-processing included) over the kept slices. */
    encoderPerSlice: number;
  };
}

/** Worker to page. */
export type WorkerMessage =
  | { type: 'progress'; stage: string; fraction: number; text: string }
  | { type: 'result'; result: ViewerResult }
  | { type: 'error'; code: string | null; message: string };
