// @lesionenc/preprocess: CT pre-processing: HU windows, normalisation, CLAHE, gamma, resampling,
// body mask and crop, and the binary morphology they share with the lung mask.
export {
  type Clahe,
  type ClaheConfig,
  type ClaheImage,
  DEFAULT_CLAHE,
  applyClahe,
  createClahe,
} from './clahe';
export {
  type HuWindow,
  type NormalizeOptions,
  type WindowOptions,
  type WindowOutput,
  type WindowPreset,
  type WindowResult,
  WINDOW_PRESETS,
  adjustGamma,
  applyWindow,
  normalizeIntensity,
  resolveWindow,
} from './window';
export {
  type ResampleTarget,
  resampleGeometry,
  resampleLabels,
  resampleVolume,
  resizeImageLinear,
  resizeLabelsNearest,
} from './resample';
export {
  type BodyCrop,
  type BodyMaskOptions,
  type CropToBodyOptions,
  type SliceBox,
  BODY_CLASSES,
  DEFAULT_BODY_MASK,
  boundingBox2d,
  computeBodyMask,
  cropToBody,
} from './body';
export {
  type Components,
  closeMask2d,
  dilateMask2d,
  erodeMask2d,
  fillHoles2d,
  labelComponents2d,
  growLabels6,
  labelComponents3d,
  openMask2d,
  squaredDistanceToMask2d,
} from './morphology';
