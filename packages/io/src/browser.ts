// @lesionenc/io for browsers and web workers (the `browser` export condition), and the base of
// the Node entry (index.ts), which adds what needs a file system (readVolume, readNifti,
// readDicomSeries, the write functions). Here files come in as bytes or File objects.
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
export { type DecodeNpyOptions, type NpyArray, decodeNpy, encodeNpy } from './npy';
export { geometryOrientation, orientationCode } from './orientation';
export {
  type DicomFileOptions,
  type DicomImage,
  type DicomImageHeader,
  TRANSFER_SYNTAX,
  decodeDicomImage,
  parseDicomHeader,
} from './dicom';
export {
  type DicomSeriesOptions,
  type DicomSeriesResult,
  type DicomSeriesSummary,
  type DicomSkippedFile,
  type DicomSource,
  DEFAULT_DICOM_SERIES_OPTIONS,
  decodeDicomSeries,
  loadDicomSeries,
  scanDicomSources,
} from './dicom-series';
export {
  type DicomInstanceReference,
  type DicomSeriesReference,
  DICOM_REFERENCE_METADATA_KEY,
  dicomSeriesReferenceOf,
} from './dicom-reference';
export {
  type DicomCode,
  type DicomSeg,
  type DicomSegFrame,
  type DicomSegSegment,
  type DicomSegmentDefinition,
  type EncodeDicomSegOptions,
  type EncodedDicomSeg,
  type SegToLabelMapOptions,
  DEFAULT_ENCODE_DICOM_SEG,
  LESION_SEG_SEGMENTS,
  LUNG_SEG_SEGMENTS,
  SEG_CODES,
  SEG_SOP_CLASS_UID,
  createDicomUid,
  decodeDicomSeg,
  dicomSegToLabelMap,
  encodeDicomSeg,
  rgbToDicomLab,
} from './dicom-seg';
export {
  type SliceImageOptions,
  MAX_SLICE_SIDE,
  decodeSliceImage,
  decodeSliceLabels,
} from './slice-image';
export {
  type FileLike,
  type ReadVolumeOptions,
  type ReadVolumeResult,
  type VolumeFormat,
  dicomSourcesFromFiles,
  readVolumeFromFiles,
  sniffFormat,
} from './volume-files';
export {
  type OverlayOptions,
  type RgbImage,
  DEFAULT_OVERLAY_OPTIONS,
  encodeOverlayPng,
  renderOverlay,
} from './overlay';
export { encodeLabelPng } from './label-png';
export {
  type OverlayMontageOptions,
  encodeOverlayMontagePng,
  renderOverlayMontage,
} from './montage';
