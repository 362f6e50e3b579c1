// EfficientNet B0-B7 encoders in tfjs-layers, with the layer names of keras.applications so that
// converted Keras or segmentation_models checkpoints load by name (Tan & Le 2019).
import { LesionEncError } from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-layers';

/** The eight EfficientNet variants. */
export type EfficientNetVariant = 'b0' | 'b1' | 'b2' | 'b3' | 'b4' | 'b5' | 'b6' | 'b7';

/** The compound-scaling coefficients of one variant. */
export interface EfficientNetScaling {
  /** Multiplier of every block's channel count. */
  widthCoefficient: number;
  /** Multiplier of every stage's number of repeats. */
  depthCoefficient: number;
  /** The image side the variant was designed for (px). */
  defaultResolutionPx: number;
  /** Dropout before the classifier in the original network (unused without a top). */
  dropoutRate: number;
}

/** Width, depth and resolution of B0..B7, as published (EfficientNet paper, table and code). */
export const EFFICIENTNET_SCALING: Readonly<Record<EfficientNetVariant, EfficientNetScaling>> =
  Object.freeze({
    b0: {
      widthCoefficient: 1.0,
      depthCoefficient: 1.0,
      defaultResolutionPx: 224,
      dropoutRate: 0.2,
    },
    b1: {
      widthCoefficient: 1.0,
      depthCoefficient: 1.1,
      defaultResolutionPx: 240,
      dropoutRate: 0.2,
    },
    b2: {
      widthCoefficient: 1.1,
      depthCoefficient: 1.2,
      defaultResolutionPx: 260,
      dropoutRate: 0.3,
    },
    b3: {
      widthCoefficient: 1.2,
      depthCoefficient: 1.4,
      defaultResolutionPx: 300,
      dropoutRate: 0.3,
    },
    b4: {
      widthCoefficient: 1.4,
      depthCoefficient: 1.8,
      defaultResolutionPx: 380,
      dropoutRate: 0.4,
    },
    b5: {
      widthCoefficient: 1.6,
      depthCoefficient: 2.2,
      defaultResolutionPx: 456,
      dropoutRate: 0.4,
    },
    b6: {
      widthCoefficient: 1.8,
      depthCoefficient: 2.6,
      defaultResolutionPx: 528,
      dropoutRate: 0.5,
    },
    b7: {
      widthCoefficient: 2.0,
      depthCoefficient: 3.1,
      defaultResolutionPx: 600,
      dropoutRate: 0.5,
    },
  });

/** One stage of MBConv blocks of the B0 baseline, before scaling. */
export interface MbConvStage {
  kernelSize: number;
  repeats: number;
  filtersIn: number;
  filtersOut: number;
  expandRatio: number;
  strides: number;
  seRatio: number;
}

/** The seven MBConv stages of EfficientNet-B0. */
export const EFFICIENTNET_B0_STAGES: readonly Readonly<MbConvStage>[] = Object.freeze([
  {
    kernelSize: 3,
    repeats: 1,
    filtersIn: 32,
    filtersOut: 16,
    expandRatio: 1,
    strides: 1,
    seRatio: 0.25,
  },
  {
    kernelSize: 3,
    repeats: 2,
    filtersIn: 16,
    filtersOut: 24,
    expandRatio: 6,
    strides: 2,
    seRatio: 0.25,
  },
  {
    kernelSize: 5,
    repeats: 2,
    filtersIn: 24,
    filtersOut: 40,
    expandRatio: 6,
    strides: 2,
    seRatio: 0.25,
  },
  {
    kernelSize: 3,
    repeats: 3,
    filtersIn: 40,
    filtersOut: 80,
    expandRatio: 6,
    strides: 2,
    seRatio: 0.25,
  },
  {
    kernelSize: 5,
    repeats: 3,
    filtersIn: 80,
    filtersOut: 112,
    expandRatio: 6,
    strides: 1,
    seRatio: 0.25,
  },
  {
    kernelSize: 5,
    repeats: 4,
    filtersIn: 112,
    filtersOut: 192,
    expandRatio: 6,
    strides: 2,
    seRatio: 0.25,
  },
  {
    kernelSize: 3,
    repeats: 1,
    filtersIn: 192,
    filtersOut: 320,
    expandRatio: 6,
    strides: 1,
    seRatio: 0.25,
  },
]);

const DEPTH_DIVISOR = 8;
const BLOCK_DROP_NOISE_SHAPE = [null, 1, 1, 1] as unknown as number[];
const BN_MOMENTUM = 0.99;
const BN_EPSILON = 1e-3;

/**
 * Scales a channel count by the width coefficient and rounds it to a multiple of 8, never more
 * than 10 % below the scaled value (the rule of the reference implementation).
 *
 * @param filters - Channels of the B0 baseline.
 * @param widthCoefficient - The variant's width multiplier.
 * @returns The variant's channel count.
 */
