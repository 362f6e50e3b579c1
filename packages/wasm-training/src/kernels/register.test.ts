// Each training kernel on wasm against the cpu backend's kernel, over a table of geometries.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// tfjs-layers registers the gradient functions of every op, which tf.grads needs.
import '@tensorflow/tfjs-layers';

import { createRandom } from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  CPU_TRAINING_FIXES,
  WASM_TRAINING_KERNELS,
  registerCpuTrainingFixes,
  registerWasmTrainingKernels,
} from './register';

// Largest |wasm - cpu| allowed, relative to the largest |cpu| value of the result.
const RELATIVE_TOLERANCE = 1e-4;

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface Values {
  data: Float32Array;
  shape: number[];
}

function randomValues(shape: number[], seed: number): Values {
  const random = createRandom(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = random.normal(0, 1);
  return { data, shape };
}

async function on<T>(backend: 'cpu' | 'wasm', work: () => T): Promise<T> {
  await tf.setBackend(backend);
  return work();
}

/** Runs one kernel on the active backend from plain values and returns plain values. */
function runKernel(
  name: string,
  inputs: Record<string, Values>,
  attrs: Record<string, unknown>,
): Values {
  return tf.tidy(() => {
    const tensors = Object.fromEntries(
      Object.entries(inputs).map(([key, v]) => [key, tf.tensor(v.data, v.shape)]),
    );
    const out = tf
      .engine()
      .runKernel(name, tensors, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    return { data: out.dataSync() as Float32Array, shape: out.shape };
  });
}

function relativeError(actual: Values, expected: Values): number {
  expect(actual.shape).toEqual(expected.shape);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.data.length; i++) {
    worst = Math.max(worst, Math.abs(actual.data[i]! - expected.data[i]!));
    scale = Math.max(scale, Math.abs(expected.data[i]!));
  }
  expect(scale).toBeGreaterThan(0);
  return worst / scale;
}

/** The output shape of a forward convolution, from tfjs's own geometry code. */
function outShape(
  xShape: number[],
  filterShape: number[],
  strides: [number, number],
  dilations: [number, number],
  pad: Pad,
  depthwise: boolean,
  dataFormat: 'NHWC' | 'NCHW' = 'NHWC',
): number[] {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad,
    undefined,
    depthwise,
    dataFormat === 'NCHW' ? 'channelsFirst' : 'channelsLast',
  );
  return info.outShape;
}

/** A dilated filter written out with zeros between its taps (for a dilation-free reference). */
function dilateFilter(filter: Values, dilations: [number, number]): Values {
  const [kh, kw, c, m] = filter.shape as [number, number, number, number];
  const [dh, dw] = dilations;
  const eh = (kh - 1) * dh + 1;
  const ew = (kw - 1) * dw + 1;
  const data = new Float32Array(eh * ew * c * m);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let k = 0; k < c * m; k++) {
        data[(i * dh * ew + j * dw) * c * m + k] = filter.data[(i * kw + j) * c * m + k]!;
      }
    }
  }
  return { data, shape: [eh, ew, c, m] };
}

/** The taps of a written-out dilated filter gradient that belong to the real filter. */
function undilateFilter(grad: Values, kernel: [number, number], dilations: [number, number]) {
  const [, ew, c, m] = grad.shape as [number, number, number, number];
  const [kh, kw] = kernel;
  const data = new Float32Array(kh * kw * c * m);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let k = 0; k < c * m; k++) {
        data[(i * kw + j) * c * m + k] =
          grad.data[(i * dilations[0] * ew + j * dilations[1]) * c * m + k]!;
      }
    }
  }
  return { data, shape: [kh, kw, c, m] };
}

interface ConvCase {
  x: number[];
  filter: number[];
  strides: [number, number];
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
}

