// @lesionenc/lesion-encoder: EfficientNet U-Net lesion encoder: lesion masks and one feature
// vector per slice (paper section 3.2).
export {
  type EfficientNetEncoder,
  type EfficientNetEncoderOptions,
  type EfficientNetScaling,
  type EfficientNetVariant,
  type MbConvStage,
  EFFICIENTNET_B0_STAGES,
  EFFICIENTNET_SCALING,
  buildEfficientNetEncoder,
  roundFilters,
  roundRepeats,
} from './efficientnet';
export {
  type LesionUnet,
  type LesionUnetConfig,
  DEFAULT_LESION_UNET,
  FEATURE_OUTPUT_LAYER,
  MASK_OUTPUT_LAYER,
  UNET_SKIP_LAYERS,
  createLesionUnet,
  validateLesionUnetConfig,
} from './unet';
export {
  type ApplyWeightsOptions,
  type EncodedWeights,
  type WeightLoadReport,
  type WeightPrecision,
  type WeightSpec,
  type WeightsGroup,
  applyNamedWeights,
  canonicalWeightName,
  decodeEncodedWeights,
  decodeWeightsManifest,
  encodeModelWeights,
} from './weights';
export {
  type AffineOptions,
  type AugmentOp,
  type AugmentSample,
  type Augmentation,
  affine,
  blur,
  brightnessContrast,
  composeAugmentations,
  createDefaultAugmentation,
  gaussianNoise,
  horizontalFlip,
  perspective,
  randomCrop,
  sharpen,
} from './augment';
export {
  type DiceReport,
  type LabelGroups,
  type SegmentationLoss,
  type SegmentationLossConfig,
  DEFAULT_SEGMENTATION_LOSS,
  computeDice,
  createSegmentationLoss,
  fullLabelGroups,
} from './loss';
export {
  type EpochRecord,
  type TrainOptions,
  type TrainResult,
  type TrainingSource,
  loadTrainingCheckpoint,
  predictLabels,
  stackImages,
  trainLesionUnet,
} from './train';
export {
  type SliceIntensity,
  NETWORK_WINDOW,
  rotate90Clockwise,
  toNetworkIntensity,
} from './input';
export {
  type EncodeSliceImagesOptions,
  type EncodedSliceImages,
  createInferenceUnet,
  encodeSliceImages,
  featureModelOf,
} from './encode';
export { foldBatchNorm } from './internal/fold-batch-norm';
export {
  type SelfSupervisedOptions,
  type SelfSupervisedResult,
  pretrainSelfSupervised,
} from './pretrain';