export function roundFilters(filters: number, widthCoefficient: number): number {
  const scaled = filters * widthCoefficient;
  let rounded = Math.max(
    DEPTH_DIVISOR,
    Math.floor((scaled + DEPTH_DIVISOR / 2) / DEPTH_DIVISOR) * DEPTH_DIVISOR,
  );
  if (rounded < 0.9 * scaled) rounded += DEPTH_DIVISOR;
  return rounded;
}

/**
 * Scales a stage's number of blocks by the depth coefficient, rounding up.
 *
 * @param repeats - Blocks of the B0 baseline.
 * @param depthCoefficient - The variant's depth multiplier.
 * @returns The variant's number of blocks.
 */
export function roundRepeats(repeats: number, depthCoefficient: number): number {
  return Math.ceil(depthCoefficient * repeats);
}

/** Options of {@link buildEfficientNetEncoder}. */
export interface EfficientNetEncoderOptions {
  variant: EfficientNetVariant;
  /** Stochastic depth: the drop rate of the last block; earlier blocks drop proportionally less. */
  dropConnectRate: number;
  /** Seed of the weight initialisers (one derived seed per layer). */
  seed: number;
}

/** What {@link buildEfficientNetEncoder} returns: symbolic tensors of the built graph. */
export interface EfficientNetEncoder {
  /** `top_activation`: the last feature map, stride 32. */
  top: tf.SymbolicTensor;
  /** Every named layer output, for picking skip connections by name. */
  outputsByName: ReadonlyMap<string, tf.SymbolicTensor>;
  /** Channels of `top_activation` (1280 for B0, 2560 for B7). */
  topChannels: number;
}

// Keras' initialisers for EfficientNet: He-like fan-out truncated normal for convolutions.
function convInitializer(seed: number) {
  return tf.initializers.varianceScaling({
    scale: 2.0,
    mode: 'fanOut',
    distribution: 'truncatedNormal',
    seed,
  });
}

// Keras pads a stride-2 convolution so that even inputs lose their last row and column.
function stride2Padding(kernelSize: number): [[number, number], [number, number]] {
  const half = Math.floor(kernelSize / 2);
  return [
    [half - 1, half],
    [half - 1, half],
  ];
}

/**
 * Builds an EfficientNet encoder (no classifier top) on a symbolic input, with the layer names of
 * `keras.applications.EfficientNetBx` (`stem_conv`, `block1a_dwconv`, `block2a_expand_activation`,
 * `block1a_se_squeeze`, ..., `top_conv`, `top_bn`, `top_activation`). The input rescaling and
 * normalisation layers of the Keras model are not part of it: the caller feeds normalised images.
 *
 * @param input - The image input `[batch, rows, columns, channels]`; rows and columns multiples
 * of 32 (or unknown).
 * @param options - Variant, stochastic depth and seed.
 * @returns The top feature map and every layer output by name.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for an unknown variant.
 */
export function buildEfficientNetEncoder(
  input: tf.SymbolicTensor,
  options: EfficientNetEncoderOptions,
): EfficientNetEncoder {
  const scaling = EFFICIENTNET_SCALING[options.variant];
  if (scaling === undefined) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `EfficientNet variant: expected one of ${Object.keys(EFFICIENTNET_SCALING).join(', ')}, got '${String(options.variant)}'`,
    );
  }
  const { widthCoefficient, depthCoefficient } = scaling;
  const outputsByName = new Map<string, tf.SymbolicTensor>();
  let seedCounter = options.seed >>> 0;
  const nextSeed = () => (seedCounter = (seedCounter + 0x9e3779b1) >>> 0);
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => {
    const y = layer.apply(x) as tf.SymbolicTensor;
    outputsByName.set(layer.name, y);
    return y;
  };
  const bn = (name: string) =>
    tf.layers.batchNormalization({ axis: -1, momentum: BN_MOMENTUM, epsilon: BN_EPSILON, name });

  // Stem: 3x3 stride-2 convolution.
  let x = apply(
    tf.layers.zeroPadding2d({ padding: stride2Padding(3), name: 'stem_conv_pad' }),
    input,
  );
  x = apply(
    tf.layers.conv2d({
      filters: roundFilters(32, widthCoefficient),
      kernelSize: 3,
      strides: 2,
      padding: 'valid',
      useBias: false,
      kernelInitializer: convInitializer(nextSeed()),
      name: 'stem_conv',
    }),
    x,
  );
  x = apply(bn('stem_bn'), x);
  x = apply(tf.layers.activation({ activation: 'swish', name: 'stem_activation' }), x);

  // MBConv stages; the drop-connect rate grows linearly with the block index.
  const totalBlocks = EFFICIENTNET_B0_STAGES.reduce(
    (sum, stage) => sum + roundRepeats(stage.repeats, depthCoefficient),
    0,
  );
  let blockIndex = 0;
  EFFICIENTNET_B0_STAGES.forEach((stage, stageIndex) => {
    const repeats = roundRepeats(stage.repeats, depthCoefficient);
    const filtersOut = roundFilters(stage.filtersOut, widthCoefficient);
    for (let r = 0; r < repeats; r++) {
      const filtersIn = r === 0 ? roundFilters(stage.filtersIn, widthCoefficient) : filtersOut;
      const strides = r === 0 ? stage.strides : 1;
      const prefix = `block${stageIndex + 1}${String.fromCharCode(97 + r)}_`;
      const dropRate = (options.dropConnectRate * blockIndex) / totalBlocks;
      x = mbConvBlock(x, {
        prefix,
        filtersIn,
        filtersOut,
        kernelSize: stage.kernelSize,
        strides,
        expandRatio: stage.expandRatio,
        seRatio: stage.seRatio,
        dropRate,
        apply,
        bn,
        nextSeed,
      });
      blockIndex++;
    }
  });

  // Top: 1x1 convolution to 1280 x width channels.
  const topChannels = roundFilters(1280, widthCoefficient);
  x = apply(
    tf.layers.conv2d({
      filters: topChannels,
      kernelSize: 1,
      padding: 'same',
      useBias: false,
      kernelInitializer: convInitializer(nextSeed()),
      name: 'top_conv',
    }),
    x,
  );
  x = apply(bn('top_bn'), x);
  x = apply(tf.layers.activation({ activation: 'swish', name: 'top_activation' }), x);
  return { top: x, outputsByName, topChannels };
}