const CONV_CASES: ConvCase[] = [
  { x: [2, 9, 9, 3], filter: [3, 3, 3, 4], strides: [1, 1], pad: 'same' },
  { x: [2, 9, 9, 3], filter: [3, 3, 3, 4], strides: [2, 2], pad: 'same' },
  { x: [1, 10, 11, 5], filter: [3, 3, 5, 2], strides: [2, 2], pad: 'valid' },
  { x: [1, 8, 8, 4], filter: [1, 1, 4, 6], strides: [1, 1], pad: 'valid' },
  { x: [1, 8, 8, 4], filter: [1, 1, 4, 6], strides: [2, 2], pad: 'same' },
  { x: [2, 7, 10, 19], filter: [3, 3, 19, 5], strides: [1, 1], pad: 'same' },
  { x: [1, 9, 8, 6], filter: [5, 3, 6, 3], strides: [1, 1], pad: 'valid' },
  {
    x: [2, 6, 7, 3],
    filter: [3, 5, 3, 4],
    strides: [1, 1],
    pad: [
      [0, 0],
      [0, 2],
      [3, 1],
      [0, 0],
    ],
  },
  {
    x: [2, 7, 6, 3],
    filter: [5, 3, 3, 2],
    strides: [2, 1],
    pad: [
      [0, 0],
      [2, 1],
      [0, 2],
      [0, 0],
    ],
  },
  { x: [1, 12, 12, 2], filter: [3, 3, 2, 3], strides: [3, 3], pad: 'same' },
  { x: [1, 9, 9, 4], filter: [2, 2, 4, 3], strides: [2, 2], pad: 'same' },
  { x: [1, 9, 8, 3], filter: [3, 3, 3, 2], strides: [2, 2], pad: 1 },
  { x: [1, 6, 6, 40], filter: [3, 3, 40, 8], strides: [1, 1], pad: 'same' },
  { x: [2, 3, 8, 7], filter: [3, 3, 3, 4], strides: [1, 1], pad: 'same', dataFormat: 'NCHW' },
  { x: [1, 3, 9, 9], filter: [3, 3, 3, 2], strides: [2, 2], pad: 'valid', dataFormat: 'NCHW' },
];

interface DepthwiseCase {
  x: number[];
  filter: number[];
  strides: [number, number];
  dilations: [number, number];
  pad: Pad;
}

