import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { SOURCE_SHA256 } from '../internal/conv-grad-wasm';
import { depthwiseFilterGradient } from './conv-gradients';
import { depthwiseFilterGradientNative, nativeKernelsAvailable } from './native';

describe('native conv-grad kernels', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  it('were compiled from the committed C source', () => {
    const source = readFileSync(new URL('../../native/conv-grad.c', import.meta.url));
    expect(createHash('sha256').update(source).digest('hex')).toBe(SOURCE_SHA256);
  });

  it('load on Node', () => {
    expect(nativeKernelsAvailable()).toBe(true);
  });

  it('give the depthwise filter gradient of the tfjs-op composite at EfficientNet sizes', () => {
    const x = tf.randomNormal([2, 33, 31, 96], 0, 1, 'float32', 7) as tf.Tensor4D;
    const dy = tf.randomNormal([2, 17, 16, 96], 0, 1, 'float32', 8) as tf.Tensor4D;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
      [5, 5, 96, 1],
      2,
      1,
      'same',
      undefined,
      true,
    );
    const composite = depthwiseFilterGradient(x, dy, info);
    const out = depthwiseFilterGradientNative(tf.backend(), x, dy, info);
    expect(out).toBeDefined();
    const native = tf.engine().makeTensorFromTensorInfo(out!);
    expect(native.shape).toEqual([5, 5, 96, 1]);
    const a = native.dataSync();
    const b = composite.dataSync();
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(b[i]!));
    }
    expect(worst / scale).toBeLessThan(1e-5);
    tf.dispose([x, dy, composite, native]);
  });

  it('declines backends without heap access, so the caller falls back', () => {
    const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
      [3, 3, 2, 1],
      1,
      1,
      'same',
      undefined,
      true,
    );
    expect(depthwiseFilterGradientNative({}, x, x, info)).toBeUndefined();
    x.dispose();
  });
});
