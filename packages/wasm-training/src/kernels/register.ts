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

const log = createLogger('lesionenc.wasm-training.kernels');

const BACKEND = 'wasm';

/**
 * The kernels {@link registerWasmTrainingKernels} puts on the wasm backend, and why.
 *
 * Missing from tfjs-backend-wasm 4.22 (training stops with "Kernel ... not registered"):
 * - `Conv2DBackpropFilter`: filter gradient of conv2d (every conv layer).
 * - `DepthwiseConv2dNativeBackpropFilter`: filter gradient of depthwiseConv2d.
 * - `DepthwiseConv2dNativeBackpropInput`: input gradient of depthwiseConv2d.
 *
 * Present but slow (measured on a 2-core machine, one thread):
 * - `Conv2DBackpropInput`: a direct loop about 10x slower than the forward conv2d it mirrors;
 *   replaced by a forward convolution of the zero-upsampled gradient.
 * - `BatchMatMul` and `_FusedMatMul` with `transposeA` or `transposeB`: 10-50x slower than
 *   without; dense and LSTM gradients use both flags. Replaced by an explicit transpose followed
 *   by the untransposed product.
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
]);

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
  return runComposite(backend, [input(inputs, 'x'), input(inputs, 'dy')], ([xt, dyt]) => {
    const xN = xt as tf.Tensor4D;
    const info = geometry(xN.shape, a.filterShape, a, true);
    return depthwiseFilterGradient(xN, dyt as tf.Tensor4D, info);
  });
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

function install(kernelName: string, make: (original: tf.KernelFunc | undefined) => tf.KernelFunc) {
  const existing = tf.getKernel(kernelName, BACKEND);
  if (existing !== undefined && ours.has(existing.kernelFunc)) return false;
  const kernelFunc = make(existing?.kernelFunc);
  ours.add(kernelFunc);
  // The wasm kernels bind their wasm functions in setupFunc: keep it for the replacement.
  const config: tf.KernelConfig = { kernelName, backendName: BACKEND, kernelFunc };
  if (existing?.setupFunc !== undefined) config.setupFunc = existing.setupFunc;
  if (existing?.disposeFunc !== undefined) config.disposeFunc = existing.disposeFunc;
  if (existing !== undefined) tf.unregisterKernel(kernelName, BACKEND);
  tf.registerKernel(config);
  return true;
}

function requireOriginal(kernelName: string, original: tf.KernelFunc | undefined): tf.KernelFunc {
  if (original === undefined) {
    throw new LesionEncError(
      'KERNEL_UNAVAILABLE',
      `wasm kernel ${kernelName}: expected tfjs-backend-wasm to register it, got nothing`,
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
    if (install(name, make)) registered.push(name);
  };
  add('Conv2DBackpropFilter', () => conv2dBackpropFilter);
  add('DepthwiseConv2dNativeBackpropFilter', () => depthwiseBackpropFilter);
  add('DepthwiseConv2dNativeBackpropInput', () => depthwiseBackpropInput);
  add('Conv2DBackpropInput', () => conv2dBackpropInput);
  add('BatchMatMul', (original) => batchMatMul(requireOriginal('BatchMatMul', original)));
  add('_FusedMatMul', (original) => fusedMatMul(requireOriginal('_FusedMatMul', original)));
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
