// Self-supervised pretraining of the lesion U-Net on unlabelled slices: masked-image
// reconstruction. Random square patches of each slice are hidden (set to mid-grey) and noise is
// added; a one-channel head on the decoder's last features learns to give back the clean slice.
// The head shares every layer of the U-Net but its final convolution, so what it learns stays in
// the U-Net, and the head is released afterwards. This gives the encoder and decoder a start
// from all the slices that have no lesion labels, where no ImageNet weights can be had.
import {
  LesionEncError,
  type LongTaskOptions,
  createLogger,
  createRandom,
  throwIfAborted,
} from '@lesionenc/base';
import {
  createAccumulatingTrainer,
  registerCpuTrainingFixes,
  registerWasmTrainingKernels,
} from '@lesionenc/wasm-training';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import type { LesionUnet } from './unet';

const log = createLogger('lesionenc.lesion-encoder.pretrain');

/** Settings of {@link pretrainSelfSupervised}. */
export interface SelfSupervisedOptions extends LongTaskOptions {
  /** Unlabelled slices at the network's input size, in the network's input scale ([0, 1]). */
  images: readonly Float32Array[];
  /** Optimizer steps. */
  steps: number;
  /** @defaultValue 4 */
  batchSize?: number;
  /** Images per forward and backward pass. @defaultValue the whole batch */
  microBatchSize?: number;
  /** @defaultValue 1e-3 */
  learningRate?: number;
  /** Share of each slice hidden, in square patches. @defaultValue 0.4 */
  maskFraction?: number;
  /** Side of a hidden patch (px). @defaultValue 16 */
  patchPx?: number;
  /** Standard deviation of the Gaussian noise added to the whole input. @defaultValue 0.03 */
  noiseSd?: number;
  /** Weight of the visible pixels in the loss (hidden ones weigh 1). @defaultValue 0.1 */
  visibleWeight?: number;
  /** @defaultValue 0 */
  seed?: number;
}

/** What {@link pretrainSelfSupervised} reports. */
export interface SelfSupervisedResult {
  steps: number;
  /** Mean loss of the first and of the last tenth of the steps. */
  firstLoss: number;
  lastLoss: number;
}

/** Name of the reconstruction head's convolution (not part of the U-Net). */
const HEAD_LAYER = 'reconstruction_conv';

/**
 * Pretrains `unet` in place by masked-image reconstruction (see the module comment). The U-Net's
 * final convolution is not touched; batch normalisation statistics follow the unlabelled data.
 *
 * @param unet - A lesion U-Net with a fixed input size.
 * @param options - Images, steps and the corruption.
 * @returns Losses at the start and the end.
 * @throws LesionEncError `INVALID_ARGUMENT` for no images, images of the wrong size or bad
 *   settings; `NOT_CONVERGED` when the loss stops being finite.
 */
