// @lesionenc/io: medical image IO — NIfTI, DICOM series, 2D slices, .npy and mask export.
// The Node entry: the browser entry (browser.ts) plus the functions that use the file system.
export * from './browser';
export { readNifti, readNiftiLabels, writeNifti } from './nifti-node';
export { readNpy, writeNpy } from './npy-node';
export { dicomSourcesAt, listDicomSeries, readDicomSeries } from './dicom-node';
export { readDicomSeg, writeDicomSeg } from './dicom-seg-node';
export { readVolume } from './read-volume';
export { writeOverlayPng } from './overlay-node';
