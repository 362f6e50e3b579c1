// Trains the shipped default lesion U-Net (B0, 4 classes) on the real slices, on the wasm backend,
// with checkpoints and resume. Usage:
//   LESIONENC_DATA_DIR=/work/shared/data nice -n 10 npx tsx packages/lesion-encoder/scripts/train-default.ts \
//     --out /work/lesionenc-runs/default [--size 128] [--epochs 40] [--batch 2] [--steps 120]
// Fine-tuning from existing weights with phantoms drawn like the synthetic cohorts' patients:
//     --init packages/lesion-encoder/weights/default --cohort-phantoms 40 --phantom-weight 1.5
import { existsSync } from 'node:fs';
import { readFile, readdir, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import '@tensorflow/tfjs-backend-wasm';
import { createRandom, setLogLevel } from '@lesionenc/base';
import { decodeSliceImage, decodeSliceLabels, readNifti } from '@lesionenc/io';
import {
  type AugmentSample,
  DEFAULT_LESION_UNET,
  createDefaultAugmentation,
  createLesionUnet,
  loadTrainingCheckpoint,
  pretrainSelfSupervised,
  rotate90Clockwise,
  toNetworkIntensity,
  trainLesionUnet,
} from '@lesionenc/lesion-encoder';
import { DISEASE_PRESETS, createChestPhantom } from '@lesionenc/phantom';
import { resizeImageLinear, resizeLabelsNearest } from '@lesionenc/preprocess';
import * as tf from '@tensorflow/tfjs-core';

import { applyWeightsFolder, cohortPhantoms } from './script-helpers';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: '/work/lesionenc-runs/default' },
    size: { type: 'string', default: '128' },
    epochs: { type: 'string', default: '40' },
    batch: { type: 'string', default: '2' },
    steps: { type: 'string', default: '100' },
    patience: { type: 'string', default: '8' },
    'validation-fraction': { type: 'string', default: '0.2' },
    seed: { type: 'string', default: '2020' },
    'semiseg-weight': { type: 'string', default: '1' },
    'zenodo-weight': { type: 'string', default: '1' },
    'phantom-weight': { type: 'string', default: '0.5' },
    phantoms: { type: 'string', default: '16' },
    // Patients per hospital profile (A and B) drawn as the cohort simulator draws them, from
    // seeds the experiments never use; their first scan's lung slices become training slices.
    'cohort-phantoms': { type: 'string', default: '0' },
    'cohort-seed': { type: 'string', default: '7001' },
    // Cohort-like patients per hospital profile (from cohort-seed + 500) whose slices join the
    // validation set, so that model selection also weighs the synthetic hospitals' lesions.
    'validation-cohort-phantoms': { type: 'string', default: '0' },
    // A weights folder (weights.json + weights.bin) to start from instead of the initialisation.
    init: { type: 'string' },
    // Or a training run folder (of this script) whose last checkpoint to start from (a
    // pretraining run's end, whatever its validation Dice).
    'init-checkpoint': { type: 'string' },
    // Self-supervised pretraining (masked-image reconstruction) on every unlabelled slice first:
    // the images of the training slices, the phantom slices and the real volumes' axial slices.
    'ssl-steps': { type: 'string', default: '0' },
    // From scratch (no ImageNet weights here) a larger step than the paper's fine-tuning 1e-4.
    lr: { type: 'string', default: '1e-3' },
  },
});
const dataDir = process.env.LESIONENC_DATA_DIR ?? '/work/shared/data';
const size = Number(values.size);
const outDir = values.out!;

async function grey(path: string): Promise<{ data: Uint8Array; rows: number; columns: number }> {
  const volume = await decodeSliceImage(new Uint8Array(await readFile(path)), { file: path });
  const [, rows, columns] = volume.geometry.shape;
  return { data: Uint8Array.from(volume.data as ArrayLike<number>), rows, columns };
}

async function labels(path: string, binarize: boolean): Promise<Uint8Array> {
  const map = await decodeSliceLabels(new Uint8Array(await readFile(path)), undefined, {
    file: path,
    binarize,
  });
  return Uint8Array.from(map.data as ArrayLike<number>);
}

function toSample(
  image: Uint8Array,
  mask: Uint8Array,
  rows: number,
  columns: number,
): AugmentSample {
  return {
    image: resizeImageLinear(toNetworkIntensity(image, 'grey8'), rows, columns, size, size),
    mask: resizeLabelsNearest(mask, rows, columns, size, size),
    rows: size,
    columns: size,
  };
}