interface BlockArgs {
  prefix: string;
  filtersIn: number;
  filtersOut: number;
  kernelSize: number;
  strides: number;
  expandRatio: number;
  seRatio: number;
  dropRate: number;
  apply: (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => tf.SymbolicTensor;
  bn: (name: string) => tf.layers.Layer;
  nextSeed: () => number;
}

// One inverted-residual block: expand, depthwise, squeeze-and-excite, project, residual.
function mbConvBlock(inputs: tf.SymbolicTensor, args: BlockArgs): tf.SymbolicTensor {
  const { prefix, apply, bn, nextSeed } = args;
  const filters = args.filtersIn * args.expandRatio;
  let x = inputs;
  if (args.expandRatio !== 1) {
    x = apply(
      tf.layers.conv2d({
        filters,
        kernelSize: 1,
        padding: 'same',
        useBias: false,
        kernelInitializer: convInitializer(nextSeed()),
        name: `${prefix}expand_conv`,
      }),
      x,
    );
    x = apply(bn(`${prefix}expand_bn`), x);
    x = apply(tf.layers.activation({ activation: 'swish', name: `${prefix}expand_activation` }), x);
  }

  if (args.strides === 2) {
    x = apply(
      tf.layers.zeroPadding2d({
        padding: stride2Padding(args.kernelSize),
        name: `${prefix}dwconv_pad`,
      }),
      x,
    );
  }
  x = apply(
    tf.layers.depthwiseConv2d({
      kernelSize: args.kernelSize,
      strides: args.strides,
      padding: args.strides === 2 ? 'valid' : 'same',
      useBias: false,
      depthwiseInitializer: convInitializer(nextSeed()),
      name: `${prefix}dwconv`,
    }),
    x,
  );
  x = apply(bn(`${prefix}bn`), x);
  x = apply(tf.layers.activation({ activation: 'swish', name: `${prefix}activation` }), x);

  if (args.seRatio > 0 && args.seRatio <= 1) {
    const filtersSe = Math.max(1, Math.floor(args.filtersIn * args.seRatio));
    let se = apply(tf.layers.globalAveragePooling2d({ name: `${prefix}se_squeeze` }), x);
    se = apply(
      tf.layers.reshape({ targetShape: [1, 1, filters], name: `${prefix}se_reshape` }),
      se,
    );
    se = apply(
      tf.layers.conv2d({
        filters: filtersSe,
        kernelSize: 1,
        padding: 'same',
        activation: 'swish',
        kernelInitializer: convInitializer(nextSeed()),
        name: `${prefix}se_reduce`,
      }),
      se,
    );
    se = apply(
      tf.layers.conv2d({
        filters,
        kernelSize: 1,
        padding: 'same',
        activation: 'sigmoid',
        kernelInitializer: convInitializer(nextSeed()),
        name: `${prefix}se_expand`,
      }),
      se,
    );
    x = apply(tf.layers.multiply({ name: `${prefix}se_excite` }), [x, se]);
  }

  x = apply(
    tf.layers.conv2d({
      filters: args.filtersOut,
      kernelSize: 1,
      padding: 'same',
      useBias: false,
      kernelInitializer: convInitializer(nextSeed()),
      name: `${prefix}project_conv`,
    }),
    x,
  );
  x = apply(bn(`${prefix}project_bn`), x);

  if (args.strides === 1 && args.filtersIn === args.filtersOut) {
    if (args.dropRate > 0) {
      x = apply(
        tf.layers.dropout({
          rate: args.dropRate,
          // One keep-or-drop per sample; tfjs fills the null batch axis at call time.
          noiseShape: BLOCK_DROP_NOISE_SHAPE,
          name: `${prefix}drop`,
        }),
        x,
      );
    }
    x = apply(tf.layers.add({ name: `${prefix}add` }), [x, inputs]);
  }
  return x;
}
