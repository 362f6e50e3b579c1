// One Adam step of the EfficientNet-B0 U-Net at 256x256, batch 4, on the default Node backend
// (wasm with the gradient kernels of @lesionenc/wasm-training), beside the forward pass of the
// same batch and the peak wasm heap, for micro-batches of 1 and 2. The whole batch in one pass
// (micro-batch 4) outgrows the 4 GiB a 32-bit wasm heap can address and aborts the process.
import {
  createAccumulatingTrainer,
  readWasmMemory,
  registerWasmTrainingKernels,
} from '@lesionenc/wasm-training';
import * as tf from '@tensorflow/tfjs-core';

import type { Benchmark } from '../../../scripts/bench-types';
import { createSegmentationLoss } from '../src/loss';
import { type LesionUnet, createLesionUnet } from '../src/unet';

const SIZE_PX = 256;
const BATCH = 4;
const CLASSES = 4;
const MIB = 2 ** 20;

interface Context {
  unet: LesionUnet;
  x: tf.Tensor4D;
  y: tf.Tensor4D;
  optimizer: tf.Optimizer;
  step: () => Promise<unknown>;
  dispose: () => void;
}

function inputs(): { x: tf.Tensor4D; y: tf.Tensor4D } {
  return tf.tidy(() => {
    const x = tf.randomUniform([BATCH, SIZE_PX, SIZE_PX, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const labels = tf.randomUniform([BATCH * SIZE_PX * SIZE_PX], 0, CLASSES, 'int32', 2);
    const y = tf.reshape(tf.oneHot(labels, CLASSES), [BATCH, SIZE_PX, SIZE_PX, CLASSES]);
    return { x, y: y as tf.Tensor4D };
  });
}

function setupModel(): Pick<Context, 'unet' | 'x' | 'y'> {
  registerWasmTrainingKernels();
  const unet = createLesionUnet({
    inputSizePx: [SIZE_PX, SIZE_PX],
    classes: ['bg', 'ggo', 'con', 'eff'],
  });
  return { unet, ...inputs() };
}

function stepBench(microBatch: number): Benchmark<Context> {
  return {
    id: `lesion-encoder/train-step-b0-256-batch4-micro${microBatch}-wasm`,
    title: `EfficientNet-B0 U-Net, one Adam step, 256x256, batch 4 in micro-batches of ${microBatch}`,
    backend: 'wasm',
    warmup: 1,
    runs: 3,
    setup: () => {
      const base = setupModel();
      const segmentationLoss = createSegmentationLoss(CLASSES);
      const optimizer = tf.train.adam(1e-4);
      const trainer = createAccumulatingTrainer({
        model: base.unet.model,
        optimizer,
        microBatchSize: microBatch,
        // The network's first output is the softmax mask; the second, the slice features.
        loss: (yTrue, predicted) => {
          const outputs = predicted as unknown as tf.Tensor | tf.Tensor[];
          const mask = Array.isArray(outputs) ? outputs[0]! : outputs;
          return segmentationLoss(yTrue as tf.Tensor4D, mask as tf.Tensor4D);
        },
      });
      return {
        ...base,
        optimizer,
        step: () => trainer.step(base.x, base.y),
        dispose: () => trainer.dispose(),
      };
    },
    run: async ({ step }) => {
      await step();
    },
    extra: async ({ unet, x }) => {
      // Forward time of the same batch, for the step / forward ratio the goal is written in.
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const outputs = unet.model.predict(x) as tf.Tensor[];
        await outputs[0]!.data();
        tf.dispose(outputs);
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      const heap = readWasmMemory().heapBytes ?? 0;
      return {
        'forward batch 4 (ms)': Math.round(times[1]!),
        'peak wasm heap (MiB)': Math.round(heap / MIB),
      };
    },
    teardown: ({ unet, x, y, optimizer, dispose }) => {
      dispose();
      optimizer.dispose();
      unet.dispose();
      tf.dispose([x, y]);
    },
  };
}

// Ascending, because the wasm heap never shrinks: each reading is the peak up to that size.
export const benchmarks = [stepBench(1), stepBench(2)];
