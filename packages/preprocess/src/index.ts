// @lesionenc/preprocess: CT pre-processing: HU windows, normalisation, CLAHE, gamma, resampling.
// The contents arrive with the issue that builds this package.
export {};
