// @lesionenc/sequence-classifier: BiLSTM and pooling scan classifiers, the volumetric
// logistic-regression baseline and the patient-level rule (paper section 3.3, Table 3).
export {
  type FusedBidirectionalLstmArgs,
  type SeededDropoutArgs,
  FusedBidirectionalLstm,
  MaskedSequencePooling,
  SeededDropout,
} from './layers';
export { lstmRecurrence } from './internal/lstm-kernel';
export {
  type FeatureRows,
  type LogisticRegressionConfig,
  type LogisticRegressionModel,
  DEFAULT_LOGISTIC_REGRESSION,
  fitLogisticRegression,
  predictLogisticRegression,
} from './logistic';
export {
  type ClassifierJson,
  type LoadedClassifier,
  CLASSIFIER_FORMAT,
  CLASSIFIER_VERSION,
  loadClassifier,
  saveLogisticRegression,
  saveSequenceClassifier,
} from './model-files';
export {
  type LesionShareScaling,
  type ResolvedSequenceClassifierConfig,
  type SequenceBatch,
  type SequenceClassifier,
  type SequenceClassifierConfig,
  type SequenceModelKind,
  DEFAULT_SEQUENCE_CLASSIFIER,
  buildSequenceNetwork,
  createSequenceClassifier,
  resolveSequenceClassifierConfig,
  sequenceTensor,
  wrapModel,
} from './models';
export { type PatientScore, patientLevelScores } from './patient';
export { type ResampledSequence, resampleSequence } from './resample';
export {
  type ClassWeights,
  type EpochLog,
  type LabelledSequences,
  type TrainingConfig,
  type TrainingResult,
  DEFAULT_TRAINING,
  splitStratified,
  trainSequenceClassifier,
} from './train';