// COVID-SemiSeg: palette 0 background, 1 ground-glass, 2 consolidation (the class indices of the
// default model); stored rotated, so turned upright first.
async function loadSemiSeg(): Promise<{ name: string; sample: AugmentSample }[]> {
  const dir = join(dataDir, 'covid-semiseg/train');
  const names = (await readdir(join(dir, 'images'))).filter((n) => n.endsWith('.jpg')).sort();
  const result: { name: string; sample: AugmentSample }[] = [];
  for (const name of names) {
    const image = await grey(join(dir, 'images', name));
    const mask = await labels(join(dir, 'labels', name.replace('.jpg', '.png')), false);
    const upright = rotate90Clockwise(image.data, image.rows, image.columns);
    const uprightMask = rotate90Clockwise(mask, image.rows, image.columns);
    result.push({ name, sample: toSample(upright, uprightMask, image.columns, image.rows) });
  }
  return result;
}

// Zenodo slices: 0/255 infection masks, a partial label (infection of either lesion class).
async function loadZenodo(): Promise<AugmentSample[]> {
  const dir = join(dataDir, 'zenodo-slices');
  const names = (await readdir(join(dir, 'ct'))).filter((n) => n.endsWith('.png')).sort();
  const result: AugmentSample[] = [];
  for (const name of names) {
    const image = await grey(join(dir, 'ct', name));
    const mask = await labels(join(dir, 'infection', name), true);
    result.push(toSample(image.data, mask, image.rows, image.columns));
  }
  return result;
}

// Phantom slices: the only source of pleural-effusion labels; full labels for all four classes.
function phantomSlices(count: number, seed: number): AugmentSample[] {
  const presets = [DISEASE_PRESETS.mild, DISEASE_PRESETS.severe, DISEASE_PRESETS.effusion];
  const result: AugmentSample[] = [];
  for (let p = 0; p < count; p++) {
    const phantom = createChestPhantom({
      seed: seed + p,
      matrix: size,
      slices: 24,
      disease: presets[p % presets.length]!,
    });
    const plane = size * size;
    for (let k = 0; k < 24; k++) {
      const lesions = phantom.lesions.data.subarray(k * plane, (k + 1) * plane);
      const lung = phantom.lungs.data.subarray(k * plane, (k + 1) * plane);
      // Slices through the lungs only, as the pipeline keeps.
      if (lung.reduce((a, v) => a + (v > 0 ? 1 : 0), 0) < plane * 0.02) continue;
      const hu = phantom.volume.data.subarray(k * plane, (k + 1) * plane);
      result.push({
        image: toNetworkIntensity(hu, 'hu'),
        mask: Uint8Array.from(lesions),
        rows: size,
        columns: size,
      });
    }
  }
  return result;
}

// Lung slices of the first scan of cohort-like patients (both hospital profiles): the disease
// mix, kernels, noise and slice spacing of the synthetic hospitals, with exact masks. Every other
// slice at 2.5 mm: neighbours that close are nearly the same picture.
function cohortPhantomSlices(
  patientsPerHospital: number,
  seed: number,
  stride: { A: number; B: number } = { A: 1, B: 2 },
): AugmentSample[] {
  if (patientsPerHospital <= 0) return [];
  const plane = size * size;
  return cohortPhantoms(patientsPerHospital, seed, size, stride).flatMap(
    ({ phantom, lungSlices }) =>
      lungSlices.map((k) => ({
        image: toNetworkIntensity(phantom.volume.data.subarray(k * plane, (k + 1) * plane), 'hu'),
        mask: Uint8Array.from(phantom.lesions.data.subarray(k * plane, (k + 1) * plane)),
        rows: size,
        columns: size,
      })),
  );
}

// Axial slices of the real volumes (HU), through the lungs, at the network's size: unlabelled.
async function volumeSlices(): Promise<Float32Array[]> {
  const result: Float32Array[] = [];
  for (const group of ['lucanode', 'imlab']) {
    const dir = join(dataDir, 'volumes', group);
    const names = (await readdir(dir)).filter((n) => n.endsWith('.nii.gz') && !/ma?sk/.test(n));
    for (const name of names.sort()) {
      const volume = await readNifti(join(dir, name));
      const [slices, rows, columns] = volume.geometry.shape;
      const plane = rows * columns;
      for (let k = 0; k < slices; k++) {
        const hu = Float32Array.from(
          (volume.data as ArrayLike<number>).slice(k * plane, (k + 1) * plane) as ArrayLike<number>,
        );
        result.push(resizeImageLinear(toNetworkIntensity(hu, 'hu'), rows, columns, size, size));
      }
    }
  }
  return result;
}

