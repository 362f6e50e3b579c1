// @lesionenc/io: Medical image IO: DICOM series, NIfTI, 2D slices, .npy and mask export.
// The contents arrive with the issue that builds this package.
export {};
