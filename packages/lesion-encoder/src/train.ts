// Training loop of the lesion U-Net: Adam, augmentation, cross-entropy + Dice, validation Dice,
// early stopping, resumable checkpoints and a JSON-lines log.
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

import type { AugmentSample, Augmentation } from './augment';
import { type TrainerFiles, trainerFiles } from './internal/files';
import {
  type DiceReport,
  type LabelGroups,
  type SegmentationLossConfig,
  computeDice,
  createSegmentationLoss,
  fullLabelGroups,
} from './loss';
import type { LesionUnet } from './unet';
import { applyNamedWeights, decodeEncodedWeights, encodeModelWeights } from './weights';

const log = createLogger('lesionenc.lesion-encoder.train');

/** A set of training samples sharing one labelling scheme. */
export interface TrainingSource {
  /** Short name, in the log and the augmentation keys. */
  name: string;
  /** Samples at the network input size (after augmentation, if any). */
  samples: readonly AugmentSample[];
  /** How mask values map to classes; full labels when omitted. */
  groups?: LabelGroups;
  /** Relative share of this source among the batches of an epoch. @defaultValue 1 */
  weight?: number;
}

/** Options of {@link trainLesionUnet}. */
export interface TrainOptions extends LongTaskOptions {
  sources: readonly TrainingSource[];
  /** Fully labelled validation samples at the network input size. */
  validation: readonly AugmentSample[];
  /** Applied to each training sample with the key `epoch/source/index`. */
  augmentation?: Augmentation;
  /** @defaultValue 1e-4 */
  learningRate?: number;
  /** @defaultValue 4 */
  batchSize?: number;
  /**
   * Images per forward and backward pass; a batch larger than this runs in micro-batches whose
   * gradients are summed into one update (batch normalisation then uses each micro-batch's own
   * statistics). On wasm the default is what fits the 32-bit heap: about 1.05 GiB per 256 x 256
   * image for an EfficientNet-B0 U-Net, so 2 at 256 x 256 and the whole batch at 128 x 128;
   * elsewhere the whole batch.
   */
  microBatchSize?: number;
  /** @defaultValue 50 */
  epochs?: number;
  /** Batches per epoch; all samples once when omitted. */
  stepsPerEpoch?: number;
  /** Epochs without a better validation Dice before stopping. @defaultValue 8 */
  patience?: number;
  loss?: SegmentationLossConfig;
  /** Folder of checkpoints (`last/`, `best/`, `state.json`); none written when omitted. */
  checkpointDir?: string;
  /** Continue from `checkpointDir` when it holds a checkpoint. @defaultValue true */
  resume?: boolean;
  /** JSON-lines log file (appended). */
  logPath?: string;
  /** Seed of sample order. @defaultValue 0 */
  seed?: number;
  /** Called after every epoch with its record. */
  onEpoch?: (record: EpochRecord) => void;
}

/** One epoch's outcome, as logged. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validation: DiceReport;
  best: boolean;
  seconds: number;
}

/** What {@link trainLesionUnet} returns. */
export interface TrainResult {
  epochsRun: number;
  bestEpoch: number;
  bestValidation: DiceReport | null;
  stoppedEarly: boolean;
}

interface TrainState {
  epoch: number;
  bestEpoch: number;
  bestScore: number;
  bestValidation: DiceReport | null;
  sinceBest: number;
}

/**
 * Stacks samples into an input batch `[b, rows, columns, channels]`, replicating grey to three
 * channels when the network takes three.
 *
 * @param samples - Samples of one size.
 * @param channels - Network input channels.
 * @returns A new tensor (the caller disposes it).
 */
export function stackImages(samples: readonly AugmentSample[], channels: 1 | 3): tf.Tensor4D {
  const first = samples[0];
  if (first === undefined)
    throw new LesionEncError('INVALID_ARGUMENT', 'batch: expected at least one sample, got 0');
  const { rows, columns } = first;
  const data = new Float32Array(samples.length * rows * columns);
  samples.forEach((s, i) => {
    if (s.rows !== rows || s.columns !== columns) {
      throw new LesionEncError(
        'SHAPE_MISMATCH',
        `batch sample ${i}: expected ${rows}x${columns} px, got ${s.rows}x${s.columns}`,
      );
    }
    data.set(s.image, i * rows * columns);
  });
  return tf.tidy(() => {
    const grey = tf.tensor4d(data, [samples.length, rows, columns, 1]);
    return channels === 3 ? tf.tile(grey, [1, 1, 1, 3]) : grey;
  });
}