const DEPTHWISE_CASES: DepthwiseCase[] = [
  { x: [2, 9, 9, 4], filter: [3, 3, 4, 1], strides: [1, 1], dilations: [1, 1], pad: 'same' },
  { x: [2, 9, 9, 4], filter: [3, 3, 4, 1], strides: [2, 2], dilations: [1, 1], pad: 'same' },
  { x: [1, 16, 16, 3], filter: [5, 5, 3, 1], strides: [2, 2], dilations: [1, 1], pad: 'same' },
  { x: [1, 10, 10, 3], filter: [3, 3, 3, 2], strides: [1, 1], dilations: [2, 2], pad: 'same' },
  { x: [1, 11, 9, 2], filter: [5, 5, 2, 1], strides: [2, 2], dilations: [1, 1], pad: 'valid' },
  { x: [1, 8, 8, 3], filter: [3, 3, 3, 1], strides: [1, 1], dilations: [3, 2], pad: 'valid' },
  {
    x: [2, 7, 8, 2],
    filter: [3, 3, 2, 3],
    strides: [1, 1],
    dilations: [2, 1],
    pad: [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  },
  { x: [1, 9, 9, 5], filter: [3, 3, 5, 2], strides: [2, 1], dilations: [1, 1], pad: 'same' },
  // Channel counts that use the 16-wide, 4-wide and single-channel loops of the SIMD kernel.
  { x: [2, 12, 10, 23], filter: [3, 3, 23, 1], strides: [1, 1], dilations: [1, 1], pad: 'same' },
  { x: [1, 13, 13, 40], filter: [5, 5, 40, 1], strides: [2, 2], dilations: [1, 1], pad: 'same' },
  { x: [1, 9, 11, 16], filter: [3, 3, 16, 1], strides: [2, 2], dilations: [2, 2], pad: 'valid' },
];

function describeCase(c: object): string {
  return JSON.stringify(c);
}

describe('registerWasmTrainingKernels', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    registerWasmTrainingKernels();
    registerCpuTrainingFixes();
  });

  it('registers every listed kernel on wasm, idempotently', () => {
    for (const name of WASM_TRAINING_KERNELS) {
      expect(tf.getKernel(name, 'wasm')).toBeDefined();
    }
    expect(registerWasmTrainingKernels()).toEqual([]);
    expect(registerCpuTrainingFixes()).toEqual([]);
    for (const name of CPU_TRAINING_FIXES) expect(tf.getKernel(name, 'cpu')).toBeDefined();
    expect(tf.getKernel('Conv2DBackpropFilter', 'cpu')).toBeDefined();
  });

  it.each(CONV_CASES.map((c) => [describeCase(c), c] as const))(
    'Conv2DBackpropFilter and Conv2DBackpropInput match cpu: %s',
    async (_, c) => {
      const format = c.dataFormat ?? 'NHWC';
      const dyShape = outShape(c.x, c.filter, c.strides, [1, 1], c.pad, false, format);
      const x = randomValues(c.x, 1);
      const filter = randomValues(c.filter, 2);
      const dy = randomValues(dyShape, 3);
      const common = { strides: c.strides, pad: c.pad, dataFormat: format };
      const filterAttrs = { ...common, filterShape: c.filter };
      const inputAttrs = { ...common, inputShape: c.x };

      const cpuFilter = await on('cpu', () =>
        runKernel('Conv2DBackpropFilter', { x, dy }, filterAttrs),
      );
      const cpuInput = await on('cpu', () =>
        runKernel('Conv2DBackpropInput', { dy, filter }, inputAttrs),
      );
      const wasmFilter = await on('wasm', () =>
        runKernel('Conv2DBackpropFilter', { x, dy }, filterAttrs),
      );
      const wasmInput = await on('wasm', () =>
        runKernel('Conv2DBackpropInput', { dy, filter }, inputAttrs),
      );
      expect(relativeError(wasmFilter, cpuFilter)).toBeLessThan(RELATIVE_TOLERANCE);
      expect(relativeError(wasmInput, cpuInput)).toBeLessThan(RELATIVE_TOLERANCE);
    },
  );

  it.each([
    { x: [2, 11, 9, 7], filter: [3, 3, 7, 5], dilations: [2, 2] as [number, number], pad: 'same' },
    {
      x: [1, 12, 10, 4],
      filter: [3, 2, 4, 3],
      dilations: [3, 2] as [number, number],
      pad: 'valid',
    },
  ] as const)('Conv2DBackpropFilter of a dilated stride-1 conv matches cpu: %j', async (c) => {
    const dyShape = outShape([...c.x], [...c.filter], [1, 1], c.dilations, c.pad, false);
    const x = randomValues([...c.x], 7);
    const dy = randomValues(dyShape, 8);
    // The cpu kernel ignores dilations: its reference is the filter written out with zeros.
    const denseShape = dilateFilter(randomValues([...c.filter], 9), c.dilations).shape;
    const cpuFilter = await on('cpu', () =>
      undilateFilter(
        runKernel(
          'Conv2DBackpropFilter',
          { x, dy },
          { strides: [1, 1], pad: c.pad, dataFormat: 'NHWC', filterShape: denseShape },
        ),
        [c.filter[0], c.filter[1]],
        c.dilations,
      ),
    );
    const wasmFilter = await on('wasm', () =>
      runKernel(
        'Conv2DBackpropFilter',
        { x, dy },
        {
          strides: [1, 1],
          dilations: c.dilations,
          pad: c.pad,
          dataFormat: 'NHWC',
          filterShape: [...c.filter],
        },
      ),
    );
    expect(wasmFilter.shape).toEqual([...c.filter]);
    expect(relativeError(wasmFilter, cpuFilter)).toBeLessThan(RELATIVE_TOLERANCE);
  });

  it.each(DEPTHWISE_CASES.map((c) => [describeCase(c), c] as const))(
    'DepthwiseConv2dNativeBackpropFilter and -Input match cpu: %s',
    async (_, c) => {
      const dyShape = outShape(c.x, c.filter, c.strides, c.dilations, c.pad, true);
      const x = randomValues(c.x, 4);
      const filter = randomValues(c.filter, 5);
      const dy = randomValues(dyShape, 6);
      const attrs = { strides: c.strides, dilations: c.dilations, pad: c.pad };

      // The cpu kernels ignore dilations, so the reference uses the filter written out with zeros.
      const dense = dilateFilter(filter, c.dilations);
      const denseAttrs = { ...attrs, dilations: [1, 1] };
      const cpuFilter = await on('cpu', () =>
        undilateFilter(
          runKernel(
            'DepthwiseConv2dNativeBackpropFilter',
            { x, dy },
            {
              ...denseAttrs,
              filterShape: dense.shape,
            },
          ),
          [c.filter[0]!, c.filter[1]!],
          c.dilations,
        ),
      );
      const cpuInput = await on('cpu', () =>
        runKernel(
          'DepthwiseConv2dNativeBackpropInput',
          { dy, filter: dense },
          {
            ...denseAttrs,
            inputShape: c.x,
          },
        ),
      );
      const wasmFilter = await on('wasm', () =>
        runKernel(
          'DepthwiseConv2dNativeBackpropFilter',
          { x, dy },
          {
            ...attrs,
            filterShape: c.filter,
          },
        ),
      );
      const wasmInput = await on('wasm', () =>
        runKernel(
          'DepthwiseConv2dNativeBackpropInput',
          { dy, filter },
          {
            ...attrs,
            inputShape: c.x,
          },
        ),
      );
      expect(relativeError(wasmFilter, cpuFilter)).toBeLessThan(RELATIVE_TOLERANCE);
      expect(relativeError(wasmInput, cpuInput)).toBeLessThan(RELATIVE_TOLERANCE);
    },
  );

  it.each([
    [[5, 7], [7, 3], false, false],
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[2, 7, 5], [2, 7, 3], true, false],
    [[3, 5, 7], [3, 4, 7], false, true],
  ] as const)(
    'BatchMatMul %j x %j (transposeA %s, transposeB %s) matches cpu',
    async (a, b, ta, tb) => {
      const inputs = { a: randomValues([...a], 7), b: randomValues([...b], 8) };
      const attrs = { transposeA: ta, transposeB: tb };
      const cpu = await on('cpu', () => runKernel('BatchMatMul', inputs, attrs));
      const wasm = await on('wasm', () => runKernel('BatchMatMul', inputs, attrs));
      expect(relativeError(wasm, cpu)).toBeLessThan(RELATIVE_TOLERANCE);
    },
  );

  it('_FusedMatMul with transposes, bias and relu matches cpu', async () => {
    const inputs = {
      a: randomValues([6, 4], 9),
      b: randomValues([3, 6], 10),
      bias: randomValues([3], 11),
    };
    const attrs = { transposeA: true, transposeB: true, activation: 'relu', leakyreluAlpha: 0.2 };
    const cpu = await on('cpu', () => runKernel('_FusedMatMul', inputs, attrs));
    const wasm = await on('wasm', () => runKernel('_FusedMatMul', inputs, attrs));
    expect(relativeError(wasm, cpu)).toBeLessThan(RELATIVE_TOLERANCE);
  });

  it.each([
    { x: [2, 8, 8, 8], pool: [2, 2], strides: [2, 2], pad: 'valid', ties: false },
    { x: [1, 9, 9, 3], pool: [3, 3], strides: [2, 2], pad: 'same', ties: false },
    { x: [2, 7, 7, 2], pool: [3, 3], strides: [1, 1], pad: 'same', ties: false },
    { x: [1, 8, 8, 2], pool: [2, 2], strides: [2, 2], pad: 'valid', ties: true },
    { x: [1, 9, 7, 2], pool: [3, 3], strides: [2, 2], pad: 'same', ties: true },
    { x: [1, 6, 5, 2], pool: [2, 3], strides: [1, 2], pad: 'valid', ties: false },
  ] as const)(
    'MaxPoolGrad matches cpu: $x pool $pool strides $strides $pad ties $ties',
    async (c) => {
      const x = randomValues([...c.x], 15);
      // After a ReLU many windows hold only zeros: the gradient goes to the first of them.
      if (c.ties) x.data.forEach((v, i) => (x.data[i] = Math.max(0, Math.round(v))));
      const attrs = { filterSize: c.pool, strides: c.strides, pad: c.pad };
      const y = await on('cpu', () =>
        tf.tidy(() => {
          const pooled = tf.maxPool(
            tf.tensor4d(x.data, x.shape as [number, number, number, number]),
            [...c.pool],
            [...c.strides],
            c.pad,
          );
          return { data: pooled.dataSync() as Float32Array, shape: pooled.shape };
        }),
      );
      const dy = randomValues(y.shape, 16);
      const inputs = { dy, input: x, output: y };
      const cpu = await on('cpu', () => runKernel('MaxPoolGrad', inputs, attrs));
      const wasm = await on('wasm', () => runKernel('MaxPoolGrad', inputs, attrs));
      expect(relativeError(wasm, cpu)).toBeLessThan(RELATIVE_TOLERANCE);
    },
  );

  it.each(
    (['nearest', 'bilinear'] as const).flatMap((method) =>
      [
        { x: [2, 4, 4, 3], size: [8, 8], alignCorners: false, halfPixelCenters: false },
        { x: [2, 3, 4, 5], size: [9, 8], alignCorners: false, halfPixelCenters: false },
        { x: [3, 3, 5, 2], size: [7, 9], alignCorners: false, halfPixelCenters: false },
        { x: [2, 3, 3, 2], size: [6, 5], alignCorners: true, halfPixelCenters: false },
        { x: [2, 4, 3, 2], size: [9, 7], alignCorners: false, halfPixelCenters: true },
      ].map((c) => ({ method, ...c })),
    ),
  )(
    'the gradient of $method resizing $x to $size (alignCorners $alignCorners, ' +
      'halfPixelCenters $halfPixelCenters) is its adjoint on cpu and wasm',
    async (c) => {
      const x = randomValues([...c.x], 17);
      const dy = randomValues([c.x[0]!, ...c.size, c.x[3]!], 18);
      const resize = (images: tf.Tensor4D) =>
        c.method === 'nearest'
          ? tf.image.resizeNearestNeighbor(
              images,
              [c.size[0]!, c.size[1]!],
              c.alignCorners,
              c.halfPixelCenters,
            )
          : tf.image.resizeBilinear(
              images,
              [c.size[0]!, c.size[1]!],
              c.alignCorners,
              c.halfPixelCenters,
            );
      for (const backend of ['cpu', 'wasm'] as const) {
        await tf.setBackend(backend);
        // For a linear map f with gradient g: <dy, f(x)> = <g(dy), x>.
        const [forward, backward] = tf.tidy(() => {
          const images = tf.tensor4d(x.data, x.shape as [number, number, number, number]);
          const weights = tf.tensor(dy.data, dy.shape);
          const objective = (t: tf.Tensor) => tf.sum(tf.mul(resize(t as tf.Tensor4D), weights));
          const dx = tf.grad(objective)(images);
          return [objective(images).dataSync()[0]!, tf.sum(tf.mul(dx, images)).dataSync()[0]!];
        });
        expect(Math.abs(backward - forward), backend).toBeLessThan(
          RELATIVE_TOLERANCE * Math.abs(forward),
        );
      }
    },
  );

  it('leaks neither tensors nor wasm buffers over repeated calls', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor(randomValues([1, 9, 9, 3], 12).data, [1, 9, 9, 3]);
    const filter = tf.tensor(randomValues([3, 3, 3, 2], 13).data, [3, 3, 3, 2]) as tf.Tensor4D;
    const dw = tf.tensor(randomValues([3, 3, 3, 1], 14).data, [3, 3, 3, 1]) as tf.Tensor4D;
    const once = () => {
      const [gx, gf] = tf.grads((a: tf.Tensor, f: tf.Tensor) =>
        tf.sum(tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 2, 'same')),
      )([x, filter]);
      const [hx, hf] = tf.grads((a: tf.Tensor, f: tf.Tensor) =>
        tf.sum(tf.depthwiseConv2d(a as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')),
      )([x, dw]);
      tf.dispose([gx!, gf!, hx!, hf!]);
    };
    once();
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    for (let i = 0; i < 3; i++) once();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds);
    tf.dispose([x, filter, dw]);
  });
});
