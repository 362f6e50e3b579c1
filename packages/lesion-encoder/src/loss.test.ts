// Tests of the segmentation loss (full and partial labels) and of the Dice report.
import '@tensorflow/tfjs-backend-cpu';
import { isLesionEncError } from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-core';
// The gradient functions of every op, for the gradient test.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';

import { computeDice, createSegmentationLoss } from './loss';

const LOSS_TOLERANCE = 1e-5;

// Two pixels, three classes, one image.
function fixture() {
  // Pixel 0 then pixel 1, three class probabilities each.
  const probabilities = tf.tensor4d([0.7, 0.2, 0.1, 0.1, 0.3, 0.6], [1, 1, 2, 3]);
  const labels = [0, 2];
  return { probabilities, labels };
}

describe('createSegmentationLoss', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('computes weighted cross-entropy as a hand calculation does', () => {
    const { probabilities, labels } = fixture();
    const target = tf.reshape(tf.oneHot(labels, 3), [1, 1, 2, 3]) as tf.Tensor4D;
    const loss = createSegmentationLoss(3, { classWeights: [1, 1, 2], diceWeight: 0 });
    const expected = -(1 * Math.log(0.7) + 2 * Math.log(0.6)) / 2;
    expect(loss(target, probabilities).dataSync()[0]).toBeCloseTo(expected, 5);
    tf.dispose([probabilities, target]);
  });

  it('computes soft Dice per class with smoothing', () => {
    const { probabilities, labels } = fixture();
    const target = tf.reshape(tf.oneHot(labels, 3), [1, 1, 2, 3]) as tf.Tensor4D;
    const loss = createSegmentationLoss(3, { crossEntropyWeight: 0, diceSmooth: 1 });
    const dice = [
      (2 * 0.7 + 1) / (1 + 0.8 + 1),
      (2 * 0 + 1) / (0 + 0.5 + 1),
      (2 * 0.6 + 1) / (1 + 0.7 + 1),
    ];
    const expected = 1 - dice.reduce((s, v) => s + v, 0) / 3;
    expect(Math.abs(loss(target, probabilities).dataSync()[0]! - expected)).toBeLessThan(
      LOSS_TOLERANCE,
    );
    tf.dispose([probabilities, target]);
  });

  it('scores a partial label by the summed probability of its group', () => {
    const { probabilities } = fixture();
    // Group 0 = class 0, group 1 = classes 1 and 2; pixel 0 is group 0, pixel 1 group 1.
    const target = tf.tensor4d([1, 0, 0, 1], [1, 1, 2, 2]);
    const loss = createSegmentationLoss(3, { diceWeight: 0 });
    const expected = -(Math.log(0.7) + Math.log(0.9)) / 2;
    const value = loss(target, probabilities, [[0], [1, 2]]).dataSync()[0]!;
    expect(value).toBeCloseTo(expected, 5);
    tf.dispose([probabilities, target]);
  });

  it('has a gradient that raises the probability of the true class', () => {
    const logits = tf.variable(tf.zeros([1, 2, 2, 3]));
    const target = tf.reshape(tf.oneHot([1, 1, 2, 0], 3), [1, 2, 2, 3]) as tf.Tensor4D;
    const loss = createSegmentationLoss(3);
    const before = loss(target, tf.softmax(logits) as tf.Tensor4D).dataSync()[0]!;
    const optimizer = tf.train.sgd(1);
    for (let i = 0; i < 20; i++)
      optimizer.minimize(() => loss(target, tf.softmax(logits) as tf.Tensor4D));
    const after = loss(target, tf.softmax(logits) as tf.Tensor4D).dataSync()[0]!;
    expect(after).toBeLessThan(before * 0.5);
    tf.dispose([logits, target]);
    optimizer.dispose();
  });

  it('rejects bad weights, groups and shapes with typed codes', () => {
    const { probabilities } = fixture();
    const target = tf.zeros([1, 1, 2, 2]) as tf.Tensor4D;
    const codes: unknown[] = [];
    for (const run of [
      () => createSegmentationLoss(3, { classWeights: [1, 1] }),
      () => createSegmentationLoss(3)(target, probabilities, [[0], [5]]),
      () => createSegmentationLoss(3)(target, probabilities),
    ]) {
      try {
        run();
      } catch (error) {
        codes.push(isLesionEncError(error) ? error.code : error);
      }
    }
    expect(codes).toEqual(['INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'SHAPE_MISMATCH']);
    tf.dispose([probabilities, target]);
  });
});

describe('computeDice', () => {
  it('averages over the images that contain each class', () => {
    const truth = [Uint8Array.from([0, 1, 1, 0]), Uint8Array.from([0, 0, 2, 2])];
    const predicted = [Uint8Array.from([0, 1, 0, 0]), Uint8Array.from([0, 0, 2, 0])];
    const report = computeDice(predicted, truth, 3);
    expect(report.imageCounts).toEqual([2, 1, 1]);
    expect(report.perClass[1]).toBeCloseTo((2 * 1) / (1 + 2), 10);
    expect(report.perClass[2]).toBeCloseTo((2 * 1) / (1 + 2), 10);
    expect(report.perClass[0]).toBeCloseTo(((2 * 2) / (3 + 2) + (2 * 2) / (3 + 2)) / 2, 10);
    expect(report.meanLesionDice).toBeCloseTo(2 / 3, 10);
  });

  it('reports null for classes no image contains', () => {
    const report = computeDice([Uint8Array.from([1, 1])], [Uint8Array.from([0, 0])], 3);
    expect(report.perClass).toEqual([0, null, null]);
    expect(report.meanLesionDice).toBeNull();
  });
});
