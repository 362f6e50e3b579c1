// @lesionenc/core for browsers and web workers (the `browser` export condition): the pipeline and
// every building block's browser API, without what needs Node (the worker-thread pool, cohort
// and experiment files, weights found on disk). Models load from URLs with fetch.
export * from '@lesionenc/base';
export * from '@lesionenc/io';
export * from '@lesionenc/preprocess';
export * from '@lesionenc/lungmask';
export * from '@lesionenc/lesion-encoder';
export * from '@lesionenc/ica';
export * from '@lesionenc/sequence-classifier';
export * from '@lesionenc/metrics';
export * from '@lesionenc/phantom';
export * from '@lesionenc/wasm-training';
// ica and metrics both follow scikit-learn 1.2.1 and both name that version; the metrics one is
// kept under its own name and the ica one is renamed.
export { SKLEARN_REFERENCE_VERSION } from '@lesionenc/metrics';
export { SKLEARN_REFERENCE_VERSION as ICA_SKLEARN_REFERENCE_VERSION } from '@lesionenc/ica';
export {
  type ActiveBackendName,
  type BackendInfo,
  type BackendName,
  type BackendOptions,
  type Platform,
  BACKEND_PRIORITY,
  describeWebglRenderer,
  detectPlatform,
  getBackendInfo,
  initBackend,
  isSoftwareRenderer,
} from './backend';
export {
  type AnalyseScanOptions,
  type ClassVolume,
  type LesionMeasurement,
  type ScanAnalysis,
  type SliceImageAnalysis,
  type ScanVolumetrics,
  DEFAULT_ANALYSE_SCAN,
  VOLUMETRIC_FEATURE_NAMES,
  analyseScan,
  sliceLesionShares,
  sliceLungAreasMm2,
  analyseSliceImages,
  measureLesions,
} from './analyse';
export { type LoadedLesionUnet, loadLesionUnet } from './internal/models';
export {
  type Assessment,
  type LesionEncoder,
  type LesionEncoderConfig,
  type ModelProvenance,
  createLesionEncoder,
} from './assess';