function stackTargets(samples: readonly AugmentSample[], groupCount: number): tf.Tensor4D {
  const { rows, columns } = samples[0]!;
  const labels = new Int32Array(samples.length * rows * columns);
  samples.forEach((s, i) => labels.set(s.mask, i * rows * columns));
  return tf.tidy(() =>
    tf.reshape(tf.oneHot(tf.tensor1d(labels, 'int32'), groupCount), [
      samples.length,
      rows,
      columns,
      groupCount,
    ]),
  ) as tf.Tensor4D;
}

/**
 * Predicts label maps (argmax of the softmax) for samples, in batches.
 *
 * @param unet - The network.
 * @param samples - Inputs at the network size.
 * @param batchSize - Images per forward pass.
 * @returns One label map per sample.
 */
export async function predictLabels(
  unet: LesionUnet,
  samples: readonly AugmentSample[],
  batchSize: number,
): Promise<Uint8Array[]> {
  const result: Uint8Array[] = [];
  for (let start = 0; start < samples.length; start += batchSize) {
    const chunk = samples.slice(start, start + batchSize);
    const labels = tf.tidy(() => {
      const x = stackImages(chunk, unet.config.inputChannels);
      const [mask] = unet.model.predict(x) as tf.Tensor[];
      return tf.argMax(mask!, -1);
    });
    const data = await labels.data();
    labels.dispose();
    const n = chunk[0]!.rows * chunk[0]!.columns;
    chunk.forEach((_, i) => result.push(Uint8Array.from(data.subarray(i * n, (i + 1) * n))));
  }
  return result;
}

/**
 * Wasm heap one 256 x 256 image of an EfficientNet-B0 U-Net step needs (measured: 1.37 GiB at
 * micro-batches of 1, 2.42 GiB at 2), per input pixel; and the share of the 4 GiB heap the
 * default micro-batch may use.
 */
const WASM_TRAINING_BYTES_PER_PIXEL = (1.05 * 2 ** 30) / (256 * 256);
const WASM_TRAINING_BUDGET_BYTES = 2.5 * 2 ** 30;

function defaultMicroBatchSize(unet: LesionUnet, batchSize: number): number {
  if (tf.getBackend() !== 'wasm') return batchSize;
  const [rows, columns] = unet.config.inputSizePx ?? [256, 256];
  const perImage = rows * columns * WASM_TRAINING_BYTES_PER_PIXEL;
  return Math.max(1, Math.min(batchSize, Math.floor(WASM_TRAINING_BUDGET_BYTES / perImage)));
}

function prepareBackend(): void {
  const backend = tf.getBackend();
  if (backend === 'wasm') registerWasmTrainingKernels();
  if (backend === 'cpu') registerCpuTrainingFixes();
}

async function saveCheckpoint(
  fs: TrainerFiles,
  dir: string,
  name: string,
  unet: LesionUnet,
  optimizer: tf.Optimizer | undefined,
): Promise<void> {
  const folder = `${dir}/${name}`;
  await fs.makeDirectory(folder);
  const weights = await encodeModelWeights(unet.model, 'float32');
  await fs.writeAtomic(`${folder}/weights.bin`, weights.data);
  let optimizerSpecs: unknown = null;
  if (optimizer !== undefined) {
    const named = await optimizer.getWeights();
    const encoded = await tf.io.encodeWeights(named);
    // The iteration count comes as a new scalar; the rest are the optimizer's own variables.
    tf.dispose(named.filter((w) => !(w.tensor instanceof tf.Variable)).map((w) => w.tensor));
    await fs.writeAtomic(`${folder}/optimizer.bin`, new Uint8Array(encoded.data as ArrayBuffer));
    optimizerSpecs = encoded.specs;
  }
  await fs.writeAtomic(
    `${folder}/weights.json`,
    JSON.stringify({ config: unet.config, weights: weights.specs, optimizer: optimizerSpecs }),
  );
}

async function loadCheckpoint(
  fs: TrainerFiles,
  dir: string,
  name: string,
  unet: LesionUnet,
  optimizer: tf.Optimizer | undefined,
): Promise<boolean> {
  const folder = `${dir}/${name}`;
  let manifest: {
    weights: tf.io.WeightsManifestEntry[];
    optimizer: tf.io.WeightsManifestEntry[] | null;
  };
  try {
    manifest = JSON.parse(await fs.readText(`${folder}/weights.json`)) as typeof manifest;
  } catch {
    return false;
  }
  const data = await fs.readBytes(`${folder}/weights.bin`);
  const weights = decodeEncodedWeights({ specs: manifest.weights, data });
  try {
    applyNamedWeights(unet.model, weights, { strict: true });
  } finally {
    tf.dispose(Object.values(weights));
  }
  if (optimizer !== undefined && manifest.optimizer !== null) {
    const bytes = await fs.readBytes(`${folder}/optimizer.bin`);
    const map = tf.io.decodeWeights(bytes.slice().buffer, manifest.optimizer);
    // The optimizer copies what it is given into variables of its own.
    try {
      await optimizer.setWeights(
        manifest.optimizer.map((spec) => ({ name: spec.name, tensor: map[spec.name]! })),
      );
    } finally {
      tf.dispose(Object.values(map));
    }
  }
  return true;
}

