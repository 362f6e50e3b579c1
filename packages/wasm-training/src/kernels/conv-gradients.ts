// The gradients of conv2d and depthwiseConv2d, written as forward convolutions, matrix products
// and elementwise reductions, which the wasm backend runs through XNNPACK or its SIMD kernels.
import * as tf from '@tensorflow/tfjs-core';

import { zeroPaddedWindow } from '../internal/bridge';
import { createTapReader } from '../internal/taps';

/** The geometry of one 2D convolution, as tfjs computes it for its kernels. */
export type ConvGeometry = tf.backend_util.Conv2DInfo;

// Rows of the patch matrix multiplied at once: enough to keep the matrix product efficient when
// a layer has few input channels (the stem), small enough to bound the memory of one group.
const TARGET_PATCH_ROWS = 128;
const MAX_PATCH_GROUP_BYTES = 64 * 1024 * 1024;

/**
 * Inserts `stride - 1` zeros after every row and column of an NHWC tensor (the input of a
 * transposed convolution), so a stride-1 convolution can play the role of the strided one.
 */
export function upsampleWithZeros(
  dy: tf.Tensor4D,
  strides: readonly [number, number],
): tf.Tensor4D {
  const [sh, sw] = strides;
  if (sh === 1 && sw === 1) return dy;
  const [n, ho, wo, c] = dy.shape;
  const spread = tf.reshape(dy, [n, ho, 1, wo, 1, c]);
  const padded = tf.pad(spread, [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  return tf.reshape(padded, [n, ho * sh, wo * sw, c]);
}

/**
 * Rotates a `[filterHeight, filterWidth, ...]` filter by 180 degrees: one slice per tap, joined
 * in reverse order (the Reverse kernel of tfjs-wasm is about ten times slower).
 */
function rotateFilter(filter: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, a, b] = filter.shape;
  const taps = kh * kw;
  if (taps === 1) return filter;
  const rows = tf.reshape(filter, [taps, a * b]);
  const reversed: tf.Tensor[] = [];
  for (let t = taps - 1; t >= 0; t--) reversed.push(tf.slice(rows, [t, 0], [1, a * b]));
  return tf.reshape(tf.concat(reversed, 0), [kh, kw, a, b]);
}

/**
 * The window of the zero-upsampled output gradient that a stride-1 'valid' convolution with the
 * flipped filter turns into the input gradient.
 */
function inputGradientWindow(dy: tf.Tensor4D, info: ConvGeometry): tf.Tensor4D {
  const dilated = upsampleWithZeros(dy, [info.strideHeight, info.strideWidth]);
  const extentH = (info.filterHeight - 1) * info.dilationHeight;
  const extentW = (info.filterWidth - 1) * info.dilationWidth;
  return zeroPaddedWindow(
    dilated,
    [1, 2],
    [info.padInfo.top - extentH, info.padInfo.left - extentW],
    [info.inHeight + extentH, info.inWidth + extentW],
  ) as tf.Tensor4D;
}

/**
 * Filter gradient of conv2d, NHWC: for each filter tap, the strided input window (channels
 * first) times the output gradient as one matrix product, taps grouped so each product has
 * about {@link TARGET_PATCH_ROWS} rows.
 *
 * @param x - Input, `[batch, inHeight, inWidth, inChannels]`.
 * @param dy - Output gradient, `[batch, outHeight, outWidth, outChannels]`.
 * @param info - The forward convolution's geometry.
 * @returns The gradient of the filter, `[filterHeight, filterWidth, inChannels, outChannels]`.
 */
export function conv2dFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  info: ConvGeometry,
): tf.Tensor4D {
  if (info.strideHeight === 1 && info.strideWidth === 1)
    return unitStrideFilterGradient(x, dy, info);
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const positions = info.batchSize * info.outHeight * info.outWidth;
  const channelsFirst = tf.transpose(x, [3, 0, 1, 2]);
  const tap = createTapReader(channelsFirst, {
    axes: [2, 3],
    outSize: [info.outHeight, info.outWidth],
    filterSize: [kh, kw],
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    padBefore: [info.padInfo.top, info.padInfo.left],
  });
  const dyMatrix = tf.reshape(dy, [positions, co]);

  const taps = kh * kw;
  const byRows = Math.ceil(TARGET_PATCH_ROWS / ci);
  const byBytes = Math.floor(MAX_PATCH_GROUP_BYTES / (4 * ci * positions));
  const groupSize = Math.max(1, Math.min(taps, byRows, byBytes));
  const groups: tf.Tensor[] = [];
  for (let first = 0; first < taps; first += groupSize) {
    groups.push(
      tf.tidy(() => {
        const rows: tf.Tensor[] = [];
        for (let t = first; t < Math.min(first + groupSize, taps); t++) {
          rows.push(tf.reshape(tap(Math.floor(t / kw), t % kw), [ci, positions]));
        }
        const patches = rows.length === 1 ? rows[0]! : tf.concat(rows, 0);
        return tf.matMul(patches as tf.Tensor2D, dyMatrix);
      }),
    );
  }
  const stacked = groups.length === 1 ? groups[0]! : tf.concat(groups, 0);
  return tf.reshape(stacked, [kh, kw, ci, co]);
}

/**
 * Filter gradient of a stride-1 conv2d, NHWC, without cutting a window per tap. The padded input
 * is flattened to `[channels, positions]` over the padded grid, and the output gradient is placed
 * on the same grid with zeros in the rows and columns no output occupies. On that grid the input
 * a tap reads for output position p is position p plus a fixed offset
 * (`tapRow * dilationH * paddedWidth + tapColumn * dilationW`), so each tap's patch matrix is a
 * block of whole columns of one matrix: one product per tap, and no strided window copies.
 * Positions that fall between rows meet a zero gradient and add nothing.
 */
function unitStrideFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  info: ConvGeometry,
): tf.Tensor4D {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const { top, bottom, left, right } = info.padInfo;
  const paddedHeight = info.inHeight + top + bottom;
  const paddedWidth = info.inWidth + left + right;
  const grid = info.batchSize * paddedHeight * paddedWidth;
  const padded =
    top === 0 && bottom === 0 && left === 0 && right === 0
      ? x
      : tf.pad(x, [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ]);
  const inputColumns = tf.transpose(tf.reshape(padded, [grid, ci])) as tf.Tensor2D;
  const gradientOnGrid = tf.reshape(
    tf.pad(dy, [
      [0, 0],
      [0, paddedHeight - info.outHeight],
      [0, paddedWidth - info.outWidth],
      [0, 0],
    ]),
    [grid, co],
  );
  const lastOffset = (kh - 1) * info.dilationHeight * paddedWidth + (kw - 1) * info.dilationWidth;
  const used = grid - lastOffset;
  const gradient = (
    used === grid ? gradientOnGrid : tf.slice(gradientOnGrid, [0, 0], [used, co])
  ) as tf.Tensor2D;
  const taps: tf.Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const offset = i * info.dilationHeight * paddedWidth + j * info.dilationWidth;
      taps.push(
        tf.tidy(() => {
          const patches =
            used === grid ? inputColumns : tf.slice(inputColumns, [0, offset], [ci, used]);
          return tf.matMul(patches, gradient);
        }),
      );
    }
  }
  return tf.reshape(taps.length === 1 ? taps[0]! : tf.stack(taps), [kh, kw, ci, co]);
}

/**
 * Input gradient of conv2d, NHWC: a stride-1 forward convolution of the zero-upsampled output
 * gradient with the filter rotated by 180 degrees and its channel axes swapped.
 *
 * @param dy - Output gradient, `[batch, outHeight, outWidth, outChannels]`.
 * @param filter - The forward filter, `[filterHeight, filterWidth, inChannels, outChannels]`.
 * @param info - The forward convolution's geometry.
 * @returns The gradient of the input, `[batch, inHeight, inWidth, inChannels]`.
 */
export function conv2dInputGradient(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  info: ConvGeometry,
): tf.Tensor4D {
  const window = inputGradientWindow(dy, info);
  const flipped = tf.transpose(rotateFilter(filter), [0, 1, 3, 2]) as tf.Tensor4D;
  return tf.conv2d(window, flipped, 1, 'valid', 'NHWC', [info.dilationHeight, info.dilationWidth]);
}

/**
 * Filter gradient of depthwiseConv2d, NHWC: for each tap, the strided input window times the
 * output gradient, summed over batch and positions per channel (channels first, so the sum runs
 * over the innermost axis).
 *
 * @param x - Input, `[batch, inHeight, inWidth, channels]`.
 * @param dy - Output gradient, `[batch, outHeight, outWidth, channels * multiplier]`.
 * @param info - The forward convolution's geometry (depthwise).
 * @returns The gradient of the filter, `[filterHeight, filterWidth, channels, multiplier]`.
 */
export function depthwiseFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  info: ConvGeometry,
): tf.Tensor4D {
  const { filterHeight: kh, filterWidth: kw, inChannels: c } = info;
  const multiplier = info.outChannels / c;
  const positions = info.batchSize * info.outHeight * info.outWidth;
  const tap = createTapReader(tf.transpose(x, [3, 0, 1, 2]), {
    axes: [2, 3],
    outSize: [info.outHeight, info.outWidth],
    filterSize: [kh, kw],
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    padBefore: [info.padInfo.top, info.padInfo.left],
  });
  // [channels, multiplier, positions]: the output channel index is channel * multiplier + m.
  const dyChannels = tf.reshape(
    tf.transpose(tf.reshape(dy, [positions, c, multiplier]), [1, 2, 0]),
    [c, multiplier, positions],
  );

  const taps: tf.Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      taps.push(
        tf.tidy(() => {
          const window = tf.reshape(tap(i, j), [c, 1, positions]);
          return tf.sum(tf.mul(window, dyChannels), 2);
        }),
      );
    }
  }
  return tf.reshape(tf.stack(taps), [kh, kw, c, multiplier]);
}

/**
 * Input gradient of depthwiseConv2d, NHWC: a stride-1 depthwise convolution of the
 * zero-upsampled output gradient with the filter rotated by 180 degrees, each output channel
 * on its own, then summed over the channel multiplier.
 *
 * @param dy - Output gradient, `[batch, outHeight, outWidth, channels * multiplier]`.
 * @param filter - The forward filter, `[filterHeight, filterWidth, channels, multiplier]`.
 * @param info - The forward convolution's geometry (depthwise).
 * @returns The gradient of the input, `[batch, inHeight, inWidth, channels]`.
 */
export function depthwiseInputGradient(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  info: ConvGeometry,
): tf.Tensor4D {
  const [kh, kw, c, multiplier] = filter.shape;
  const window = inputGradientWindow(dy, info);
  const flipped = tf.reshape(rotateFilter(filter), [kh, kw, c * multiplier, 1]);
  const perOutput = tf.depthwiseConv2d(window, flipped as tf.Tensor4D, 1, 'valid', 'NHWC', [
    info.dilationHeight,
    info.dilationWidth,
  ]);
  if (multiplier === 1) return perOutput;
  const [n, h, w] = perOutput.shape;
  return tf.sum(tf.reshape(perOutput, [n, h, w, c, multiplier]), 4);
}
