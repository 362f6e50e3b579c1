// Self-supervised pretraining on a tiny network: it learns to fill in hidden patches, changes
// the shared layers, leaves the final convolution alone and frees its head.
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { pretrainSelfSupervised } from './pretrain';
import { createLesionUnet } from './unet';

const SIZE = 32;

// Smooth stripes at a few angles: easy to fill in from the visible part.
function stripes(index: number): Float32Array {
  const image = new Float32Array(SIZE * SIZE);
  const angle = (index % 5) * 0.6;
  for (let r = 0; r < SIZE; r++) {
    for (let c = 0; c < SIZE; c++) {
      image[r * SIZE + c] = 0.5 + 0.4 * Math.sin((r * Math.cos(angle) + c * Math.sin(angle)) / 3);
    }
  }
  return image;
}

describe('pretrainSelfSupervised', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  it('lowers the reconstruction loss, trains shared layers only, leaks nothing', async () => {
    const unet = createLesionUnet({
      inputSizePx: [SIZE, SIZE],
      classes: ['bg', 'lesion'],
      dropConnectRate: 0,
    });
    const finalBefore = unet.model.getLayer('final_conv').getWeights()[0]!.dataSync().slice();
    const stemBefore = unet.model.getLayer('stem_conv').getWeights()[0]!.dataSync().slice();
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const result = await pretrainSelfSupervised(unet, {
      images: Array.from({ length: 10 }, (_, i) => stripes(i)),
      steps: 30,
      batchSize: 4,
      microBatchSize: 2,
      patchPx: 6,
      learningRate: 3e-3,
      onProgress: (e) => progress.push(e.fraction),
    });
    expect(result.steps).toBe(30);
    expect(result.lastLoss).toBeLessThan(result.firstLoss * 0.7);
    expect(progress.at(-1)).toBe(1);
    expect(tf.memory().numTensors).toBe(before);

    const finalAfter = unet.model.getLayer('final_conv').getWeights()[0]!.dataSync();
    const stemAfter = unet.model.getLayer('stem_conv').getWeights()[0]!.dataSync();
    expect(Array.from(finalAfter)).toEqual(Array.from(finalBefore));
    expect(Array.from(stemAfter)).not.toEqual(Array.from(stemBefore));
    // The U-Net still runs.
    const out = unet.model.predict(tf.zeros([1, SIZE, SIZE, 3])) as tf.Tensor[];
    expect(out[0]!.shape).toEqual([1, SIZE, SIZE, 2]);
    tf.dispose(out);
    unet.dispose();
  }, 120_000);

  it('refuses images of the wrong size and bad settings', async () => {
    const unet = createLesionUnet({ inputSizePx: [SIZE, SIZE], classes: ['bg', 'lesion'] });
    await expect(
      pretrainSelfSupervised(unet, { images: [new Float32Array(10)], steps: 1 }),
    ).rejects.toThrow(/pretraining image 0: expected 1024 values, got 10/);
    await expect(pretrainSelfSupervised(unet, { images: [], steps: 1 })).rejects.toThrow(
      /at least one/,
    );
    await expect(
      pretrainSelfSupervised(unet, { images: [stripes(0)], steps: 1, maskFraction: 1.5 }),
    ).rejects.toThrow(/maskFraction/);
    unet.dispose();
  });
});
