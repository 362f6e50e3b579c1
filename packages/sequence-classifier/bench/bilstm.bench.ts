// Two bidirectional LSTM layers (64 units, sequences of 300 x 64, batch 32): forward pass and
// one Adam training step of the whole RNN classifier, fused LSTM against tfjs-layers' LSTM.
import { createSequenceClassifier } from '@lesionenc/sequence-classifier';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import type { Benchmark } from '../../../scripts/bench-types';

const BATCH = 32;
const STEPS = 300;
const FEATURES = 64;
const UNITS = 64;

interface Context {
  model: tfl.LayersModel;
  x: tf.Tensor3D;
  y: tf.Tensor2D;
  optimizer: tf.Optimizer;
  dispose(): void;
}

function fusedModel(): Pick<Context, 'model' | 'dispose'> {
  const classifier = createSequenceClassifier({
    kind: 'rnn',
    featureSize: FEATURES,
    lstmUnits: [UNITS, UNITS],
    denseUnits: 64,
  });
  return { model: classifier.model, dispose: () => classifier.dispose() };
}

// The same network from tfjs-layers' own Bidirectional(LSTM) layers, for comparison.
function layersModel(): Pick<Context, 'model' | 'dispose'> {
  const input = tfl.input({ shape: [null, FEATURES] });
  let h = tfl.layers.masking({ maskValue: 0 }).apply(input) as tfl.SymbolicTensor;
  for (const returnSequences of [true, false]) {
    h = tfl.layers
      .bidirectional({
        layer: tfl.layers.lstm({
          units: UNITS,
          returnSequences,
          recurrentActivation: 'sigmoid',
          // tfjs-layers' orthogonal initialiser needs tfjs' chained tensor methods.
          recurrentInitializer: 'glorotUniform',
        }) as tfl.RNN,
      })
      .apply(h) as tfl.SymbolicTensor;
  }
  h = tfl.layers.dense({ units: 64, activation: 'relu' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.dropout({ rate: 0.5 }).apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 1, activation: 'sigmoid' }).apply(h) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  return { model, dispose: () => model.dispose() };
}

function setup(make: () => Pick<Context, 'model' | 'dispose'>): Context {
  const { model, dispose } = make();
  return {
    model,
    x: tf.randomNormal([BATCH, STEPS, FEATURES], 0, 1, 'float32', 1) as tf.Tensor3D,
    y: tf.tensor2d(
      Array.from({ length: BATCH }, (_, i) => i % 2),
      [BATCH, 1],
    ),
    optimizer: tf.train.adam(1e-3),
    dispose,
  };
}

function teardown(context: Context): void {
  context.dispose();
  context.x.dispose();
  context.y.dispose();
  context.optimizer.dispose();
}

function forwardBench(backend: 'cpu' | 'wasm', which: 'fused' | 'tfjs-layers'): Benchmark<Context> {
  return {
    id: `sequence-classifier/bilstm-forward-${which}-${backend}`,
    title: `2-layer BiLSTM classifier forward, 64 units, 32 x 300 x 64 (${which} LSTM)`,
    backend,
    warmup: 1,
    runs: which === 'fused' ? 5 : 2,
    setup: () => setup(which === 'fused' ? fusedModel : layersModel),
    run: async ({ model, x }) => {
      const out = model.predict(x) as tf.Tensor;
      await out.data();
      out.dispose();
    },
    extra: () => ({ 'PyTorch s': 0.1, 'tfjs-layers wasm s (issue)': 2.05 }),
    teardown,
  };
}

function trainBench(backend: 'cpu' | 'wasm', which: 'fused' | 'tfjs-layers'): Benchmark<Context> {
  return {
    id: `sequence-classifier/bilstm-train-step-${which}-${backend}`,
    title: `2-layer BiLSTM classifier, one Adam step, 64 units, 32 x 300 x 64 (${which} LSTM)`,
    backend,
    warmup: 1,
    runs: which === 'fused' ? 5 : 2,
    setup: () => setup(which === 'fused' ? fusedModel : layersModel),
    run: async ({ model, x, y, optimizer }) => {
      const loss = optimizer.minimize(
        () =>
          tf.losses.sigmoidCrossEntropy(
            y,
            model.apply(x, { training: true }) as tf.Tensor,
          ) as tf.Scalar,
        true,
      );
      await loss?.data();
      loss?.dispose();
    },
    extra: () => ({ 'PyTorch s': 0.34, 'tfjs-layers wasm s (issue)': 7.8 }),
    teardown,
  };
}

export const benchmarks = [
  forwardBench('wasm', 'fused'),
  trainBench('wasm', 'fused'),
  forwardBench('cpu', 'fused'),
  trainBench('cpu', 'fused'),
  forwardBench('wasm', 'tfjs-layers'),
  trainBench('wasm', 'tfjs-layers'),
];
