// @lesionenc/lungmask: Lung segmentation with left/right labels and slice selection by lung area.
// The contents arrive with the issue that builds this package.
export {};
