// Inference of the lesion U-Net on prepared slices: one label map at the slice's own size and one
// feature vector per slice, from the same forward pass, in batches.
import { LesionEncError } from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-core';
import {
  type LayersModel,
  type SymbolicTensor,
  model as layersModel,
} from '@tensorflow/tfjs-layers';

import { foldBatchNorm } from './internal/fold-batch-norm';
import {
  adoptAsInferenceModel,
  inferenceModelsOf,
  releaseInferenceModels,
} from './internal/inference-models';
import { FEATURE_OUTPUT_LAYER, type LesionUnet } from './unet';

/** Options of {@link encodeSliceImages}. */
export interface EncodeSliceImagesOptions {
  /** `[rows, columns]` the label maps are returned at (bilinear on the probabilities). */
  outputSizePx: readonly [number, number];
  /** Slices per forward pass. */
  batchSize: number;
  /** Called after each batch with the slices done so far. */
  onSlices?: (done: number) => void;
  /**
   * Run the encoder only (no decoder): features without lesion labels, several times cheaper.
   * `labels` then holds zeros (background). @defaultValue false
   */
  featuresOnly?: boolean;
}

/** What {@link encodeSliceImages} returns. Plain arrays, owned by the caller. */
export interface EncodedSliceImages {
  /** `[count, outputRows, outputColumns]` class indices (zeros with `featuresOnly`). */
  labels: Uint8Array;
  /** `[count, featureSize]`, row-major. */
  features: Float32Array;
  featureSize: number;
}

// The encoder half of each U-Net as a model of its own: same layers and weights, one output.
const featureModels = new WeakMap<LayersModel, LayersModel>();

/**
 * The U-Net's feature output as a model of its own that skips the decoder. It shares the U-Net's
 * layers and weights (nothing to dispose separately) and is made once per network.
 *
 * @param unet - The lesion U-Net.
 * @returns A model from the U-Net's input to its pooled bottleneck features.
 */
export function featureModelOf(unet: LesionUnet): LayersModel {
  let model = featureModels.get(unet.model);
  if (model === undefined) {
    model = layersModel({
      inputs: unet.model.inputs,
      outputs: unet.model.getLayer(FEATURE_OUTPUT_LAYER).output as SymbolicTensor,
      name: `${unet.model.name}_features`,
    });
    featureModels.set(unet.model, model);
  }
  return model;
}

/**
 * An inference-only twin of `unet`: batch normalisation folded into the convolutions (the same
 * outputs, a pass fewer over every normalised activation), one set of weights. `unet` is disposed
 * and must not be used again; the twin cannot be trained.
 *
 * @param unet - A lesion U-Net with its final weights.
 * @returns The twin, with its own `dispose()`.
 */
export function createInferenceUnet(unet: LesionUnet): LesionUnet {
  const folded = foldBatchNorm(unet.model).model;
  unet.dispose();
  adoptAsInferenceModel(folded, FEATURE_OUTPUT_LAYER);
  let disposed = false;
  return {
    model: folded,
    config: unet.config,
    featureSize: unet.featureSize,
    dispose: () => {
      if (disposed) return;
      disposed = true;
      releaseInferenceModels(folded);
      folded.dispose();
    },
  };
}

/**
 * Runs the lesion U-Net on slices already mapped to its input scale (see `toNetworkIntensity`)
 * and sized to its input: grey values, replicated to three channels when the network takes
 * three. Every tensor made here is released before it returns.
 *
 * @param unet - A network with a fixed input size.
 * @param images - `[count, inputRows, inputColumns]` in [0, 1], row-major.
 * @param count - Number of slices in `images`.
 * @param options - Output size, batch size, progress.
 * @returns Labels at the output size and one feature vector per slice.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for a network without a fixed input size or
 * a bad batch size, `SHAPE_MISMATCH` when `images` does not hold `count` input-sized slices.
 */
export async function encodeSliceImages(
  unet: LesionUnet,
  images: Float32Array,
  count: number,
  options: EncodeSliceImagesOptions,
): Promise<EncodedSliceImages> {
  const size = unet.config.inputSizePx;
  if (size === null) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      'lesion encoder inputSizePx: expected a fixed [rows, columns], got null',
    );
  }
  const [netRows, netColumns] = size;
  const [rows, columns] = options.outputSizePx;
  const netPlane = netRows * netColumns;
  if (images.length !== count * netPlane) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `slice images: expected ${count} x ${netRows} x ${netColumns} = ${count * netPlane} values, got ${images.length}`,
    );
  }
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `batchSize: expected a positive integer, got ${options.batchSize}`,
    );
  }
  const channels = unet.config.inputChannels;
  const featureSize = unet.featureSize;
  const plane = rows * columns;
  const labels = new Uint8Array(count * plane);
  const features = new Float32Array(count * featureSize);
  // Batch normalisation folded into the convolutions: the same outputs, one pass fewer over
  // every normalised activation.
  const inference = inferenceModelsOf(unet.model, FEATURE_OUTPUT_LAYER);
  if (options.featuresOnly === true) {
    const model = inference.features;
    for (let start = 0; start < count; start += options.batchSize) {
      const n = Math.min(options.batchSize, count - start);
      const feats = tf.tidy(() => {
        const grey = tf.tensor4d(images.subarray(start * netPlane, (start + n) * netPlane), [
          n,
          netRows,
          netColumns,
          1,
        ]);
        return model.predict(channels === 3 ? tf.tile(grey, [1, 1, 1, 3]) : grey) as tf.Tensor;
      });
      try {
        features.set((await feats.data()) as Float32Array, start * featureSize);
      } finally {
        feats.dispose();
      }
      options.onSlices?.(start + n);
    }
    return { labels, features, featureSize };
  }

  for (let start = 0; start < count; start += options.batchSize) {
    const n = Math.min(options.batchSize, count - start);
    const [argmax, feats] = tf.tidy(() => {
      const grey = tf.tensor4d(images.subarray(start * netPlane, (start + n) * netPlane), [
        n,
        netRows,
        netColumns,
        1,
      ]);
      const x = channels === 3 ? tf.tile(grey, [1, 1, 1, 3]) : grey;
      const [mask, feat] = inference.full.predict(x) as tf.Tensor[];
      const probabilities =
        netRows === rows && netColumns === columns
          ? (mask as tf.Tensor4D)
          : tf.image.resizeBilinear(mask as tf.Tensor4D, [rows, columns]);
      return [tf.argMax(probabilities, -1), feat!];
    });
    try {
      const [labelData, featureData] = await Promise.all([argmax!.data(), feats!.data()]);
      labels.set(labelData as ArrayLike<number>, start * plane);
      features.set(featureData as Float32Array, start * featureSize);
    } finally {
      argmax!.dispose();
      feats!.dispose();
    }
    options.onSlices?.(start + n);
  }
  return { labels, features, featureSize };
}
