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
