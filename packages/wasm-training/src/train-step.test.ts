// Whole Adam training steps on wasm against cpu (tfjs#4326 reports wasm losses that are wrong
// although each kernel runs): losses and every weight after three steps.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

import { createRandom } from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';

import { buildTinyBiLstm, buildTinyUnet, readWeights, writeWeights } from './internal/test-models';
import {
  WASM_TRAINING_KERNELS,
  registerCpuTrainingFixes,
  registerWasmTrainingKernels,
} from './kernels/register';
import { traceKernels } from './trace';

// Largest |wasm - cpu| allowed, relative to the largest |cpu| value (per loss, per weight tensor).
const RELATIVE_TOLERANCE = 1e-4;
const STEPS = 3;
const LEARNING_RATE = 1e-3;

interface Problem {
  name: string;
  build: () => tfl.LayersModel;
  loss: string;
  x: { data: Float32Array; shape: number[] };
  y: { data: Float32Array; shape: number[] };
}

function values(shape: number[], draw: () => number): { data: Float32Array; shape: number[] } {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = draw();
  return { data, shape };
}

function oneHot(shape: number[], classes: number, seed: number) {
  const random = createRandom(seed);
  const cells = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(cells * classes);
  for (let i = 0; i < cells; i++) data[i * classes + random.nextInt(classes)] = 1;
  return { data, shape: [...shape, classes] };
}

const random = createRandom(42);
const PROBLEMS: Problem[] = [
  {
    name: 'U-Net (conv, BN, swish, depthwise, SE, upsampling, concat, softmax)',
    build: () => buildTinyUnet({ sizePx: 16, channels: 3, classes: 4, batchNorm: true }),
    loss: 'categoricalCrossentropy',
    x: values([2, 16, 16, 3], () => random.normal(0, 1)),
    y: oneHot([2, 16, 16], 4, 7),
  },
  {
    name: '2-layer bidirectional LSTM',
    build: () => buildTinyBiLstm(6, 4),
    loss: 'binaryCrossentropy',
    x: values([3, 6, 4], () => random.normal(0, 1)),
    y: values([3, 1], () => random.nextInt(2)),
  },
];

interface Run {
  losses: number[];
  weights: { data: Float32Array; shape: number[] }[];
}

async function train(
  backend: 'cpu' | 'wasm',
  problem: Problem,
  initial: ReturnType<typeof readWeights>,
): Promise<Run> {
  await tf.setBackend(backend);
  const model = problem.build();
  writeWeights(model, initial);
  model.compile({ optimizer: tf.train.adam(LEARNING_RATE), loss: problem.loss });
  const x = tf.tensor(problem.x.data, problem.x.shape);
  const y = tf.tensor(problem.y.data, problem.y.shape);
  const losses: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    losses.push((await model.trainOnBatch(x, y)) as number);
  }
  const weights = readWeights(model);
  tf.dispose([x, y]);
  model.dispose();
  return { losses, weights };
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

describe('training steps on wasm', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    registerWasmTrainingKernels();
    registerCpuTrainingFixes();
  });

  it.each(PROBLEMS.map((p) => [p.name, p] as const))(
    'one Adam step of the %s dispatches only kernels wasm has',
    async (_, problem) => {
      await tf.setBackend('wasm');
      const model = problem.build();
      model.compile({ optimizer: tf.train.adam(LEARNING_RATE), loss: problem.loss });
      const x = tf.tensor(problem.x.data, problem.x.shape);
      const y = tf.tensor(problem.y.data, problem.y.shape);
      const trace = await traceKernels(() => model.trainOnBatch(x, y), 'wasm');
      expect(trace.missing).toEqual([]);
      expect(Number.isFinite(trace.result as number)).toBe(true);
      const ours = trace.kernels.filter((k) => WASM_TRAINING_KERNELS.includes(k));
      expect(ours.length).toBeGreaterThan(0);
      tf.dispose([x, y]);
      model.dispose();
    },
  );

  it.each(PROBLEMS.map((p) => [p.name, p] as const))(
    'three Adam steps of the %s give the losses and weights of cpu',
    async (_, problem) => {
      await tf.setBackend('cpu');
      const reference = problem.build();
      const initial = readWeights(reference);
      reference.dispose();

      const cpu = await train('cpu', problem, initial);
      const wasm = await train('wasm', problem, initial);

      expect(wasm.losses).toHaveLength(STEPS);
      for (let step = 0; step < STEPS; step++) {
        const cpuLoss = cpu.losses[step]!;
        expect(Math.abs(wasm.losses[step]! - cpuLoss) / Math.abs(cpuLoss)).toBeLessThan(
          RELATIVE_TOLERANCE,
        );
      }
      // The weights moved, so the comparison below is about trained values.
      expect(relativeError(cpu.weights[0]!.data, initial[0]!.data)).toBeGreaterThan(0);
      expect(wasm.weights).toHaveLength(cpu.weights.length);
      cpu.weights.forEach((w, k) => {
        expect(wasm.weights[k]!.shape).toEqual(w.shape);
        expect(relativeError(wasm.weights[k]!.data, w.data)).toBeLessThan(RELATIVE_TOLERANCE);
      });
    },
  );
});
