// @lesionenc/ica: FastICA for slice feature sequences, following scikit-learn 1.2.1.
export {
  type FastIcaConfig,
  type FastIcaModel,
  type FastIcaParts,
  type FitFastIcaOptions,
  type IcaAlgorithm,
  type IcaContrast,
  type IcaConvergence,
  type IcaMatrix,
  type IcaRankPolicy,
  type IcaWhiten,
  type IcaWhitenSolver,
  DEFAULT_FAST_ICA,
  RANK_TOLERANCE,
  SKLEARN_REFERENCE_VERSION,
  buildModel,
  fitFastIca,
  inverseTransformIca,
  transformIca,
} from './fastica';
export {
  type IcaModelJson,
  ICA_MODEL_FORMAT,
  ICA_MODEL_VERSION,
  icaModelFromJson,
  icaModelToJson,
} from './model-file';
