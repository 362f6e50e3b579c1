// Behaviour of the scan classifiers on synthetic sequences, on cpu and wasm: the BiLSTM learns
// the order of two events where pooling cannot, padding changes nothing, class weights move
// sensitivity, tensors do not leak, and saved models predict the same after loading.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createRandom, isLesionEncError } from '@lesionenc/base';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadClassifier, saveSequenceClassifier } from './model-files';
import { type SequenceBatch, createSequenceClassifier } from './models';
import { trainSequenceClassifier } from './train';

/** The bar for the RNN on the order task. */
const RNN_MIN_AUC = 0.95;
/** Pooling sees the same set of events in both classes: its AUC must stay near 0.5. */
const POOLING_MAX_AUC_DISTANCE_FROM_CHANCE = 0.15;
/** Padding may change a score by float32 rounding at most. */
const PADDING_TOLERANCE = 1e-6;

const FEATURES = 4;

/** Area under the ROC curve by the rank-sum formula (ties count one half). */
function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let pairs = 0;
  let wins = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      const d = (scores[i] as number) - (scores[j] as number);
      wins += d > 0 ? 1 : d === 0 ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

/**
 * Sequences with one event A (feature 0) and one event B (feature 1) at random steps; the
 * label is 1 when A comes before B. Feature 2 marks a real step, feature 3 is noise.
 */
function orderTask(count: number, steps: number, seed: number) {
  const random = createRandom(seed);
  const features = new Float32Array(count * steps * FEATURES);
  const lengths = new Int32Array(count);
  const labels = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const length = steps - 6 + random.nextInt(7);
    lengths[i] = length;
    const a = random.nextInt(length);
    let b = random.nextInt(length - 1);
    if (b >= a) b++;
    labels[i] = a < b ? 1 : 0;
    for (let t = 0; t < length; t++) {
      const o = (i * steps + t) * FEATURES;
      features[o] = t === a ? 1 : 0;
      features[o + 1] = t === b ? 1 : 0;
      features[o + 2] = 1;
      features[o + 3] = random.normal(0, 0.1);
    }
  }
  return { features, shape: [count, steps, FEATURES] as const, lengths, labels };
}

/** Re-pads a batch to more steps (zeros beyond the old end). */
function repad(batch: SequenceBatch, steps: number): SequenceBatch {
  const [n, old, d] = batch.shape;
  const features = new Float32Array(n * steps * d);
  for (let i = 0; i < n; i++) {
    features.set(batch.features.subarray(i * old * d, (i + 1) * old * d), i * steps * d);
  }
  return { features, shape: [n, steps, d], lengths: batch.lengths };
}

describe.each(['cpu', 'wasm'])('sequence classifiers on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
  });

  it('RNN learns the order of two events; Pooling stays near chance', async () => {
    const train = orderTask(256, 16, 1);
    const test = orderTask(160, 16, 2);
    const config = { featureSize: FEATURES, lstmUnits: [12, 12] as const, denseUnits: 12, seed: 3 };
    const training = { epochs: 30, learningRate: 1e-2, classWeights: { negative: 1, positive: 1 } };
    const rnn = createSequenceClassifier({ kind: 'rnn', ...config });
    const pooling = createSequenceClassifier({ kind: 'pooling', ...config });
    try {
      const result = await trainSequenceClassifier(rnn, train, { ...training, seed: 4 });
      await trainSequenceClassifier(pooling, train, { ...training, seed: 4 });
      const rnnAuc = auc(await rnn.predict(test), test.labels);
      const poolingAuc = auc(await pooling.predict(test), test.labels);
      expect(rnnAuc).toBeGreaterThanOrEqual(RNN_MIN_AUC);
      expect(Math.abs(poolingAuc - 0.5)).toBeLessThan(POOLING_MAX_AUC_DISTANCE_FROM_CHANCE);
      expect(result.log).toHaveLength(30);
      expect(result.log.filter((e) => e.resampled).map((e) => e.epoch)).toEqual([0, 20]);
      const best = result.log[result.bestEpoch];
      expect(best?.validationLoss).toBe(result.bestValidationLoss);
      expect(Math.min(...result.log.map((e) => e.validationLoss))).toBe(result.bestValidationLoss);
    } finally {
      rnn.dispose();
      pooling.dispose();
    }
  });

  it.each(['rnn', 'pooling'] as const)('%s: padding never changes a prediction', async (kind) => {
    const batch = orderTask(12, 16, 5);
    const classifier = createSequenceClassifier({
      kind,
      featureSize: FEATURES,
      lstmUnits: [6, 6],
      denseUnits: 6,
      seed: 1,
    });
    try {
      const base = await classifier.predict(batch);
      const longer = await classifier.predict(repad(batch, 29));
      // Garbage beyond each true length is ignored when lengths are given.
      const noisy = { ...batch, features: Float32Array.from(batch.features) };
      for (let i = 0; i < 12; i++) {
        for (let t = batch.lengths[i] as number; t < 16; t++) {
          noisy.features.fill(7, (i * 16 + t) * FEATURES, (i * 16 + t + 1) * FEATURES);
        }
      }
      const ignored = await classifier.predict(noisy);
      // One at a time (no batch-mates) gives the same scores as well.
      const single = await classifier.predict(batch, 1);
      for (let i = 0; i < 12; i++) {
        expect(Math.abs((longer[i] as number) - (base[i] as number))).toBeLessThan(
          PADDING_TOLERANCE,
        );
        expect(Math.abs((ignored[i] as number) - (base[i] as number))).toBeLessThan(
          PADDING_TOLERANCE,
        );
        expect(Math.abs((single[i] as number) - (base[i] as number))).toBeLessThan(
          PADDING_TOLERANCE,
        );
      }
      expect(new Set(Array.from(base, (v) => v.toFixed(6))).size).toBeGreaterThan(1);
    } finally {
      classifier.dispose();
    }
  });

  it('class weights move sensitivity on imbalanced data', async () => {
    // 15 % positives whose feature 0 is shifted by one standard deviation: overlapping classes.
    const random = createRandom(8);
    const count = 400;
    const steps = 4;
    const features = new Float32Array(count * steps * FEATURES);
    const labels = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      labels[i] = random.next() < 0.15 ? 1 : 0;
      for (let t = 0; t < steps; t++) {
        const o = (i * steps + t) * FEATURES;
        features[o] = random.normal(labels[i] === 1 ? 1 : 0, 1);
        features[o + 1] = random.normal();
        features[o + 2] = 1;
        features[o + 3] = random.normal();
      }
    }
    const data = { features, shape: [count, steps, FEATURES] as const, labels };
    const sensitivity = async (positive: number) => {
      const classifier = createSequenceClassifier({
        kind: 'pooling',
        featureSize: FEATURES,
        denseUnits: 8,
        seed: 2,
      });
      try {
        await trainSequenceClassifier(classifier, data, {
          epochs: 15,
          learningRate: 1e-2,
          validationFraction: 0,
          classWeights: { negative: 2 - positive, positive },
        });
        const scores = await classifier.predict(data);
        let truePositives = 0;
        let positives = 0;
        for (let i = 0; i < count; i++) {
          if (labels[i] !== 1) continue;
          positives++;
          if ((scores[i] as number) >= 0.5) truePositives++;
        }
        return truePositives / positives;
      } finally {
        classifier.dispose();
      }
    };
    const weighted = await sensitivity(1.8);
    const unweighted = await sensitivity(1);
    expect(weighted).toBeGreaterThan(unweighted + 0.2);
  });

  it('keeps the tensor count flat over repeated predictions and training', async () => {
    const batch = orderTask(20, 10, 6);
    const classifier = createSequenceClassifier({
      kind: 'rnn',
      featureSize: FEATURES,
      lstmUnits: [4, 4],
      denseUnits: 4,
    });
    try {
      await classifier.predict(batch);
      await trainSequenceClassifier(classifier, batch, { epochs: 1, batchSize: 8 });
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) {
        await classifier.predict(batch);
        await trainSequenceClassifier(classifier, batch, { epochs: 2, batchSize: 8 });
      }
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      classifier.dispose();
    }
  });
});

