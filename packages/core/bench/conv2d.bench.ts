// Forward conv2d at the EfficientNet stem's size, on the cpu and wasm backends.
import * as tf from '@tensorflow/tfjs-core';

import type { Benchmark } from '../../../scripts/bench-types';

interface Context {
  image: tf.Tensor4D;
  filter: tf.Tensor4D;
}

function conv2dBench(backend: 'cpu' | 'wasm'): Benchmark<Context> {
  return {
    id: `core/conv2d-256x256x32-${backend}`,
    title: 'conv2d 3x3, 32 to 64 channels, 256x256, batch 1',
    backend,
    warmup: 2,
    runs: backend === 'cpu' ? 3 : 10,
    setup: () => ({
      image: tf.randomNormal([1, 256, 256, 32], 0, 1, 'float32', 0) as tf.Tensor4D,
      filter: tf.randomNormal([3, 3, 32, 64], 0, 0.1, 'float32', 1) as tf.Tensor4D,
    }),
    run: async ({ image, filter }) => {
      const out = tf.conv2d(image, filter, 1, 'same');
      await out.data();
      out.dispose();
    },
    extra: () => ({ 'GFLOP per run': (2 * 256 * 256 * 9 * 32 * 64) / 1e9 }),
    teardown: ({ image, filter }) => {
      image.dispose();
      filter.dispose();
    },
  };
}

export const benchmarks = [conv2dBench('cpu'), conv2dBench('wasm')];
