// @lesionenc/sequence-classifier: BiLSTM and pooling sequence classifiers, logistic-regression baseline, patient-level rules.
// The contents arrive with the issue that builds this package.
export {};
