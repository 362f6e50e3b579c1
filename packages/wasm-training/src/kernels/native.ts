// Gradient kernels that tfjs-wasm cannot express efficiently with its own operations, run as
// this package's own WebAssembly SIMD code (native/conv-grad.c). The operands are copied from
// the tfjs heap into the kernel module's memory and the result copied back: two passes over the
// data, against the dozens of passes the composite of slices and elementwise products makes.
import { WasmWorkspace, loadWasmKernels } from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-core';

import { WASM_BASE64 } from '../internal/conv-grad-wasm';
import type { ConvGeometry } from './conv-gradients';

interface ConvGradExports {
  depthwise_filter_grad(
    x: number,
    dy: number,
    dw: number,
    batch: number,
    inH: number,
    inW: number,
    channels: number,
    outH: number,
    outW: number,
    multiplier: number,
    kh: number,
    kw: number,
    strideH: number,
    strideW: number,
    dilationH: number,
    dilationW: number,
    padTop: number,
    padLeft: number,
  ): void;
}

/** The part of the wasm backend these kernels use. */
export interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.TypedArray;
}

let loaded: { exports: ConvGradExports; workspace: WasmWorkspace } | null | undefined;

function kernels(): { exports: ConvGradExports; workspace: WasmWorkspace } | null {
  if (loaded === undefined) {
    const module = loadWasmKernels<ConvGradExports>(WASM_BASE64);
    loaded = module ? { exports: module.exports, workspace: new WasmWorkspace(module) } : null;
  }
  return loaded;
}

/** Whether the SIMD kernels of this module can run here. */
export function nativeKernelsAvailable(): boolean {
  return kernels() !== null;
}

function isHeapBackend(backend: unknown): backend is WasmHeapBackend {
  const b = backend as Partial<WasmHeapBackend>;
  return typeof b.makeOutput === 'function' && typeof b.typedArrayFromHeap === 'function';
}

/**
 * The filter gradient of depthwiseConv2d (NHWC) by the SIMD kernel, reading both operands from
 * the wasm heap.
 *
 * @param backend - The wasm backend the kernel was called on.
 * @param x - Input, `[batch, inHeight, inWidth, channels]`, float32.
 * @param dy - Output gradient, `[batch, outHeight, outWidth, channels * multiplier]`, float32.
 * @param info - The forward convolution's geometry (depthwise).
 * @returns The filter gradient `[filterHeight, filterWidth, channels, multiplier]`, or
 *   `undefined` when the kernels or the heap access are not available (the caller falls back).
 */
export function depthwiseFilterGradientNative(
  backend: unknown,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: ConvGeometry,
): tf.TensorInfo | undefined {
  const native = kernels();
  if (native === null || !isHeapBackend(backend)) return undefined;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') return undefined;
  const channels = info.inChannels;
  const multiplier = info.outChannels / channels;
  const xCount = tf.util.sizeFromShape(x.shape);
  const dyCount = tf.util.sizeFromShape(dy.shape);
  const dwCount = info.filterHeight * info.filterWidth * info.outChannels;

  const { workspace, exports } = native;
  const at = workspace.layout({ x: ['f32', xCount], dy: ['f32', dyCount], dw: ['f32', dwCount] });
  workspace.f32(at.x, xCount).set(backend.typedArrayFromHeap(x) as Float32Array);
  workspace.f32(at.dy, dyCount).set(backend.typedArrayFromHeap(dy) as Float32Array);
  exports.depthwise_filter_grad(
    at.x,
    at.dy,
    at.dw,
    info.batchSize,
    info.inHeight,
    info.inWidth,
    channels,
    info.outHeight,
    info.outWidth,
    multiplier,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  );
  const out = backend.makeOutput(
    [info.filterHeight, info.filterWidth, channels, multiplier],
    'float32',
  );
  // The output view is taken after makeOutput, which may grow (and move) the tfjs heap.
  (backend.typedArrayFromHeap(out) as Float32Array).set(workspace.f32(at.dw, dwCount));
  return out;
}
