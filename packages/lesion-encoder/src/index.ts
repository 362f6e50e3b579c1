// @lesionenc/lesion-encoder: EfficientNet U-Net lesion encoder: lesion masks and one feature vector per slice.
// The contents arrive with the issue that builds this package.
export {};