/**
 * Trains the lesion U-Net. Batches hold samples of one source (one labelling scheme); sources
 * take turns in proportion to their weights. After each epoch the validation Dice (mean over
 * lesion classes of the per-image Dice, images containing the class) decides the best
 * checkpoint and early stopping. On wasm the missing gradient kernels are registered first.
 *
 * @param unet - The network to train (its weights change).
 * @param options - Data, recipe, checkpoints, log, progress and abort signal.
 * @returns Epochs run and the best validation Dice.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for empty data, `NOT_CONVERGED` for a
 * non-finite loss, `ABORTED` when the signal fires.
 */
export async function trainLesionUnet(
  unet: LesionUnet,
  options: TrainOptions,
): Promise<TrainResult> {
  const batchSize = options.batchSize ?? 4;
  const epochs = options.epochs ?? 50;
  const patience = options.patience ?? 8;
  const classCount = unet.config.classes.length;
  const sources = options.sources.filter((s) => s.samples.length > 0);
  if (sources.length === 0 || options.validation.length === 0) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `training data: expected training and validation samples, got ${sources.length} sources and ${options.validation.length} validation samples`,
    );
  }
  prepareBackend();
  const loss = createSegmentationLoss(classCount, options.loss);
  const optimizer = tf.train.adam(options.learningRate ?? 1e-4);
  const variables = unet.model.trainableWeights.map((w) => w.read() as tf.Variable);
  const microBatchSize = options.microBatchSize ?? defaultMicroBatchSize(unet, batchSize);
  if (!Number.isInteger(microBatchSize) || microBatchSize < 1) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `microBatchSize: expected a positive integer, got ${String(microBatchSize)}`,
    );
  }
  // The label groups of the batch being trained, read by the accumulating trainer's loss.
  let stepGroups: LabelGroups = fullLabelGroups(classCount);
  const accumulating =
    microBatchSize < batchSize
      ? createAccumulatingTrainer({
          model: unet.model,
          optimizer,
          microBatchSize,
          loss: (yTrue, predicted) => {
            const outputs = predicted as unknown as tf.Tensor | tf.Tensor[];
            const mask = Array.isArray(outputs) ? outputs[0]! : outputs;
            return loss(yTrue as tf.Tensor4D, mask as tf.Tensor4D, stepGroups);
          },
        })
      : undefined;
  const state: TrainState = {
    epoch: 0,
    bestEpoch: -1,
    bestScore: -Infinity,
    bestValidation: null,
    sinceBest: 0,
  };
  const fs =
    options.checkpointDir !== undefined || options.logPath !== undefined
      ? await trainerFiles()
      : undefined;

  if (options.checkpointDir !== undefined && options.resume !== false) {
    try {
      const saved = JSON.parse(
        await fs!.readText(`${options.checkpointDir}/state.json`),
      ) as TrainState;
      if (await loadCheckpoint(fs!, options.checkpointDir, 'last', unet, optimizer)) {
        Object.assign(state, saved);
        log.info(
          `resumed at epoch ${state.epoch} (best ${state.bestScore.toFixed(4)} at ${state.bestEpoch})`,
        );
      }
    } catch {
      log.info('no checkpoint to resume, starting fresh');
    }
  }
  const appendLog = async (record: object) => {
    if (options.logPath === undefined) return;
    await fs!.appendText(
      options.logPath,
      `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`,
    );
  };

  const totalWeight = sources.reduce((s, src) => s + (src.weight ?? 1), 0);
  const defaultSteps = Math.ceil(sources.reduce((s, src) => s + src.samples.length, 0) / batchSize);
  const stepsPerEpoch = options.stepsPerEpoch ?? defaultSteps;
  let stoppedEarly = false;

  try {
    while (state.epoch < epochs) {
      throwIfAborted(options.signal, 'trainLesionUnet');
      const epoch = state.epoch;
      const started = performance.now();
      const random = createRandom(options.seed ?? 0).fork(`epoch-${epoch}`);
      const orders = sources.map((src) => random.shuffle([...src.samples.keys()]));
      const cursors = sources.map(() => 0);
      let lossSum = 0;

      for (let step = 0; step < stepsPerEpoch; step++) {
        throwIfAborted(options.signal, 'trainLesionUnet');
        // Pick a source in proportion to its weight.
        let pick = random.uniform(0, totalWeight);
        let s = 0;
        while (s < sources.length - 1 && pick >= (sources[s]!.weight ?? 1))
          pick -= sources[s++]!.weight ?? 1;
        const source = sources[s]!;
        const batch: AugmentSample[] = [];
        for (let b = 0; b < batchSize; b++) {
          const order = orders[s]!;
          if (cursors[s]! >= order.length) {
            random.shuffle(order);
            cursors[s] = 0;
          }
          const index = order[cursors[s]!++]!;
          const sample = source.samples[index]!;
          batch.push(
            options.augmentation?.apply(sample, `${epoch}/${source.name}/${index}/${step}`) ??
              sample,
          );
        }
        const groups = source.groups ?? fullLabelGroups(classCount);
        const x = stackImages(batch, unet.config.inputChannels);
        const y = stackTargets(batch, groups.length);
        try {
          let lossValue: number;
          if (accumulating !== undefined) {
            stepGroups = groups;
            lossValue = (await accumulating.step(x, y)).loss;
          } else {
            const { value, grads } = tf.variableGrads(() => {
              const [mask] = unet.model.apply(x, { training: true }) as tf.Tensor[];
              return loss(y, mask as tf.Tensor4D, groups);
            }, variables);
            optimizer.applyGradients(grads as Record<string, tf.Variable>);
            tf.dispose(Object.values(grads));
            lossValue = (await value.data())[0]!;
            value.dispose();
          }
          if (!Number.isFinite(lossValue)) {
            throw new LesionEncError(
              'NOT_CONVERGED',
              `training loss at epoch ${epoch} step ${step}: expected finite, got ${lossValue}`,
            );
          }
          lossSum += lossValue;
          if (step % 10 === 0)
            await appendLog({ type: 'step', epoch, step, source: source.name, loss: lossValue });
        } finally {
          x.dispose();
          y.dispose();
        }
        options.onProgress?.({
          stage: 'train',
          status: 'progress',
          fraction: (epoch + (step + 1) / stepsPerEpoch) / epochs,
          completed: epoch,
          total: epochs,
          message: `epoch ${epoch + 1}/${epochs} step ${step + 1}/${stepsPerEpoch} loss ${(lossSum / (step + 1)).toFixed(4)}`,
        });
      }

      const predicted = await predictLabels(unet, options.validation, batchSize);
      const validation = computeDice(
        predicted,
        options.validation.map((s) => s.mask),
        classCount,
      );
      const score = validation.meanLesionDice ?? 0;
      const best = score > state.bestScore;
      state.epoch = epoch + 1;
      if (best) {
        state.bestScore = score;
        state.bestEpoch = epoch;
        state.bestValidation = validation;
        state.sinceBest = 0;
      } else {
        state.sinceBest++;
      }
      const record: EpochRecord = {
        epoch,
        trainLoss: lossSum / stepsPerEpoch,
        validation,
        best,
        seconds: (performance.now() - started) / 1000,
      };
      await appendLog({ type: 'epoch', ...record });
      if (options.checkpointDir !== undefined) {
        await fs!.makeDirectory(options.checkpointDir);
        if (best) await saveCheckpoint(fs!, options.checkpointDir, 'best', unet, undefined);
        await saveCheckpoint(fs!, options.checkpointDir, 'last', unet, optimizer);
        await fs!.writeAtomic(`${options.checkpointDir}/state.json`, JSON.stringify(state));
      }
      options.onEpoch?.(record);
      log.info(
        `epoch ${epoch}: loss ${record.trainLoss.toFixed(4)}, validation Dice ${score.toFixed(4)}`,
      );
      if (state.sinceBest >= patience) {
        stoppedEarly = true;
        break;
      }
    }
  } finally {
    optimizer.dispose();
  }
  options.onProgress?.({
    stage: 'train',
    status: 'done',
    fraction: 1,
    completed: state.epoch,
    total: epochs,
  });
  return {
    epochsRun: state.epoch,
    bestEpoch: state.bestEpoch,
    bestValidation: state.bestValidation,
    stoppedEarly,
  };
}

/**
 * Restores weights saved by {@link trainLesionUnet} (`<checkpointDir>/best` or `/last`).
 *
 * @param unet - A network of the same configuration.
 * @param checkpointDir - The training folder.
 * @param which - `best` or `last`. @defaultValue `best`
 * @returns Whether a checkpoint was found.
 * @throws {@link LesionEncError} `MODEL_FORMAT` when it does not fit the network.
 */
export async function loadTrainingCheckpoint(
  unet: LesionUnet,
  checkpointDir: string,
  which: 'best' | 'last' = 'best',
): Promise<boolean> {
  return loadCheckpoint(await trainerFiles(), checkpointDir, which, unet, undefined);
}