export async function pretrainSelfSupervised(
  unet: LesionUnet,
  options: SelfSupervisedOptions,
): Promise<SelfSupervisedResult> {
  const size = unet.config.inputSizePx;
  const bad = (what: string, expected: string, got: unknown) =>
    new LesionEncError('INVALID_ARGUMENT', `${what}: expected ${expected}, got ${String(got)}`);
  if (size === null) throw bad('lesion U-Net inputSizePx', 'a fixed [rows, columns]', null);
  const [rows, columns] = size;
  const plane = rows * columns;
  if (options.images.length === 0) throw bad('pretraining images', 'at least one', 0);
  const wrong = options.images.findIndex((image) => image.length !== plane);
  if (wrong >= 0) {
    throw bad(`pretraining image ${wrong}`, `${plane} values`, options.images[wrong]!.length);
  }
  const batchSize = options.batchSize ?? 4;
  const microBatchSize = options.microBatchSize ?? batchSize;
  const maskFraction = options.maskFraction ?? 0.4;
  const patchPx = options.patchPx ?? 16;
  const noiseSd = options.noiseSd ?? 0.03;
  const visibleWeight = options.visibleWeight ?? 0.1;
  if (!Number.isInteger(options.steps) || options.steps < 1)
    throw bad('steps', '>= 1', options.steps);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw bad('batchSize', '>= 1', batchSize);
  if (!(maskFraction > 0 && maskFraction < 1)) throw bad('maskFraction', 'in (0, 1)', maskFraction);
  if (!(patchPx >= 1)) throw bad('patchPx', '>= 1', patchPx);

  const backend = tf.getBackend();
  if (backend === 'wasm') registerWasmTrainingKernels();
  if (backend === 'cpu') registerCpuTrainingFixes();

  // The head: a 3x3 convolution with a sigmoid on what the U-Net's final convolution reads.
  const decoderOut = unet.model.getLayer('final_conv').input as tfl.SymbolicTensor;
  const head = tfl.layers.conv2d({
    filters: 1,
    kernelSize: 3,
    padding: 'same',
    activation: 'sigmoid',
    kernelInitializer: tfl.initializers.glorotUniform({ seed: options.seed ?? 0 }),
    name: HEAD_LAYER,
  });
  const model = tfl.model({
    inputs: unet.model.inputs,
    outputs: head.apply(decoderOut) as tfl.SymbolicTensor,
    name: `${unet.model.name}_reconstruction`,
  });
  const optimizer = tf.train.adam(options.learningRate ?? 1e-3);
  const trainer = createAccumulatingTrainer({
    model,
    optimizer,
    microBatchSize,
    // y holds the clean slice and the per-pixel weight: the weighted mean squared error.
    loss: (yTrue, predicted) =>
      tf.tidy(() => {
        const [target, weight] = tf.split(yTrue, 2, -1);
        const error = tf.squaredDifference(predicted, target!);
        return tf.div(tf.sum(tf.mul(error, weight!)), tf.sum(weight!)) as tf.Scalar;
      }),
  });

  const random = createRandom(options.seed ?? 0).fork('self-supervised');
  const channels = unet.config.inputChannels;
  const patchesPerImage = Math.max(1, Math.round((maskFraction * plane) / (patchPx * patchPx)));
  const losses: number[] = [];
  try {
    for (let step = 0; step < options.steps; step++) {
      throwIfAborted(options.signal, 'pretrainSelfSupervised');
      const input = new Float32Array(batchSize * plane);
      const target = new Float32Array(batchSize * plane * 2);
      for (let b = 0; b < batchSize; b++) {
        const image = options.images[random.nextInt(options.images.length)]!;
        const hidden = new Uint8Array(plane);
        for (let p = 0; p < patchesPerImage; p++) {
          const top = random.nextInt(Math.max(1, rows - patchPx + 1));
          const left = random.nextInt(Math.max(1, columns - patchPx + 1));
          for (let r = top; r < Math.min(rows, top + patchPx); r++) {
            hidden.fill(1, r * columns + left, r * columns + Math.min(columns, left + patchPx));
          }
        }
        for (let i = 0; i < plane; i++) {
          const value = hidden[i] === 1 ? 0.5 : (image[i] as number);
          input[b * plane + i] = value + noiseSd * random.normal();
          target[(b * plane + i) * 2] = image[i] as number;
          target[(b * plane + i) * 2 + 1] = hidden[i] === 1 ? 1 : visibleWeight;
        }
      }
      const x = tf.tidy(() => {
        const grey = tf.tensor4d(input, [batchSize, rows, columns, 1]);
        return channels === 3 ? tf.tile(grey, [1, 1, 1, 3]) : grey;
      });
      const y = tf.tensor4d(target, [batchSize, rows, columns, 2]);
      try {
        const { loss } = await trainer.step(x, y);
        losses.push(loss);
      } finally {
        x.dispose();
        y.dispose();
      }
      options.onProgress?.({
        stage: 'pretrain',
        status: 'progress',
        fraction: (step + 1) / options.steps,
        completed: step + 1,
        total: options.steps,
        message: `step ${step + 1}/${options.steps} loss ${losses.at(-1)!.toFixed(5)}`,
      });
    }
  } finally {
    trainer.dispose();
    optimizer.dispose();
    // Only the head's weights go: disposing the reconstruction model would free the U-Net's
    // layers too (tfjs-layers counts a shared layer's models as one use).
    head.dispose();
  }
  const tenth = Math.max(1, Math.floor(losses.length / 10));
  const mean = (values: number[]) => values.reduce((a, v) => a + v, 0) / values.length;
  const result = {
    steps: losses.length,
    firstLoss: mean(losses.slice(0, tenth)),
    lastLoss: mean(losses.slice(-tenth)),
  };
  log.info('self-supervised pretraining done', result);
  return result;
}
