// @lesionenc/io: medical image IO — NIfTI, DICOM series, 2D slices, .npy and mask export.
export {
  type DecodeNiftiOptions,
  type EncodeNiftiOptions,
  type NiftiDatatype,
  type NiftiHeader,
  type NiftiImage,
  type NiftiLabelOptions,
  DEFAULT_ENCODE_NIFTI_OPTIONS,
  MAX_NIFTI_VOXELS,
  decodeNifti,
  encodeNifti,
  niftiImageToLabels,
  niftiImageToVolume,
} from './nifti';
export { readNifti, readNiftiLabels, writeNifti } from './nifti-node';
export { type DecodeNpyOptions, type NpyArray, decodeNpy, encodeNpy } from './npy';
export { readNpy, writeNpy } from './npy-node';
export { geometryOrientation } from './orientation';
