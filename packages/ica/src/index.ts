// @lesionenc/ica: FastICA for slice feature sequences, following scikit-learn.
// The contents arrive with the issue that builds this package.
export {};
