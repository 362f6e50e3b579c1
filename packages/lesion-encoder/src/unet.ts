// The lesion U-Net: an EfficientNet encoder with the segmentation_models U-Net decoder, giving a
// per-pixel class softmax and one pooled bottleneck feature vector per slice (paper section 3.2).
import { LesionEncError } from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-layers';

import {
  type EfficientNetVariant,
  EFFICIENTNET_SCALING,
  buildEfficientNetEncoder,
} from './efficientnet';
import { releaseInferenceModels } from './internal/inference-models';

/** Construction settings of {@link createLesionUnet}. */
export interface LesionUnetConfig {
  /** EfficientNet variant of the encoder. @defaultValue `b0` */
  variant: EfficientNetVariant;
  /**
   * Names of the output classes, background first. The class index of a pixel is its position
   * here. @defaultValue `['background', 'ground_glass', 'consolidation', 'pleural_effusion']`
   */
  classes: readonly string[];
  /**
   * Input rows and columns (px), each a multiple of 32, or `null` to accept any multiple of 32
   * at run time. @defaultValue `[256, 256]`
   */
  inputSizePx: readonly [number, number] | null;
  /**
   * Input channels: 3 for grey replicated to RGB (loads ImageNet-style checkpoints unchanged),
   * 1 for a single-channel stem. @defaultValue `3`
   */
  inputChannels: 1 | 3;
  /** Decoder filters from the deepest stage to the full-resolution one. @defaultValue `[256, 128, 64, 32, 16]` */
  decoderFilters: readonly number[];
  /** Stochastic-depth rate of the encoder's last block. @defaultValue `0.2` */
  dropConnectRate: number;
  /** Seed of the weight initialisers. @defaultValue `0` */
  seed: number;
}

/** Default lesion U-Net: B0 encoder, four classes, 256x256 grey replicated to three channels. */
export const DEFAULT_LESION_UNET: Readonly<LesionUnetConfig> = Object.freeze({
  variant: 'b0',
  classes: Object.freeze(['background', 'ground_glass', 'consolidation', 'pleural_effusion']),
  inputSizePx: Object.freeze([256, 256] as const),
  inputChannels: 3,
  decoderFilters: Object.freeze([256, 128, 64, 32, 16]),
  dropConnectRate: 0.2,
  seed: 0,
}) as Readonly<LesionUnetConfig>;

/** The encoder layers whose outputs feed the decoder's skip connections, deepest first. */
export const UNET_SKIP_LAYERS: readonly string[] = Object.freeze([
  'block6a_expand_activation',
  'block4a_expand_activation',
  'block3a_expand_activation',
  'block2a_expand_activation',
]);

/** Name of the mask output layer (the softmax over classes). */
export const MASK_OUTPUT_LAYER = 'softmax';
/** Name of the feature output layer (global average of `top_activation`). */
export const FEATURE_OUTPUT_LAYER = 'avg_pool';

/** A built lesion U-Net and what it was built from. */
export interface LesionUnet {
  /**
   * The network. Outputs, in order: the mask softmax `[batch, rows, columns, classes]` and the
   * feature vector `[batch, featureSize]`.
   */
  model: tf.LayersModel;
  config: Readonly<LesionUnetConfig>;
  /** Length of the feature vector (1280 for B0, 2560 for B7). */
  featureSize: number;
  /** Frees the weights. */
  dispose(): void;
}

/**
 * Checks a full lesion U-Net configuration.
 *
 * @param config - The configuration to check.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` naming the bad field.
 */
export function validateLesionUnetConfig(config: LesionUnetConfig): void {
  const bad = (what: string, expected: string, got: unknown) =>
    new LesionEncError(
      'INVALID_ARGUMENT',
      `lesion U-Net ${what}: expected ${expected}, got ${JSON.stringify(got)}`,
    );
  if (!(config.variant in EFFICIENTNET_SCALING))
    throw bad('variant', 'one of b0..b7', config.variant);
  if (config.classes.length < 2 || new Set(config.classes).size !== config.classes.length) {
    throw bad('classes', 'at least two distinct class names', config.classes);
  }
  if (config.inputSizePx !== null) {
    const [rows, columns] = config.inputSizePx;
    if (![rows, columns].every((n) => Number.isInteger(n) && n >= 32 && n % 32 === 0)) {
      throw bad('inputSizePx', 'two positive multiples of 32 (px)', config.inputSizePx);
    }
  }
  if (config.inputChannels !== 1 && config.inputChannels !== 3) {
    throw bad('inputChannels', '1 or 3', config.inputChannels);
  }
  if (
    config.decoderFilters.length !== 5 ||
    !config.decoderFilters.every((n) => Number.isInteger(n) && n > 0)
  ) {
    throw bad('decoderFilters', 'five positive integers', config.decoderFilters);
  }
  if (!(config.dropConnectRate >= 0 && config.dropConnectRate < 1)) {
    throw bad('dropConnectRate', 'a rate in [0, 1)', config.dropConnectRate);
  }
}

