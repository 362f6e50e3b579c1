// Registers the training kernels on the wasm backend: the gradients tfjs-backend-wasm 4.22 lacks,
// and faster forms of the ones it runs slowly.
import { LesionEncError, createLogger } from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-core';

import { runComposite } from '../internal/bridge';
import {
  type ConvGeometry,
  conv2dFilterGradient,
  conv2dInputGradient,
  depthwiseFilterGradient,
  depthwiseInputGradient,
} from './conv-gradients';
import { fusedBatchNormGradient } from './batch-norm-gradient';
import { patchBatchNormalizationTraining } from './batch-norm-training';
import { heapSlice } from './slice';
import { depthwiseFilterGradientNative } from './native';
import {
  maxPoolInputGradient,
  resizeBilinearGradLoop,
  resizeNearestNeighborGradLoop,
} from './fixes';

const log = createLogger('lesionenc.wasm-training.kernels');

const BACKEND = 'wasm';

/**
 * The kernels {@link registerWasmTrainingKernels} puts on the wasm backend, and why.
 *
 * Missing from tfjs-backend-wasm 4.22 (training stops with "Kernel ... not registered"):
 * - `Conv2DBackpropFilter`: filter gradient of conv2d (every conv layer).
 * - `DepthwiseConv2dNativeBackpropFilter`: filter gradient of depthwiseConv2d (this package's
 *   own SIMD kernel, native/conv-grad.c, where WebAssembly SIMD runs; else tfjs ops).
 * - `DepthwiseConv2dNativeBackpropInput`: input gradient of depthwiseConv2d.
 *
 * Present but slow (measured on a 2-core machine, one thread):
 * - `Conv2DBackpropInput`: a direct loop about 10x slower than the forward conv2d it mirrors;
 *   replaced by a forward convolution of the zero-upsampled gradient.
 * - `Slice`: reads the whole input back into a new JavaScript array before copying the part it
 *   keeps, so each tap the gradients cut from a large activation costs a copy of all of it
 *   (about 10 ms per 2 MB row of an 18 MB tensor). Replaced by a copy straight from the heap.
 * - `BatchMatMul` and `_FusedMatMul` with `transposeA` or `transposeB`: 10-50x slower than
 *   without; dense and LSTM gradients use both flags. Replaced by an explicit transpose followed
 *   by the untransposed product.
 * - `ResizeNearestNeighborGrad` for whole-number upscaling (UpSampling2D): several times slower
 *   than the average pool times the block size it equals; replaced by that.
 *
 * Present but wrong:
 * - `ResizeNearestNeighborGrad` and `ResizeBilinearGrad` with `halfPixelCenters`: the wasm
 *   kernels ignore the flag; those calls run a JavaScript loop on the data instead (logged
 *   once). Upsampling layers of tfjs-layers do not set it and keep the wasm kernels.
 * - `MaxPoolGrad`: gives gradients unrelated to the pooling windows (relative error near 1 on a
 *   2x2, stride-2 pool of a [2, 8, 8, 8] input). Replaced by a composite that routes each
 *   gradient to the first maximum of its window, as the cpu backend does.
 *
 * Besides kernels, the gradient function of `FusedBatchNorm` is replaced (on every backend: it
 * is the same math): tfjs-core tiles the per-channel factors to the size of the activations,
 * which on wasm took more time than all convolutions of an EfficientNet U-Net step.
 * And tfjs-layers' BatchNormalization in training mode runs as one operation with a closed-form
 * gradient (`batchNormTraining`, also every backend) instead of `moments` and `batchNorm`
 * differentiated op by op: about a third less time per normalisation.
 *
 * Found by tracing the kernels one Adam step (forward, backward, update) dispatches for an
 * EfficientNet-style U-Net (conv, batch norm, ReLU, swish, depthwise conv, squeeze-excitation,
 * max pooling, nearest and bilinear upsampling, transposed conv, concatenation, softmax,
 * dropout) and a 2-layer bidirectional LSTM, and comparing with `tf.getKernelsForBackend('wasm')`
 * (see `traceKernels`). Every other kernel those steps dispatch is registered on wasm.
 */
export const WASM_TRAINING_KERNELS: readonly string[] = Object.freeze([
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'Conv2DBackpropInput',
  'BatchMatMul',
  '_FusedMatMul',
  'MaxPoolGrad',
  'ResizeNearestNeighborGrad',
  'ResizeBilinearGrad',
  'Slice',
]);

