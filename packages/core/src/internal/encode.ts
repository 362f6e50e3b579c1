// Runs the lesion U-Net over the kept slices of a volume in batches sized by a memory budget:
// one lesion label per voxel and one feature vector per kept slice.
import {
  type CtVolume,
  LesionEncError,
  type VolumeGeometry,
  throwIfAborted,
} from '@lesionenc/base';
import type { LesionUnet } from '@lesionenc/lesion-encoder';
import { applyWindow, resizeImageLinear } from '@lesionenc/preprocess';
import * as tf from '@tensorflow/tfjs-core';

/** The lung window the network sees (W1500 / L-600), before the per-slice stretch. */
export const NETWORK_INPUT_WINDOW = Object.freeze({ widthHu: 1500, centerHu: -600 });

/**
 * Estimated bytes of live activations per input pixel of one forward pass of the B0 U-Net
 * (float32, about 160 channels' worth at full resolution summed over the live tensors).
 */
export const ACTIVATION_BYTES_PER_PIXEL = 640;

/**
 * Maps one HU slice to the network's input scale: the lung window to [0, 1], then a min-max
 * stretch over the slice (a constant slice gives zeros), as the lesion encoder was trained.
 *
 * @param hu - The slice, row-major, HU.
 * @returns A new Float32Array in [0, 1].
 */
export function toNetworkInput(hu: ArrayLike<number>): Float32Array {
  const unit = applyWindow(hu, NETWORK_INPUT_WINDOW, { output: 'unit' }) as Float32Array;
  let low = Infinity;
  let high = -Infinity;
  for (const v of unit) {
    if (v < low) low = v;
    if (v > high) high = v;
  }
  const range = high - low;
  if (!(range > 0)) return new Float32Array(unit.length);
  for (let i = 0; i < unit.length; i++) unit[i] = (unit[i]! - low) / range;
  return unit;
}

/**
 * Slices per forward pass that fit a memory budget.
 *
 * @param budgetBytes - Bytes the activations of one batch may take.
 * @param inputPixels - Rows times columns of the network input.
 * @param outputPixels - Rows times columns of the slice (for the upsampled softmax).
 * @param classes - Output classes.
 * @returns At least 1.
 */
export function batchSizeForBudget(
  budgetBytes: number,
  inputPixels: number,
  outputPixels: number,
  classes: number,
): number {
  const perSlice = inputPixels * ACTIVATION_BYTES_PER_PIXEL + outputPixels * classes * 4 * 2;
  return Math.max(1, Math.floor(budgetBytes / perSlice));
}

/**
 * Pre-processes the kept slices for the network: window, stretch, resize to the input size.
 *
 * @param volume - The volume in HU.
 * @param kept - Slice indices.
 * @param inputSizePx - The network's `[rows, columns]`.
 * @param signal - Cancellation.
 * @returns `[kept.length, rows * columns]` row-major, in [0, 1].
 */
export function prepareSlices(
  volume: CtVolume,
  kept: readonly number[],
  inputSizePx: readonly [number, number],
  signal?: AbortSignal,
): Float32Array {
  const [, rows, columns] = volume.geometry.shape;
  const [netRows, netColumns] = inputSizePx;
  const plane = rows * columns;
  const netPlane = netRows * netColumns;
  const out = new Float32Array(kept.length * netPlane);
  kept.forEach((k, i) => {
    if (i % 16 === 0) throwIfAborted(signal, 'assess');
    let image = toNetworkInput(volume.data.subarray(k * plane, (k + 1) * plane));
    if (netRows !== rows || netColumns !== columns) {
      image = resizeImageLinear(image, rows, columns, netRows, netColumns);
    }
    out.set(image, i * netPlane);
  });
  return out;
}

/** What {@link encodeSlices} returns. */
export interface EncodedSlices {
  /** Lesion label per voxel of the whole volume (0 on slices not kept). */
  labels: Uint8Array;
  /** `[kept.length, featureSize]` row-major. */
  features: Float32Array;
  featureSize: number;
  batchSize: number;
}

/**
 * Encodes the kept slices of a volume. Every tensor made here is disposed before it returns.
 *
 * @param unet - The network (its input size must be fixed).
 * @param geometry - The volume's grid.
 * @param kept - Slice indices, ascending.
 * @param inputs - What {@link prepareSlices} made for them.
 * @param options - Memory budget, cancellation, and a callback per finished batch.
 * @returns Labels and features.
 */
export async function encodeSlices(
  unet: LesionUnet,
  geometry: VolumeGeometry,
  kept: readonly number[],
  inputs: Float32Array,
  options: { memoryBudgetBytes: number; signal?: AbortSignal; onSlices?: (done: number) => void },
): Promise<EncodedSlices> {
  const [slices, rows, columns] = geometry.shape;
  const size = unet.config.inputSizePx;
  if (size === null) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      'lesion encoder inputSizePx: expected a fixed [rows, columns], got null',
    );
  }
  const [netRows, netColumns] = size;
  const channels = unet.config.inputChannels;
  const classes = unet.config.classes.length;
  const featureSize = unet.featureSize;
  const batchSize = batchSizeForBudget(
    options.memoryBudgetBytes,
    netRows * netColumns,
    rows * columns,
    classes,
  );
  const plane = rows * columns;
  const netPlane = netRows * netColumns;
  const labels = new Uint8Array(slices * plane);
  const features = new Float32Array(kept.length * featureSize);

  for (let start = 0; start < kept.length; start += batchSize) {
    throwIfAborted(options.signal, 'assess');
    const count = Math.min(batchSize, kept.length - start);
    const input = new Float32Array(count * netPlane * channels);
    for (let b = 0; b < count; b++) {
      const from = (start + b) * netPlane;
      const offset = b * netPlane * channels;
      for (let p = 0; p < netPlane; p++) {
        const v = inputs[from + p]!;
        for (let c = 0; c < channels; c++) input[offset + p * channels + c] = v;
      }
    }
    const [argmax, feats] = tf.tidy(() => {
      const x = tf.tensor4d(input, [count, netRows, netColumns, channels]);
      const [mask, feat] = unet.model.predict(x) as tf.Tensor[];
      const probabilities =
        netRows === rows && netColumns === columns
          ? (mask as tf.Tensor4D)
          : tf.image.resizeBilinear(mask as tf.Tensor4D, [rows, columns]);
      return [tf.argMax(probabilities, -1), feat!];
    });
    try {
      const [labelData, featureData] = await Promise.all([argmax!.data(), feats!.data()]);
      for (let b = 0; b < count; b++) {
        const k = kept[start + b]!;
        labels.set(labelData.subarray(b * plane, (b + 1) * plane) as ArrayLike<number>, k * plane);
      }
      features.set(featureData as Float32Array, start * featureSize);
    } finally {
      argmax!.dispose();
      feats!.dispose();
    }
    options.onSlices?.(start + count);
  }
  return { labels, features, featureSize, batchSize };
}
