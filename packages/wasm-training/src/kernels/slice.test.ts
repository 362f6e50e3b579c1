// The heap-reading Slice kernel gives exactly what the cpu backend gives, for contiguous and
// strided cuts of every rank, and leaks nothing.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { registerWasmTrainingKernels } from './register';

const CASES: [string, number[], number[], number[]][] = [
  ['rank 1', [17], [3], [9]],
  ['rows of a matrix (contiguous)', [9, 40], [5, 0], [1, 40]],
  ['a block of a matrix', [9, 40], [2, 7], [4, 11]],
  ['rank 3, inner run of one', [5, 6, 7], [1, 2, 3], [3, 2, 1]],
  ['rank 4 window', [2, 9, 10, 3], [0, 1, 2, 0], [2, 6, 7, 3]],
  ['rank 4, size -1 to the end', [2, 9, 10, 3], [1, 4, 0, 1], [-1, -1, 5, 2]],
  ['rank 5', [2, 3, 4, 5, 6], [1, 0, 1, 2, 3], [1, 3, 2, 2, 3]],
  ['empty', [4, 5], [1, 1], [0, 3]],
];

describe('heapSlice on wasm', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    registerWasmTrainingKernels();
  });

  it.each(CASES)('%s equals the cpu backend', async (_name, shape, begin, size) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const values = Float32Array.from({ length: count }, (_, i) => i * 0.5 - 7);
    await tf.setBackend('cpu');
    const expected = tf.tidy(() => tf.slice(tf.tensor(values, shape), begin, size));
    const expectedShape = expected.shape;
    const expectedValues = Array.from(expected.dataSync());
    expected.dispose();
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const actual = tf.tidy(() => tf.slice(tf.tensor(values, shape), begin, size));
    expect(actual.shape).toEqual(expectedShape);
    expect(Array.from(actual.dataSync())).toEqual(expectedValues);
    actual.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('slices int32 tensors too', () => {
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
    const y = tf.slice(x, [0, 1], [2, 2]);
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.dataSync())).toEqual([2, 3, 5, 6]);
    tf.dispose([x, y]);
  });
});