/**
 * The kernels {@link registerCpuTrainingFixes} replaces on the cpu backend, which the tests of
 * this package use as the reference.
 *
 * - `ResizeNearestNeighborGrad`: indexes the output gradient with the input's batch stride, so
 *   every image after the first of a batch gets a wrong gradient (nearest upsampling layers).
 * - `ResizeBilinearGrad`: labels its result `[batch, width, height, channels]`, so the gradient
 *   of a non-square image has the wrong shape and training stops; and it ignores
 *   `halfPixelCenters` (those calls run a JavaScript loop that mirrors the forward kernel).
 */
export const CPU_TRAINING_FIXES: readonly string[] = Object.freeze([
  'ResizeNearestNeighborGrad',
  'ResizeBilinearGrad',
]);

function relabelResizeGrad(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { halfPixelCenters } = args.attrs as unknown as tf.ResizeBilinearGradAttrs;
    if (halfPixelCenters) return resizeBilinearGradLoop(args);
    const out = original(args) as tf.TensorInfo;
    const images = input(args.inputs, 'images');
    // The values are laid out in the input's order; only the shape is wrong.
    return { dataId: out.dataId, shape: images.shape.slice(), dtype: out.dtype };
  };
}

const ours = new WeakSet<tf.KernelFunc>();

/** The named input of a kernel call; the engine always passes the inputs an op declares. */
function input(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const info = inputs[name];
  if (info === undefined) throw new Error(`kernel input ${name}: expected a tensor, got nothing`);
  return info;
}

function toNhwc(t: tf.Tensor4D, dataFormat: 'NHWC' | 'NCHW'): tf.Tensor4D {
  return dataFormat === 'NCHW' ? tf.transpose(t, [0, 2, 3, 1]) : t;
}

function nhwcShape(
  shape: readonly [number, number, number, number],
  dataFormat: 'NHWC' | 'NCHW',
): [number, number, number, number] {
  const [a, b, c, d] = shape;
  return dataFormat === 'NCHW' ? [a, c, d, b] : [a, b, c, d];
}

function geometry(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: {
    strides: number | [number, number];
    dilations?: number | [number, number];
    pad: tf.Conv2DBackpropFilterAttrs['pad'];
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  },
  depthwise: boolean,
): ConvGeometry {
  return tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    'channelsLast',
  );
}

const conv2dBackpropFilter: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const format = a.dataFormat ?? 'NHWC';
  return runComposite(backend, [input(inputs, 'x'), input(inputs, 'dy')], ([xt, dyt]) => {
    const xN = toNhwc(xt as tf.Tensor4D, format);
    const info = geometry(xN.shape, a.filterShape, a, false);
    return conv2dFilterGradient(xN, toNhwc(dyt as tf.Tensor4D, format), info);
  });
};

const conv2dBackpropInput: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const format = a.dataFormat ?? 'NHWC';
  return runComposite(backend, [input(inputs, 'dy'), input(inputs, 'filter')], ([dyt, filtert]) => {
    const f = filtert as tf.Tensor4D;
    const info = geometry(nhwcShape(a.inputShape, format), f.shape, a, false);
    const dx = conv2dInputGradient(toNhwc(dyt as tf.Tensor4D, format), f, info);
    return format === 'NCHW' ? tf.transpose(dx, [0, 3, 1, 2]) : dx;
  });
};

const depthwiseBackpropFilter: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const x = input(inputs, 'x');
  const dy = input(inputs, 'dy');
  const info = geometry(x.shape as [number, number, number, number], a.filterShape, a, true);
  const native = depthwiseFilterGradientNative(backend, x, dy, info);
  if (native !== undefined) return native;
  return runComposite(backend, [x, dy], ([xt, dyt]) =>
    depthwiseFilterGradient(xt as tf.Tensor4D, dyt as tf.Tensor4D, info),
  );
};

const depthwiseBackpropInput: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  return runComposite(backend, [input(inputs, 'dy'), input(inputs, 'filter')], ([dyt, filtert]) => {
    const f = filtert as tf.Tensor4D;
    const info = geometry(a.inputShape, f.shape, a, true);
    return depthwiseInputGradient(dyt as tf.Tensor4D, f, info);
  });
};

/** Swaps the last two axes (the matrix axes of a batched matrix product). */
function transposeInner(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, axis) => axis);
  const last = perm.length - 1;
  perm[last] = last - 1;
  perm[last - 1] = last;
  return tf.transpose(t, perm);
}

function batchMatMul(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const a = args.attrs as unknown as tf.BatchMatMulAttrs;
    if (!a.transposeA && !a.transposeB) return original(args);
    const operands = [input(args.inputs, 'a'), input(args.inputs, 'b')];
    return runComposite(args.backend, operands, ([l, r]) =>
      tf.matMul(a.transposeA ? transposeInner(l!) : l!, a.transposeB ? transposeInner(r!) : r!),
    );
  };
}

