// The kept slices of a volume prepared for the lesion U-Net and encoded in batches sized by a
// memory budget, on this thread or on a pool of worker threads.
import { type CtVolume, type VolumeGeometry, throwIfAborted } from '@lesionenc/base';
import { type LesionUnet, encodeSliceImages, toNetworkIntensity } from '@lesionenc/lesion-encoder';
import { resizeImageLinear } from '@lesionenc/preprocess';

import type { LesionEncoderPool } from '../pool';

/**
 * Estimated bytes of live activations per input pixel of one forward pass of the B0 U-Net
 * (float32, about 160 channels' worth at full resolution summed over the live tensors).
 */
export const ACTIVATION_BYTES_PER_PIXEL = 640;

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
 * Pre-processes the kept slices for the network exactly as its training data were: the lung
 * window and a per-slice stretch (`toNetworkIntensity`), then a resize to the input size.
 *
 * @param volume - The volume in HU, or 8-bit grey for already-windowed slices.
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
  const intensity = volume.unit === 'windowed' ? 'grey8' : 'hu';
  const out = new Float32Array(kept.length * netPlane);
  kept.forEach((k, i) => {
    if (i % 16 === 0) throwIfAborted(signal, 'prepare slices');
    let image = toNetworkIntensity(volume.data.subarray(k * plane, (k + 1) * plane), intensity);
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
 * Encodes the kept slices of a volume, on this thread with `unet` or over the pool's workers.
 *
 * @param encoder - The network (fixed input size) or a pool of workers holding it.
 * @param geometry - The volume's grid.
 * @param kept - Slice indices, ascending.
 * @param inputs - What {@link prepareSlices} made for them.
 * @param options - Memory budget, cancellation, and a callback per finished batch.
 * @returns Labels and features.
 */
export async function encodeSlices(
  encoder: { unet: LesionUnet } | { pool: LesionEncoderPool },
  geometry: VolumeGeometry,
  kept: readonly number[],
  inputs: Float32Array,
  options: {
    memoryBudgetBytes: number;
    featuresOnly?: boolean;
    signal?: AbortSignal;
    onSlices?: (done: number) => void;
  },
): Promise<EncodedSlices> {
  const [slices, rows, columns] = geometry.shape;
  const config = 'unet' in encoder ? encoder.unet.config : encoder.pool.config;
  const [netRows, netColumns] = config.inputSizePx ?? [rows, columns];
  const batchSize = batchSizeForBudget(
    options.memoryBudgetBytes,
    netRows * netColumns,
    rows * columns,
    config.classes.length,
  );
  throwIfAborted(options.signal, 'encode slices');
  const encoded =
    'unet' in encoder
      ? await encodeSliceImages(encoder.unet, inputs, kept.length, {
          outputSizePx: [rows, columns],
          batchSize,
          featuresOnly: options.featuresOnly === true,
          onSlices: (done) => {
            throwIfAborted(options.signal, 'encode slices');
            options.onSlices?.(done);
          },
        })
      : await encoder.pool.encode(inputs, kept.length, {
          outputSizePx: [rows, columns],
          batchSize,
          featuresOnly: options.featuresOnly === true,
          signal: options.signal,
          onSlices: options.onSlices,
        });

  // Labels of the kept slices into their places in the volume.
  const plane = rows * columns;
  const labels = new Uint8Array(slices * plane);
  kept.forEach((k, i) =>
    labels.set(encoded.labels.subarray(i * plane, (i + 1) * plane), k * plane),
  );
  return { labels, features: encoded.features, featureSize: encoded.featureSize, batchSize };
}
