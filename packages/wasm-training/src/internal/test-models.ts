// Small models with the layer types of the project's networks, shared by the tests: a U-Net in
// the EfficientNet style and a 2-layer bidirectional LSTM classifier.
import { createRandom } from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Options of {@link buildTinyUnet}. */
export interface TinyUnetOptions {
  /** Input side in pixels (a multiple of 4). */
  sizePx: number;
  channels: number;
  classes: number;
  /** Batch normalisation after the convolutions (EfficientNet has it). */
  batchNorm: boolean;
}

/**
 * A two-level U-Net: a padded stride-2 stem, an MBConv-like block (depthwise conv, swish,
 * squeeze-excitation, residual add), a stride-2 depthwise conv, max pooling, nearest and bilinear
 * upsampling, concatenation, a transposed conv and a softmax head.
 */
export function buildTinyUnet(options: TinyUnetOptions): tfl.LayersModel {
  const { sizePx, channels, classes, batchNorm } = options;
  const width = 8;
  const norm = (x: tfl.SymbolicTensor) =>
    batchNorm ? (tfl.layers.batchNormalization().apply(x) as tfl.SymbolicTensor) : x;
  const apply = (layer: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]) =>
    layer.apply(x) as tfl.SymbolicTensor;

  const input = tfl.input({ shape: [sizePx, sizePx, channels] });
  let x = apply(
    tfl.layers.zeroPadding2d({
      padding: [
        [0, 1],
        [0, 1],
      ],
    }),
    input,
  );
  x = apply(
    tfl.layers.conv2d({ filters: width, kernelSize: 3, strides: 2, useBias: !batchNorm }),
    x,
  );
  const stem = apply(tfl.layers.activation({ activation: 'swish' }), norm(x));

  x = apply(
    tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: !batchNorm }),
    stem,
  );
  x = apply(tfl.layers.activation({ activation: 'swish' }), norm(x));
  let se = apply(tfl.layers.globalAveragePooling2d({}), x);
  se = apply(tfl.layers.reshape({ targetShape: [1, 1, width] }), se);
  se = apply(tfl.layers.conv2d({ filters: 2, kernelSize: 1, activation: 'swish' }), se);
  se = apply(tfl.layers.conv2d({ filters: width, kernelSize: 1, activation: 'sigmoid' }), se);
  x = apply(tfl.layers.multiply(), [x, se]);
  x = norm(apply(tfl.layers.conv2d({ filters: width, kernelSize: 1, useBias: !batchNorm }), x));
  const block = apply(tfl.layers.add(), [x, stem]);

  let down = apply(
    tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', useBias: !batchNorm }),
    block,
  );
  down = apply(tfl.layers.activation({ activation: 'relu' }), norm(down));
  const pooled = apply(tfl.layers.maxPooling2d({ poolSize: 2 }), block);
  down = apply(tfl.layers.concatenate(), [down, pooled]);
  down = apply(
    tfl.layers.conv2d({ filters: 12, kernelSize: 3, padding: 'same', activation: 'relu' }),
    down,
  );

  let up = apply(tfl.layers.upSampling2d({ size: [2, 2] }), down);
  up = apply(tfl.layers.concatenate(), [up, block]);
  up = apply(
    tfl.layers.conv2d({ filters: width, kernelSize: 3, padding: 'same', activation: 'relu' }),
    up,
  );
  up = apply(tfl.layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }), up);
  up = apply(tfl.layers.conv2dTranspose({ filters: 6, kernelSize: 3, padding: 'same' }), up);
  const output = apply(
    tfl.layers.conv2d({ filters: classes, kernelSize: 1, activation: 'softmax' }),
    up,
  );
  return tfl.model({ inputs: input, outputs: output });
}

/**
 * A sequence classifier: two bidirectional LSTM layers (the first returning sequences) and a
 * sigmoid unit. Glorot initialisation throughout (the orthogonal initializer of tfjs-layers
 * needs tfjs's chained ops, which tfjs-core alone does not install).
 */
export function buildTinyBiLstm(steps: number, features: number): tfl.LayersModel {
  const lstm = (returnSequences: boolean) =>
    tfl.layers.lstm({ units: 5, returnSequences, recurrentInitializer: 'glorotUniform' });
  const input = tfl.input({ shape: [steps, features] });
  let x = tfl.layers.bidirectional({ layer: lstm(true) }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.bidirectional({ layer: lstm(false) }).apply(x) as tfl.SymbolicTensor;
  const output = tfl.layers.dense({ units: 1, activation: 'sigmoid' }).apply(x);
  return tfl.model({ inputs: input, outputs: output as tfl.SymbolicTensor });
}

/** The model's weights as plain arrays, to copy a model to another backend exactly. */
export function readWeights(model: tfl.LayersModel): { data: Float32Array; shape: number[] }[] {
  return model.getWeights().map((w) => ({ data: w.dataSync() as Float32Array, shape: w.shape }));
}

/** Sets the model's weights from plain arrays, on the active backend. */
export function writeWeights(
  model: tfl.LayersModel,
  weights: readonly { data: Float32Array; shape: number[] }[],
): void {
  const tensors = weights.map((w) => tf.tensor(w.data, w.shape));
  model.setWeights(tensors);
  tf.dispose(tensors);
}

/**
 * Deterministic stand-ins for a model's initial weights: normal values scaled by the inverse
 * square root of each tensor's fan-in, from a seeded stream, so a test gives the same numbers on
 * every run (the layers' own initialisers are not seeded).
 */
export function seededWeights(
  like: readonly { data: Float32Array; shape: number[] }[],
  seed: number,
): { data: Float32Array; shape: number[] }[] {
  const random = createRandom(seed);
  return like.map(({ data, shape }) => {
    const fanIn = shape.length > 1 ? shape.slice(0, -1).reduce((a, b) => a * b, 1) : 1;
    const scale = shape.length > 1 ? 1 / Math.sqrt(fanIn) : 0.05;
    return { data: Float32Array.from(data, () => random.normal() * scale), shape: [...shape] };
  });
}
