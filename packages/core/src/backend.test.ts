import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { isLesionEncError } from '@lesionenc/base';

import { describeWebglRenderer, initBackend, isSoftwareRenderer } from './backend';

// Largest absolute difference allowed between backends for float32 results of order 1-10.
const BACKEND_TOLERANCE = 1e-4;

async function expectCode(promise: Promise<unknown>, code: string, message: RegExp) {
  try {
    await promise;
    expect.unreachable('should have thrown');
  } catch (error) {
    expect(isLesionEncError(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    expect((error as Error).message).toMatch(message);
  }
}

/** A conv2d followed by one LSTM cell step, from seeded inputs; returns plain numbers. */
function convThenLstm(): { conv: Float32Array; c: Float32Array; h: Float32Array } {
  return tf.tidy(() => {
    const image = tf.randomUniform([2, 17, 19, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
    const filter = tf.randomNormal([3, 3, 3, 8], 0, 0.3, 'float32', 2) as tf.Tensor4D;
    const conv = tf.relu(tf.conv2d(image, filter, [2, 1], 'same', 'NHWC', [1, 1]));
    const dilated = tf.conv2d(
      conv,
      tf.randomNormal([3, 3, 8, 4], 0, 0.3, 'float32', 3) as tf.Tensor4D,
      1,
      'valid',
      'NHWC',
      2,
    );
    const pooled = tf.mean(dilated, [1, 2]);
    const units = 6;
    const kernel = tf.randomNormal([4 + units, 4 * units], 0, 0.3, 'float32', 4) as tf.Tensor2D;
    const bias = tf.randomNormal([4 * units], 0, 0.1, 'float32', 5) as tf.Tensor1D;
    const c0 = tf.randomNormal([2, units], 0, 1, 'float32', 6) as tf.Tensor2D;
    const h0 = tf.randomNormal([2, units], 0, 1, 'float32', 7) as tf.Tensor2D;
    const [c, h] = tf.basicLSTMCell(tf.scalar(1), kernel, bias, pooled as tf.Tensor2D, c0, h0);
    return {
      conv: dilated.dataSync() as Float32Array,
      c: c.dataSync() as Float32Array,
      h: h.dataSync() as Float32Array,
    };
  });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('initBackend', () => {
  it('starts cpu and wasm on request, wasm with SIMD under Node', async () => {
    const cpu = await initBackend({ backend: 'cpu' });
    expect(cpu).toMatchObject({ name: 'cpu', platform: 'node' });
    expect(tf.getBackend()).toBe('cpu');
    const wasm = await initBackend({ backend: 'wasm' });
    expect(wasm).toMatchObject({
      name: 'wasm',
      platform: 'node',
      simd: true,
      multiThreaded: false,
    });
    expect(tf.getBackend()).toBe('wasm');
  });

  it('picks wasm under auto when native TensorFlow is not installed, and says why', async () => {
    await initBackend({ backend: 'cpu' });
    const info = await initBackend({ backend: 'auto' });
    expect(info.name).toBe('wasm');
    expect(info.skipped.map((s) => s.name)).toEqual(['tensorflow']);
    expect(info.skipped[0]!.reason).toMatch(/tfjs-node/);
  });

  it('reports BACKEND_UNAVAILABLE for native TensorFlow and WebGL when they cannot run here', async () => {
    await expectCode(
      initBackend({ backend: 'tensorflow' }),
      'BACKEND_UNAVAILABLE',
      /neither native binding/,
    );
    await expectCode(
      initBackend({ backend: 'webgl' }),
      'BACKEND_UNAVAILABLE',
      /WebGL is not available/,
    );
  });

  it('rejects an unknown backend name', async () => {
    await expectCode(
      initBackend({ backend: 'cuda' as never }),
      'INVALID_ARGUMENT',
      /expected one of auto/,
    );
  });

  it('computes the same conv2d + LSTM cell on cpu and wasm', async () => {
    await initBackend({ backend: 'cpu' });
    const onCpu = convThenLstm();
    await initBackend({ backend: 'wasm' });
    const onWasm = convThenLstm();
    expect(onCpu.conv.length).toBe(2 * 5 * 15 * 4);
    expect(maxAbsDiff(onCpu.conv, onWasm.conv)).toBeLessThan(BACKEND_TOLERANCE);
    expect(maxAbsDiff(onCpu.c, onWasm.c)).toBeLessThan(BACKEND_TOLERANCE);
    expect(maxAbsDiff(onCpu.h, onWasm.h)).toBeLessThan(BACKEND_TOLERANCE);
    // The cell's output is not trivially zero: the comparison means something.
    expect(Math.max(...onCpu.h.map(Math.abs))).toBeGreaterThan(0.01);
  });
});

describe('software WebGL renderers', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it.each([
    [
      'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)',
      true,
    ],
    ['Google SwiftShader', true],
    ['llvmpipe (LLVM 15.0.6, 256 bits)', true],
    ['Mesa softpipe', true],
    ['Microsoft Basic Render Driver', true],
    ['ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0, D3D11)', false],
    ['Apple M2', false],
    ['Mesa Intel(R) UHD Graphics 620 (KBL GT2)', false],
  ])('%s: software %s', (renderer, software) => {
    expect(isSoftwareRenderer(renderer)).toBe(software);
  });

  it('reads the unmasked renderer from a WebGL context and releases the context', () => {
    const UNMASKED = 0x9246;
    let lost = false;
    const gl = {
      RENDERER: 0x1f01,
      getExtension: (name: string) =>
        name === 'WEBGL_debug_renderer_info'
          ? { UNMASKED_RENDERER_WEBGL: UNMASKED }
          : name === 'WEBGL_lose_context'
            ? { loseContext: () => (lost = true) }
            : null,
      getParameter: (p: number) => (p === UNMASKED ? 'Google SwiftShader' : 'WebKit WebGL'),
    };
    vi.stubGlobal(
      'OffscreenCanvas',
      class {
        getContext(kind: string) {
          return kind === 'webgl2' ? gl : null;
        }
      },
    );
    expect(describeWebglRenderer()).toEqual({
      renderer: 'Google SwiftShader',
      softwareRenderer: true,
    });
    expect(lost).toBe(true);
  });

  it('reports nothing where there is no WebGL (Node)', () => {
    expect(describeWebglRenderer()).toEqual({});
  });

  it('rejects a wasm thread count that is not a positive integer', async () => {
    for (const wasmThreads of [0, -1, 1.5, Number.NaN]) {
      await expectCode(
        initBackend({ backend: 'wasm', wasmThreads }),
        'INVALID_ARGUMENT',
        /wasmThreads: expected a positive integer/,
      );
    }
  });
});