function fusedMatMul(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const a = args.attrs as unknown as tf._FusedMatMulAttrs;
    if (!a.transposeA && !a.transposeB) return original(args);
    const { bias, preluActivationWeights } = args.inputs;
    const present = [
      input(args.inputs, 'a'),
      input(args.inputs, 'b'),
      bias,
      preluActivationWeights,
    ].filter((t): t is tf.TensorInfo => t !== undefined);
    return runComposite(args.backend, present, (tensors) => {
      const [l, r] = tensors;
      let next = 2;
      const biasTensor = bias === undefined ? undefined : tensors[next++];
      const prelu = preluActivationWeights === undefined ? undefined : tensors[next++];
      return tf.fused.matMul({
        a: a.transposeA ? transposeInner(l!) : l!,
        b: a.transposeB ? transposeInner(r!) : r!,
        bias: biasTensor,
        activation: a.activation,
        preluActivationWeights: prelu,
        leakyreluAlpha: a.leakyreluAlpha,
      });
    });
  };
}

const maxPoolGrad: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as tf.MaxPoolGradAttrs;
  const operands = [input(inputs, 'dy'), input(inputs, 'input'), input(inputs, 'output')];
  return runComposite(backend, operands, ([dyt, xt, yt]) => {
    const x = xt as tf.Tensor4D;
    const info = tf.backend_util.computePool2DInfo(
      x.shape,
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    return maxPoolInputGradient(x, yt as tf.Tensor4D, dyt as tf.Tensor4D, info);
  });
};

function halfPixelResizeGrad(
  kernelName: string,
  original: tf.KernelFunc,
  loop: tf.KernelFunc,
): tf.KernelFunc {
  return (args) => {
    const { halfPixelCenters } = args.attrs as unknown as { halfPixelCenters?: boolean };
    if (halfPixelCenters !== true) return original(args);
    log.warnOnce(
      `${kernelName}-half-pixel`,
      `${kernelName} with halfPixelCenters: the wasm kernel ignores the flag; ` +
        'running a JavaScript loop over the data instead',
    );
    return loop(args);
  };
}

/**
 * ResizeNearestNeighborGrad for a whole-number upscaling (each input pixel copied to a k x m
 * block, as UpSampling2D does) is the sum over each block: an average pool times k m, which
 * XNNPACK runs several times faster than the wasm gradient kernel. Other cases go to `next`.
 */
function blockNearestGrad(next: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { alignCorners, halfPixelCenters } = args.attrs as unknown as {
      alignCorners?: boolean;
      halfPixelCenters?: boolean;
    };
    const images = input(args.inputs, 'images');
    const dy = input(args.inputs, 'dy');
    const [, inH, inW] = images.shape as [number, number, number, number];
    const [, outH, outW] = dy.shape as [number, number, number, number];
    const k = outH / inH;
    const m = outW / inW;
    const whole = Number.isInteger(k) && Number.isInteger(m) && (k > 1 || m > 1);
    if (alignCorners === true || halfPixelCenters === true || !whole || dy.dtype !== 'float32') {
      return next(args);
    }
    return runComposite(args.backend, [dy], ([g]) =>
      tf.mul(tf.avgPool(g as tf.Tensor4D, [k, m], [k, m], 'valid'), k * m),
    );
  };
}

function install(
  kernelName: string,
  backendName: string,
  make: (original: tf.KernelFunc | undefined) => tf.KernelFunc,
) {
  const existing = tf.getKernel(kernelName, backendName);
  if (existing !== undefined && ours.has(existing.kernelFunc)) return false;
  const kernelFunc = make(existing?.kernelFunc);
  ours.add(kernelFunc);
  // The wasm kernels bind their wasm functions in setupFunc: keep it for the replacement.
  const config: tf.KernelConfig = { kernelName, backendName, kernelFunc };
  if (existing?.setupFunc !== undefined) config.setupFunc = existing.setupFunc;
  if (existing?.disposeFunc !== undefined) config.disposeFunc = existing.disposeFunc;
  if (existing !== undefined) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel(config);
  return true;
}

function requireOriginal(kernelName: string, original: tf.KernelFunc | undefined): tf.KernelFunc {
  if (original === undefined) {
    throw new LesionEncError(
      'KERNEL_UNAVAILABLE',
      `kernel ${kernelName}: expected the tfjs backend to register it, got nothing`,
    );
  }
  return original;
}

