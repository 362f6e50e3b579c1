// Correct replacements for kernels that give wrong gradients: MaxPoolGrad on wasm and
// ResizeNearestNeighborGrad on cpu (tfjs 4.22), found by replaying a U-Net training step.
import * as tf from '@tensorflow/tfjs-core';

import { zeroPaddedWindow } from '../internal/bridge';
import { createTapReader } from '../internal/taps';
import { upsampleWithZeros } from './conv-gradients';

/**
 * Input gradient of 2D max pooling, NHWC: each output's gradient goes to the first position of
 * its window (row-major) that holds the window's maximum, as the cpu backend does. Built from
 * one comparison per window tap and the adjoint of the tap's strided read.
 *
 * @param x - The pooling input, `[batch, inHeight, inWidth, channels]`.
 * @param y - The pooling output, `[batch, outHeight, outWidth, channels]`.
 * @param dy - The output gradient, shaped like `y`.
 * @param info - The pooling geometry (`tf.backend_util.computePool2DInfo`).
 * @returns The gradient of `x`.
 */
export function maxPoolInputGradient(
  x: tf.Tensor4D,
  y: tf.Tensor4D,
  dy: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
): tf.Tensor4D {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const tap = createTapReader(x, {
    axes: [1, 2],
    outSize: [info.outHeight, info.outWidth],
    filterSize: [kh, kw],
    strides: [sh, sw],
    dilations: [1, 1],
    padBefore: [top, left],
    padValue: Number.NEGATIVE_INFINITY,
  });

  let claimed: tf.Tensor = tf.cast(tf.zerosLike(y), 'bool');
  const parts: tf.Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const [part, nowClaimed] = tf.tidy(() => {
        const hit = tf.logicalAnd(tf.equal(tap(i, j), y), tf.logicalNot(claimed));
        const share = tf.where(hit, dy, tf.zerosLike(dy)) as tf.Tensor4D;
        // Put each share back where the tap read it from: the adjoint of the strided window.
        const spread = upsampleWithZeros(share, [sh, sw]);
        const placed = zeroPaddedWindow(
          spread,
          [1, 2],
          [top - i, left - j],
          [info.inHeight, info.inWidth],
        );
        return [placed, tf.logicalOr(claimed, hit)];
      });
      claimed.dispose();
      claimed = nowClaimed;
      parts.push(part);
    }
  }
  claimed.dispose();
  return (parts.length === 1 ? parts[0]! : tf.addN(parts)) as tf.Tensor4D;
}

/**
 * Where nearest-neighbour resizing reads output row (or column) `index` from, exactly as the
 * forward kernels of tfjs compute it.
 */
function nearestSource(
  index: number,
  inSize: number,
  outSize: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): number {
  const ratio = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  const fraction = halfPixelCenters ? ratio * (index + 0.5) : ratio * index;
  let source = Math.min(inSize - 1, alignCorners ? Math.round(fraction) : Math.floor(fraction));
  if (halfPixelCenters) source = Math.max(0, source);
  return source;
}

interface ReadWriteBackend {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId;
}

/** What both resize-gradient loops start from: shapes, the output gradient, the source maps. */
function resizeGradSetup<T>(
  { inputs, backend, attrs }: Parameters<tf.KernelFunc>[0],
  source: (index: number, inSize: number, outSize: number, align: boolean, half: boolean) => T,
) {
  const images = inputs.images!;
  const dy = inputs.dy!;
  const { alignCorners, halfPixelCenters } = attrs as unknown as {
    alignCorners: boolean;
    halfPixelCenters?: boolean;
  };
  const io = backend as unknown as ReadWriteBackend;
  const [batch, inH, inW, channels] = images.shape as [number, number, number, number];
  const [, outH, outW] = dy.shape as [number, number, number, number];
  const half = halfPixelCenters ?? false;
  return {
    images,
    io,
    sizes: { batch, inH, inW, channels, outH, outW },
    dyValues: io.readSync(dy.dataId) as Float32Array,
    dx: new Float32Array(batch * inH * inW * channels),
    rows: Array.from({ length: outH }, (_, r) => source(r, inH, outH, alignCorners, half)),
    columns: Array.from({ length: outW }, (_, c) => source(c, inW, outW, alignCorners, half)),
  };
}

/**
 * ResizeNearestNeighborGrad in plain JavaScript, for any backend that can read and write data:
 * scatters each output gradient to the input pixel the forward pass read it from. Replaces the
 * cpu kernel of tfjs 4.22, which indexes the output gradient with the input's batch stride (every
 * image after the first gets a wrong gradient), and the wasm kernel when `halfPixelCenters` is
 * set, which it ignores.
 */
export const resizeNearestNeighborGradLoop: tf.KernelFunc = (args) => {
  const { images, io, sizes, dyValues, dx, rows, columns } = resizeGradSetup(args, nearestSource);
  const { batch, inH, inW, channels, outH, outW } = sizes;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < outH; r++) {
      for (let c = 0; c < outW; c++) {
        const from = ((b * outH + r) * outW + c) * channels;
        const to = ((b * inH + rows[r]!) * inW + columns[c]!) * channels;
        for (let d = 0; d < channels; d++) dx[to + d] = dx[to + d]! + dyValues[from + d]!;
      }
    }
  }
  return { dataId: io.write(dx, images.shape, 'float32'), shape: images.shape, dtype: 'float32' };
};

/** Where bilinear resizing reads output row (or column) `index` from, as tfjs computes it. */
function bilinearSource(
  index: number,
  inSize: number,
  outSize: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): { low: number; high: number; fraction: number } {
  const ratio = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  const position = halfPixelCenters ? ratio * (index + 0.5) - 0.5 : ratio * index;
  const low = Math.max(0, Math.floor(position));
  return { low, high: Math.min(inSize - 1, Math.ceil(position)), fraction: position - low };
}

/**
 * ResizeBilinearGrad in plain JavaScript, for any backend that can read and write data: spreads
 * each output gradient over the four input pixels the forward pass blended, with the same
 * weights. Used when `halfPixelCenters` is set, which the cpu and wasm kernels of tfjs 4.22
 * ignore.
 */
export const resizeBilinearGradLoop: tf.KernelFunc = (args) => {
  const { images, io, sizes, dyValues, dx, rows, columns } = resizeGradSetup(args, bilinearSource);
  const { batch, inH, inW, channels, outH, outW } = sizes;
  const add = (offset: number, value: number) => {
    dx[offset] = dx[offset]! + value;
  };
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < outH; r++) {
      const row = rows[r]!;
      const top = (b * inH + row.low) * inW;
      const bottom = (b * inH + row.high) * inW;
      for (let c = 0; c < outW; c++) {
        const column = columns[c]!;
        const from = ((b * outH + r) * outW + c) * channels;
        const weightTop = 1 - row.fraction;
        const weightLeft = 1 - column.fraction;
        for (let d = 0; d < channels; d++) {
          const g = dyValues[from + d]!;
          add((top + column.low) * channels + d, g * weightTop * weightLeft);
          add((top + column.high) * channels + d, g * weightTop * column.fraction);
          add((bottom + column.low) * channels + d, g * row.fraction * weightLeft);
          add((bottom + column.high) * channels + d, g * row.fraction * column.fraction);
        }
      }
    }
  }
  return { dataId: io.write(dx, images.shape, 'float32'), shape: images.shape, dtype: 'float32' };
};