/**
 * Builds the lesion U-Net: an EfficientNet encoder named like `keras.applications`, and the
 * `segmentation_models` U-Net decoder (five stages of 2x nearest upsampling, concatenation with
 * the skip from `block6a`/`block4a`/`block3a`/`block2a_expand_activation`, and two 3x3
 * convolution + batch norm + ReLU; then a 3x3 convolution and softmax). Layer names follow
 * `segmentation_models` (`decoder_stage0_upsampling`, `decoder_stage0a_conv`, ..., `final_conv`),
 * so a converted checkpoint of `sm.Unet('efficientnetbX')` loads by name.
 *
 * @param config - Overrides of {@link DEFAULT_LESION_UNET}.
 * @returns The model with `dispose()`.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for a bad configuration.
 * @example
 * ```ts
 * const unet = createLesionUnet({ variant: 'b0', inputSizePx: [256, 256] });
 * const [mask, features] = unet.model.predict(batch) as tf.Tensor[];
 * unet.dispose();
 * ```
 */
export function createLesionUnet(config: Partial<LesionUnetConfig> = {}): LesionUnet {
  const full: LesionUnetConfig = { ...DEFAULT_LESION_UNET, ...config };
  validateLesionUnetConfig(full);
  const frozen = Object.freeze({
    ...full,
    classes: Object.freeze([...full.classes]),
    decoderFilters: Object.freeze([...full.decoderFilters]),
    inputSizePx:
      full.inputSizePx === null
        ? null
        : (Object.freeze([...full.inputSizePx]) as readonly [number, number]),
  });

  const [rows, columns] = frozen.inputSizePx ?? [null, null];
  const input = tf.input({ shape: [rows, columns, frozen.inputChannels], name: 'input_1' });
  const encoder = buildEfficientNetEncoder(input, {
    variant: frozen.variant,
    dropConnectRate: frozen.dropConnectRate,
    seed: frozen.seed,
  });

  let seed = (frozen.seed ^ 0x5bd1e995) >>> 0;
  const nextSeed = () => (seed = (seed + 0x9e3779b1) >>> 0);
  const convBnRelu = (x: tf.SymbolicTensor, filters: number, name: string) => {
    let y = tf.layers
      .conv2d({
        filters,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        kernelInitializer: tf.initializers.heUniform({ seed: nextSeed() }),
        name: `${name}_conv`,
      })
      .apply(x) as tf.SymbolicTensor;
    y = tf.layers
      .batchNormalization({ axis: -1, name: `${name}_bn` })
      .apply(y) as tf.SymbolicTensor;
    return tf.layers
      .activation({ activation: 'relu', name: `${name}_relu` })
      .apply(y) as tf.SymbolicTensor;
  };

  let x = encoder.top;
  frozen.decoderFilters.forEach((filters, stage) => {
    x = tf.layers
      .upSampling2d({ size: [2, 2], name: `decoder_stage${stage}_upsampling` })
      .apply(x) as tf.SymbolicTensor;
    const skipName = UNET_SKIP_LAYERS[stage];
    if (skipName !== undefined) {
      const skip = encoder.outputsByName.get(skipName);
      if (skip === undefined) {
        throw new LesionEncError(
          'INTERNAL',
          `U-Net skip: expected encoder layer ${skipName}, got none`,
        );
      }
      x = tf.layers
        .concatenate({ axis: -1, name: `decoder_stage${stage}_concat` })
        .apply([x, skip]) as tf.SymbolicTensor;
    }
    x = convBnRelu(x, filters, `decoder_stage${stage}a`);
    x = convBnRelu(x, filters, `decoder_stage${stage}b`);
  });

  const logits = tf.layers
    .conv2d({
      filters: frozen.classes.length,
      kernelSize: 3,
      padding: 'same',
      useBias: true,
      kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }),
      name: 'final_conv',
    })
    .apply(x) as tf.SymbolicTensor;
  const mask = tf.layers
    .activation({ activation: 'softmax', name: MASK_OUTPUT_LAYER })
    .apply(logits) as tf.SymbolicTensor;
  const features = tf.layers
    .globalAveragePooling2d({ name: FEATURE_OUTPUT_LAYER })
    .apply(encoder.top) as tf.SymbolicTensor;

  const model = tf.model({
    inputs: input,
    outputs: [mask, features],
    name: `lesion_unet_efficientnet${frozen.variant}`,
  });
  let disposed = false;
  return {
    model,
    config: frozen,
    featureSize: encoder.topChannels,
    dispose: () => {
      if (disposed) return;
      disposed = true;
      releaseInferenceModels(model);
      model.dispose();
    },
  };
}