async function main(): Promise<void> {
  setLogLevel('info');
  await tf.setBackend('wasm');
  await tf.ready();
  await mkdir(outDir, { recursive: true });

  const semiseg = await loadSemiSeg();
  const zenodo = await loadZenodo();
  const phantoms = [
    ...phantomSlices(Number(values.phantoms), Number(values.seed)),
    ...cohortPhantomSlices(Number(values['cohort-phantoms']), Number(values['cohort-seed'])),
  ];
  // Validation: a fixed, seeded share of the COVID-SemiSeg training slices (never the test half).
  const order = createRandom(Number(values.seed))
    .fork('split')
    .shuffle([...semiseg.keys()]);
  const validationCount = Math.round(semiseg.length * Number(values['validation-fraction']));
  const validationSet = new Set(order.slice(0, validationCount));
  const validation = semiseg.filter((_, i) => validationSet.has(i));
  const training = semiseg.filter((_, i) => !validationSet.has(i));
  const cohortValidation = cohortPhantomSlices(
    Number(values['validation-cohort-phantoms']),
    Number(values['cohort-seed']) + 500,
    { A: 3, B: 6 },
  );
  await import('node:fs/promises').then((fs) =>
    fs.writeFile(
      join(outDir, 'split.json'),
      JSON.stringify({
        validation: validation.map((v) => v.name),
        training: training.map((t) => t.name),
      }),
    ),
  );
  process.stdout.write(
    `data: ${training.length} COVID-SemiSeg training, ${validation.length} validation, ${zenodo.length} Zenodo, ${phantoms.length} phantom slices at ${size}x${size}; ${cohortValidation.length} cohort-like phantom slices join the validation\n`,
  );

  const unet = createLesionUnet({
    ...DEFAULT_LESION_UNET,
    inputSizePx: [size, size],
    seed: Number(values.seed),
  });
  if (values.init !== undefined) {
    await applyWeightsFolder(unet, values.init);
    process.stdout.write(`started from the weights in ${values.init}\n`);
  }
  if (values['init-checkpoint'] !== undefined) {
    const from = join(values['init-checkpoint'], 'checkpoints');
    if (!(await loadTrainingCheckpoint(unet, from, 'last'))) {
      throw new Error(`no last checkpoint in ${from}`);
    }
    process.stdout.write(`started from the last checkpoint in ${from}\n`);
  }
  const sslSteps = Number(values['ssl-steps']);
  // A run that resumes from its checkpoint has done its pretraining already.
  const resuming = existsSync(join(outDir, 'checkpoints', 'state.json'));
  if (sslSteps > 0 && !resuming) {
    const images = [
      ...training.map((t) => t.sample.image),
      ...zenodo.map((z) => z.image),
      ...phantoms.map((p) => p.image),
      ...(await volumeSlices()),
    ];
    process.stdout.write(
      `self-supervised pretraining: ${images.length} slices, ${sslSteps} steps\n`,
    );
    const pretrained = await pretrainSelfSupervised(unet, {
      images,
      steps: sslSteps,
      batchSize: Number(values.batch),
      seed: Number(values.seed),
      onProgress: (e) => {
        if ((e.completed ?? 0) % 50 === 0) process.stdout.write(`${e.message ?? ''}\n`);
      },
    });
    process.stdout.write(`self-supervised pretraining done: ${JSON.stringify(pretrained)}\n`);
  }
  const result = await trainLesionUnet(unet, {
    sources: [
      {
        name: 'semiseg',
        samples: training.map((t) => t.sample),
        weight: Number(values['semiseg-weight']),
      },
      {
        name: 'zenodo',
        samples: zenodo,
        // 0: no infection (background or effusion), 1: any infection (ground-glass or consolidation).
        groups: [
          [0, 3],
          [1, 2],
        ],
        weight: Number(values['zenodo-weight']),
      },
      { name: 'phantom', samples: phantoms, weight: Number(values['phantom-weight']) },
    ],
    validation: [...validation.map((v) => v.sample), ...cohortValidation],
    augmentation: createDefaultAugmentation([size, size], Number(values.seed)),
    learningRate: Number(values.lr),
    batchSize: Number(values.batch),
    epochs: Number(values.epochs),
    stepsPerEpoch: Number(values.steps),
    patience: Number(values.patience),
    // Effusion is labelled on phantom slices only; consolidation is the rarest real class.
    loss: { classWeights: [1, 1, 2, 1] },
    checkpointDir: join(outDir, 'checkpoints'),
    logPath: join(outDir, 'train.jsonl'),
    seed: Number(values.seed),
    onEpoch: (record) =>
      process.stdout.write(
        `epoch ${record.epoch}: loss ${record.trainLoss.toFixed(4)} validation Dice ${JSON.stringify(record.validation.perClass.map((d) => (d === null ? null : Number(d.toFixed(4)))))} ${record.best ? '(best) ' : ''}${record.seconds.toFixed(0)} s\n`,
      ),
  });
  process.stdout.write(`done: ${JSON.stringify(result)}\n`);
  unet.dispose();
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