/**
 * Registers the training kernels of {@link WASM_TRAINING_KERNELS} on the wasm backend, so that
 * `model.fit`, `optimizer.minimize` and `tf.grads` of convolutional and recurrent models run on
 * wasm, with results equal to the cpu backend's. Call it once after
 * `await tf.setBackend('wasm')`; calling it again does nothing.
 *
 * @returns The kernel names registered by this call (empty when they were already in place).
 * @throws LesionEncError `BACKEND_UNAVAILABLE` when `@tensorflow/tfjs-backend-wasm` is not loaded.
 * @example
 * ```ts
 * import '@tensorflow/tfjs-backend-wasm';
 * await tf.setBackend('wasm');
 * registerWasmTrainingKernels();
 * await model.fit(xs, ys, { epochs: 1 });
 * ```
 */
export function registerWasmTrainingKernels(): string[] {
  if (tf.getKernel('Conv2D', BACKEND) === undefined) {
    throw new LesionEncError(
      'BACKEND_UNAVAILABLE',
      'wasm backend: expected @tensorflow/tfjs-backend-wasm to be imported, got no wasm kernels',
    );
  }
  const registered: string[] = [];
  const add = (name: string, make: (original: tf.KernelFunc | undefined) => tf.KernelFunc) => {
    if (install(name, BACKEND, make)) registered.push(name);
  };
  add('Conv2DBackpropFilter', () => conv2dBackpropFilter);
  add('DepthwiseConv2dNativeBackpropFilter', () => depthwiseBackpropFilter);
  add('DepthwiseConv2dNativeBackpropInput', () => depthwiseBackpropInput);
  add('Conv2DBackpropInput', () => conv2dBackpropInput);
  add('BatchMatMul', (original) => batchMatMul(requireOriginal('BatchMatMul', original)));
  add('_FusedMatMul', (original) => fusedMatMul(requireOriginal('_FusedMatMul', original)));
  add('MaxPoolGrad', () => maxPoolGrad);
  add('Slice', (original) => heapSlice(requireOriginal('Slice', original)));
  for (const [name, loop] of [
    ['ResizeNearestNeighborGrad', resizeNearestNeighborGradLoop],
    ['ResizeBilinearGrad', resizeBilinearGradLoop],
  ] as const) {
    add(name, (original) => {
      const fixed = halfPixelResizeGrad(name, requireOriginal(name, original), loop);
      return name === 'ResizeNearestNeighborGrad' ? blockNearestGrad(fixed) : fixed;
    });
  }
  // A gradient, not a kernel: the same math on every backend, without full-size tiles.
  if (tf.getGradient('FusedBatchNorm')?.gradFunc !== fusedBatchNormGradient.gradFunc) {
    tf.registerGradient(fusedBatchNormGradient);
    registered.push('FusedBatchNorm (gradient)');
  }
  // A layer, not a kernel: batch normalisation in training as one operation with a closed-form
  // gradient, instead of moments and batchNorm differentiated op by op.
  if (patchBatchNormalizationTraining()) registered.push('BatchNormalization (training)');
  if (tf.getGradient('Conv2D') === undefined) {
    log.warnOnce(
      'no-gradients',
      'gradient functions: expected them registered (import @tensorflow/tfjs-layers or ' +
        '@tensorflow/tfjs-core/dist/register_all_gradients), got none for Conv2D',
    );
  }
  if (registered.length > 0) log.info('registered wasm training kernels', { registered });
  return registered;
}

/**
 * Replaces the cpu kernels of {@link CPU_TRAINING_FIXES} with correct ones, so the cpu backend
 * can serve as the reference for training on other backends (and train correctly itself).
 * Calling it again does nothing.
 *
 * @returns The kernel names replaced by this call.
 * @throws LesionEncError `BACKEND_UNAVAILABLE` when `@tensorflow/tfjs-backend-cpu` is not loaded.
 */
export function registerCpuTrainingFixes(): string[] {
  if (tf.getKernel('ResizeNearestNeighborGrad', 'cpu') === undefined) {
    throw new LesionEncError(
      'BACKEND_UNAVAILABLE',
      'cpu backend: expected @tensorflow/tfjs-backend-cpu to be imported, got no cpu kernels',
    );
  }
  const replaced: string[] = [];
  if (install('ResizeNearestNeighborGrad', 'cpu', () => resizeNearestNeighborGradLoop)) {
    replaced.push('ResizeNearestNeighborGrad');
  }
  const bilinear = (original: tf.KernelFunc | undefined) =>
    relabelResizeGrad(requireOriginal('ResizeBilinearGrad', original));
  if (install('ResizeBilinearGrad', 'cpu', bilinear)) replaced.push('ResizeBilinearGrad');
  return replaced;
}
