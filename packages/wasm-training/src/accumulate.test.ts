// Gradient accumulation: micro-batch updates equal the full-batch update, on cpu and wasm, and
// hold fewer bytes at their peak.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

import { createRandom, isLesionEncError } from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';

import { createAccumulatingTrainer } from './accumulate';
import { buildTinyUnet, readWeights, seededWeights, writeWeights } from './internal/test-models';
import { registerCpuTrainingFixes, registerWasmTrainingKernels } from './kernels/register';
import { measurePeakMemory } from './memory';

// Largest |accumulated - full batch| allowed, relative to the largest |full batch| weight.
const RELATIVE_TOLERANCE = 1e-4;
const LEARNING_RATE = 1e-3;
const BATCH = 4;
const SIZE_PX = 16;
const CLASSES = 3;

const random = createRandom(11);
const X_DATA = Float32Array.from({ length: BATCH * SIZE_PX * SIZE_PX * 3 }, () => random.normal());
const LABELS = Float32Array.from({ length: BATCH * SIZE_PX * SIZE_PX * CLASSES }, () => 0);
for (let cell = 0; cell < BATCH * SIZE_PX * SIZE_PX; cell++) {
  LABELS[cell * CLASSES + random.nextInt(CLASSES)] = 1;
}

const meanCrossEntropy = (yTrue: tf.Tensor, yPred: tf.Tensor) =>
  tf.mean(tfl.metrics.categoricalCrossentropy(yTrue, yPred)) as tf.Scalar;

function batch(): { x: tf.Tensor4D; y: tf.Tensor4D } {
  return {
    x: tf.tensor4d(X_DATA, [BATCH, SIZE_PX, SIZE_PX, 3]),
    y: tf.tensor4d(LABELS, [BATCH, SIZE_PX, SIZE_PX, CLASSES]),
  };
}

function relativeError(actual: Float32Array, expected: Float32Array): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return scale === 0 ? worst : worst / scale;
}

/** Trains a fresh copy of the model from `initial` and returns the weights after `steps`. */
async function trainCopy(
  batchNorm: boolean,
  initial: ReturnType<typeof readWeights>,
  microBatchSize: number | 'fit',
  training: boolean,
  steps: number,
): Promise<{ weights: ReturnType<typeof readWeights>; losses: number[] }> {
  const model = buildTinyUnet({ sizePx: SIZE_PX, channels: 3, classes: CLASSES, batchNorm });
  writeWeights(model, initial);
  const optimizer = tf.train.adam(LEARNING_RATE);
  const { x, y } = batch();
  const losses: number[] = [];
  if (microBatchSize === 'fit') {
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    for (let s = 0; s < steps; s++) losses.push((await model.trainOnBatch(x, y)) as number);
  } else {
    const trainer = createAccumulatingTrainer({
      model,
      optimizer,
      loss: meanCrossEntropy,
      microBatchSize,
      training,
    });
    for (let s = 0; s < steps; s++) losses.push((await trainer.step(x, y)).loss);
    trainer.dispose();
  }
  const weights = readWeights(model);
  tf.dispose([x, y]);
  optimizer.dispose();
  model.dispose();
  return { weights, losses };
}

describe('createAccumulatingTrainer', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    registerWasmTrainingKernels();
    registerCpuTrainingFixes();
  });

  it.each([
    ['cpu', 1],
    ['cpu', 3],
    ['wasm', 1],
    ['wasm', 3],
  ] as const)(
    'on %s, micro-batches of %i give the full-batch Adam update (no batch norm)',
    async (backend, microBatchSize) => {
      await tf.setBackend(backend);
      const seed = buildTinyUnet({
        sizePx: SIZE_PX,
        channels: 3,
        classes: CLASSES,
        batchNorm: false,
      });
      // Seeded, so every run checks the same numbers.
      const initial = seededWeights(readWeights(seed), 7);
      seed.dispose();

      const full = await trainCopy(false, initial, 'fit', true, 2);
      const accumulated = await trainCopy(false, initial, microBatchSize, true, 2);
      for (let s = 0; s < 2; s++) {
        expect(Math.abs(accumulated.losses[s]! - full.losses[s]!)).toBeLessThan(
          RELATIVE_TOLERANCE * full.losses[s]!,
        );
      }
      full.weights.forEach((w, k) => {
        expect(relativeError(accumulated.weights[k]!.data, w.data)).toBeLessThan(
          RELATIVE_TOLERANCE,
        );
      });
      expect(relativeError(full.weights[0]!.data, initial[0]!.data)).toBeGreaterThan(0);
    },
  );

  it('with batch norm in inference mode, micro-batches give the single-pass update', async () => {
    await tf.setBackend('wasm');
    const seed = buildTinyUnet({ sizePx: SIZE_PX, channels: 3, classes: CLASSES, batchNorm: true });
    const initial = readWeights(seed);
    seed.dispose();
    const whole = await trainCopy(true, initial, BATCH, false, 2);
    const micro = await trainCopy(true, initial, 1, false, 2);
    whole.weights.forEach((w, k) => {
      expect(relativeError(micro.weights[k]!.data, w.data)).toBeLessThan(RELATIVE_TOLERANCE);
    });
  });

  it('holds fewer tensor bytes at its peak with smaller micro-batches, and leaks nothing', async () => {
    await tf.setBackend('wasm');
    const model = buildTinyUnet({
      sizePx: SIZE_PX,
      channels: 3,
      classes: CLASSES,
      batchNorm: true,
    });
    const { x, y } = batch();
    const peaks: number[] = [];
    for (const microBatchSize of [BATCH, 1]) {
      const optimizer = tf.train.adam(LEARNING_RATE);
      const trainer = createAccumulatingTrainer({
        model,
        optimizer,
        loss: meanCrossEntropy,
        microBatchSize,
      });
      await trainer.step(x, y); // creates the optimizer's slots
      const tensors = tf.memory().numTensors;
      const measured = await measurePeakMemory(() => trainer.step(x, y));
      expect(measured.result.microBatches).toBe(BATCH / microBatchSize);
      expect(measured.heapBytes).toBeGreaterThan(0);
      await trainer.step(x, y);
      expect(tf.memory().numTensors).toBe(tensors);
      peaks.push(measured.peakTensorBytes - measured.tensorBytes);
      trainer.dispose();
      optimizer.dispose();
    }
    expect(peaks[1]!).toBeLessThan(peaks[0]!);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('rejects bad micro-batch sizes and mismatched batches with typed errors', async () => {
    await tf.setBackend('cpu');
    const model = buildTinyUnet({ sizePx: 8, channels: 3, classes: CLASSES, batchNorm: false });
    const optimizer = tf.train.adam(LEARNING_RATE);
    for (const microBatchSize of [0, 1.5, -2]) {
      let caught: unknown;
      try {
        createAccumulatingTrainer({ model, optimizer, loss: meanCrossEntropy, microBatchSize });
      } catch (error) {
        caught = error;
      }
      expect(isLesionEncError(caught, 'INVALID_ARGUMENT')).toBe(true);
    }
    const trainer = createAccumulatingTrainer({
      model,
      optimizer,
      loss: meanCrossEntropy,
      microBatchSize: 1,
    });
    const x = tf.zeros([2, 8, 8, 3]);
    const y = tf.zeros([3, 8, 8, CLASSES]);
    await expect(trainer.step(x, y)).rejects.toSatisfy((e) =>
      isLesionEncError(e, 'SHAPE_MISMATCH'),
    );
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  });
});