describe('sequence classifier files and protocol checks', () => {
  const directory = mkdtempSync(join(tmpdir(), 'lesionenc-classifier-'));
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it.each(['rnn', 'pooling'] as const)('%s predicts the same after save and load', async (kind) => {
    const batch = orderTask(10, 12, 7);
    const classifier = createSequenceClassifier({
      kind,
      featureSize: FEATURES,
      lstmUnits: [5, 3],
      denseUnits: 7,
      seed: 9,
    });
    const target = join(directory, kind);
    try {
      const result = await trainSequenceClassifier(classifier, batch, { epochs: 2, batchSize: 4 });
      await saveSequenceClassifier(classifier, target, result.log);
      const loaded = await loadClassifier(target);
      expect(loaded.kind).toBe(kind);
      if (loaded.kind === 'volumetric') throw new Error('unexpected kind');
      expect(loaded.classifier.config).toEqual(classifier.config);
      expect(loaded.trainingLog).toHaveLength(2);
      const before = await classifier.predict(batch);
      const after = await loaded.classifier.predict(batch);
      expect(Array.from(after)).toEqual(Array.from(before));
      loaded.classifier.dispose();
    } finally {
      classifier.dispose();
    }
  });

  it('rejects a damaged classifier directory with MODEL_FORMAT', async () => {
    const { writeFileSync, mkdirSync } = await import('node:fs');
    const target = join(directory, 'damaged');
    mkdirSync(target, { recursive: true });
    writeFileSync(
      join(target, 'classifier.json'),
      JSON.stringify({ format: 'lesionenc-classifier', version: 99 }),
    );
    await expect(loadClassifier(target)).rejects.toSatisfy((e) =>
      isLesionEncError(e, 'MODEL_FORMAT'),
    );
    await expect(loadClassifier(join(directory, 'missing'))).rejects.toSatisfy((e) =>
      isLesionEncError(e, 'FILE_NOT_FOUND'),
    );
  });

  it('stops on abort and rejects bad labels', async () => {
    const batch = orderTask(16, 8, 3);
    const classifier = createSequenceClassifier({ kind: 'pooling', featureSize: FEATURES });
    try {
      const controller = new AbortController();
      const run = trainSequenceClassifier(
        classifier,
        batch,
        { epochs: 50 },
        {
          signal: controller.signal,
          onProgress: (e) => {
            if (e.completed === 2) controller.abort();
          },
        },
      );
      await expect(run).rejects.toSatisfy((e) => isLesionEncError(e, 'ABORTED'));
      const bad = {
        ...batch,
        labels: Float32Array.from(batch.labels, (v, i) => (i === 3 ? 2 : v)),
      };
      await expect(trainSequenceClassifier(classifier, bad)).rejects.toSatisfy((e) =>
        isLesionEncError(e, 'INVALID_ARGUMENT'),
      );
    } finally {
      classifier.dispose();
    }
  });
});
