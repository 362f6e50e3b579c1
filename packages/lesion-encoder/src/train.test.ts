// Tests of the training loop on a tiny network: it learns, checkpoints, resumes and logs.
import '@tensorflow/tfjs-backend-wasm';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { registerWasmTrainingKernels } from '@lesionenc/wasm-training';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AugmentSample } from './augment';
import { loadTrainingCheckpoint, predictLabels, trainLesionUnet } from './train';
import { createLesionUnet } from './unet';

const SIZE = 32;

// A bright disc (class 1) on a dark background, at a varying position.
function disc(index: number): AugmentSample {
  const image = new Float32Array(SIZE * SIZE);
  const mask = new Uint8Array(SIZE * SIZE);
  const cy = 10 + (index % 3) * 6;
  const cx = 10 + ((index >> 1) % 3) * 6;
  for (let r = 0; r < SIZE; r++) {
    for (let c = 0; c < SIZE; c++) {
      const inside = (r - cy) ** 2 + (c - cx) ** 2 < 36;
      image[r * SIZE + c] = inside ? 0.9 : 0.1;
      mask[r * SIZE + c] = inside ? 1 : 0;
    }
  }
  return { image, mask, rows: SIZE, columns: SIZE };
}

describe('trainLesionUnet', () => {
  let dir: string;
  beforeAll(async () => {
    // The default Node backend, with the gradient kernels training needs.
    await tf.setBackend('wasm');
    registerWasmTrainingKernels();
    dir = await mkdtemp(join(tmpdir(), 'lesionenc-train-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('learns a disc, logs JSON lines, checkpoints and resumes', async () => {
    const samples = Array.from({ length: 6 }, (_, i) => disc(i));
    const config = {
      inputSizePx: [SIZE, SIZE] as [number, number],
      classes: ['bg', 'disc'],
      dropConnectRate: 0,
    };
    const unet = createLesionUnet(config);
    const options = {
      sources: [{ name: 'discs', samples }],
      validation: samples.slice(0, 2),
      learningRate: 3e-3,
      batchSize: 3,
      stepsPerEpoch: 4,
      patience: 100,
      checkpointDir: join(dir, 'ckpt'),
      logPath: join(dir, 'log.jsonl'),
    };
    const fractions: number[] = [];
    const first = await trainLesionUnet(unet, {
      ...options,
      epochs: 2,
      onProgress: (e) => fractions.push(e.fraction),
    });
    expect(first.epochsRun).toBe(2);
    expect(fractions.at(-1)).toBe(1);
    expect(fractions.every((f, i) => i === 0 || f >= fractions[i - 1]!)).toBe(true);

    const before = tf.memory().numTensors;
    const resumed = await trainLesionUnet(unet, { ...options, epochs: 4 });
    expect(resumed.epochsRun).toBe(4);
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);

    const lines = (await readFile(options.logPath, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const epochs = lines.filter((l) => l.type === 'epoch').map((l) => l.epoch);
    expect(epochs).toEqual([0, 1, 2, 3]);
    const losses = lines.filter((l) => l.type === 'epoch').map((l) => l.trainLoss as number);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);

    // The best checkpoint restores into a fresh network with the same predictions.
    const fresh = createLesionUnet({ ...config, seed: 99 });
    expect(await loadTrainingCheckpoint(fresh, options.checkpointDir, 'last')).toBe(true);
    const a = await predictLabels(unet, samples.slice(0, 2), 2);
    const b = await predictLabels(fresh, samples.slice(0, 2), 2);
    expect(Array.from(b[0]!)).toEqual(Array.from(a[0]!));
    fresh.dispose();
    unet.dispose();
  }, 80_000);

  it('trains in micro-batches (one update per batch), with the same protocol', async () => {
    const samples = Array.from({ length: 6 }, (_, i) => disc(i));
    const unet = createLesionUnet({
      inputSizePx: [SIZE, SIZE],
      classes: ['bg', 'disc'],
      dropConnectRate: 0,
    });
    const options = {
      sources: [{ name: 'discs', samples }],
      validation: samples.slice(0, 2),
      learningRate: 3e-3,
      batchSize: 4,
      stepsPerEpoch: 4,
      patience: 100,
      epochs: 3,
    };
    await expect(trainLesionUnet(unet, { ...options, microBatchSize: 0 })).rejects.toThrow(
      /microBatchSize/,
    );
    const before = tf.memory().numTensors;
    const records: number[] = [];
    const result = await trainLesionUnet(unet, {
      ...options,
      microBatchSize: 1,
      onEpoch: (record) => records.push(record.trainLoss),
    });
    expect(result.epochsRun).toBe(3);
    expect(records.every(Number.isFinite)).toBe(true);
    expect(records.at(-1)!).toBeLessThan(records[0]!);
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
    unet.dispose();
  }, 80_000);
});
