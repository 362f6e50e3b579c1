// Retargets the lesion U-Net to a task of your own: pulmonary nodules, solid or ground-glass,
// drawn into healthy synthetic chest CT. Starts from the shipped lesion encoder (every weight but
// the class head, which has another number of classes), fine-tunes a few steps, reports Dice on
// held-out slices, saves the weights, loads them back and segments new slices.
// Run: `npm start -w @lesionenc/example-custom-lesion-task [-- --epochs 16 --steps 15]`
// (after `npm run build` at the repository root).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import {
  type AugmentSample,
  type LabelClass,
  type LesionUnetConfig,
  type WeightSpec,
  NO_DISEASE,
  applyNamedWeights,
  computeDice,
  createChestPhantom,
  createCtVolume,
  createLabelMap,
  createLesionUnet,
  createRandom,
  decodeEncodedWeights,
  encodeModelWeights,
  encodeOverlayMontagePng,
  findShippedLesionWeights,
  initBackend,
  loadLesionUnet,
  predictLabels,
  toNetworkIntensity,
  trainLesionUnet,
} from '@lesionenc/core';

/** The task's classes, background first: the network's output channels follow this list. */
const CLASSES: readonly LabelClass[] = [
  { value: 0, name: 'background' },
  { value: 1, name: 'solid_nodule', color: [213, 94, 0] },
  { value: 2, name: 'ground_glass_nodule', color: [240, 228, 66] },
];

/** Nodule density, HU: solid nodules are soft tissue, ground-glass ones only haze the lung. */
const NODULE_HU = { solid: [10, 70], groundGlass: [-600, -450] } as const;
/** Nodule radius, mm (diameters of 4 to 12 mm: the small nodules of screening CT). */
const NODULE_RADIUS_MM = [8, 20] as const;
/** Noise added to the drawn nodules, HU (the phantom's own noise is already in the lung). */
const NODULE_NOISE_HU = 20;
/** Slices with less lung than this are left out, px. */
const MIN_LUNG_PX = 40;

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '64' },
    'train-phantoms': { type: 'string', default: '6' },
    epochs: { type: 'string', default: '16' },
    steps: { type: 'string', default: '15' },
    batch: { type: 'string', default: '4' },
    'learning-rate': { type: 'string', default: '0.003' },
    out: { type: 'string', default: 'custom-lesion-output' },
    seed: { type: 'string', default: '1' },
    'from-scratch': { type: 'boolean', default: false },
  },
});
const size = Number(values.size);
const trainPhantoms = Number(values['train-phantoms']);
const epochs = Number(values.epochs);
const steps = Number(values.steps);
const batchSize = Number(values.batch);
const seed = Number(values.seed);
const outDir = resolve(values.out);
if (![size, trainPhantoms, epochs, steps, batchSize].every((n) => Number.isInteger(n) && n > 0)) {
  throw new Error('--size, --train-phantoms, --epochs, --steps and --batch take positive integers');
}
if (size % 32 !== 0) throw new Error(`--size: expected a multiple of 32, got ${size}`);

/**
 * Slices of one healthy phantom with 0-3 nodules drawn into the lungs of each, and their masks.
 * The image is what the network reads (lung window, stretched to [0, 1]); `hu` is kept for the
 * pictures.
 */
function nodularSlices(phantomSeed: number): (AugmentSample & { hu: Float32Array })[] {
  const phantom = createChestPhantom({
    seed: phantomSeed,
    matrix: size,
    slices: 12,
    disease: NO_DISEASE,
  });
  const random = createRandom(phantomSeed).fork('nodules');
  const [slices, rows, columns] = phantom.volume.geometry.shape;
  const pixelMm = phantom.volume.geometry.spacingMm[1];
  const plane = rows * columns;
  const samples: (AugmentSample & { hu: Float32Array })[] = [];
  for (let k = 0; k < slices; k++) {
    const lung = phantom.lungs.data.subarray(k * plane, (k + 1) * plane);
    const lungPixels = [...lung.keys()].filter((n) => lung[n]! > 0);
    if (lungPixels.length < MIN_LUNG_PX) continue;
    const hu = Float32Array.from(phantom.volume.data.subarray(k * plane, (k + 1) * plane));
    const mask = new Uint8Array(plane);

    // A tenth of the slices stay free of nodules, so the network also sees normal lung.
    const count = random.next() < 0.1 ? 0 : 1 + random.nextInt(3);
    for (let n = 0; n < count; n++) {
      const centre = lungPixels[random.nextInt(lungPixels.length)]!;
      const [ci, cj] = [Math.floor(centre / columns), centre % columns];
      const radiusPx = random.uniform(...NODULE_RADIUS_MM) / pixelMm;
      const solid = random.next() < 0.5;
      const [low, high] = solid ? NODULE_HU.solid : NODULE_HU.groundGlass;
      const density = random.uniform(low, high);
      for (
        let i = Math.max(0, Math.floor(ci - radiusPx));
        i <= Math.min(rows - 1, ci + radiusPx);
        i++
      ) {
        for (
          let j = Math.max(0, Math.floor(cj - radiusPx));
          j <= Math.min(columns - 1, cj + radiusPx);
          j++
        ) {
          const p = i * columns + j;
          if ((i - ci) ** 2 + (j - cj) ** 2 > radiusPx ** 2 || lung[p] === 0) continue;
          hu[p] = density + random.normal(0, NODULE_NOISE_HU);
          mask[p] = solid ? 1 : 2;
        }
      }
    }
    samples.push({ image: toNetworkIntensity(hu, 'hu'), mask, rows, columns, hu });
  }
  return samples;
}

function slicesOf(seeds: readonly number[]) {
  return seeds.flatMap((s) => nodularSlices(s));
}

/** A stack of slices as a CT volume and a label map, for the overlay pictures. */
function asVolume(
  samples: readonly (AugmentSample & { hu: Float32Array })[],
  masks: readonly Uint8Array[],
) {
  const plane = size * size;
  const hu = new Float32Array(samples.length * plane);
  const labels = new Uint8Array(samples.length * plane);
  samples.forEach((s, k) => {
    hu.set(s.hu, k * plane);
    labels.set(masks[k]!, k * plane);
  });
  const geometry = { shape: [samples.length, size, size] };
  return {
    volume: createCtVolume(hu, geometry),
    labels: createLabelMap(labels, geometry, CLASSES),
  };
}

function formatDice(report: ReturnType<typeof computeDice>): string {
  return CLASSES.slice(1)
    .map((c) => {
      const d = report.perClass[c.value];
      return `${c.name} ${d === null || d === undefined ? 'n/a' : d.toFixed(3)} (${report.imageCounts[c.value]} slices)`;
    })
    .join(', ');
}

const backend = await initBackend({ backend: 'wasm' });
console.log(`backend: ${backend.name}`);

// Data: phantoms of distinct seeds for training, validation and test, so no anatomy is shared.
const seeds = Array.from({ length: trainPhantoms + 4 }, (_, n) => seed * 1000 + n);
const train = slicesOf(seeds.slice(0, trainPhantoms));
const validation = slicesOf(seeds.slice(trainPhantoms, trainPhantoms + 2));
const test = slicesOf(seeds.slice(trainPhantoms + 2));
console.log(
  `slices: ${train.length} training, ${validation.length} validation, ${test.length} test ` +
    `(${size} x ${size}, classes ${CLASSES.map((c) => c.name).join(', ')})`,
);

// The lesion U-Net with this task's classes. By default it starts from the shipped lesion
// encoder: same architecture, and every weight but the last convolution (4 classes there, 3
// here) is copied by name; `--from-scratch` keeps the seeded initialisation, which needs far
// more steps than this example takes before its batch-norm statistics settle.
const shipped = values['from-scratch'] ? undefined : await findShippedLesionWeights();
const manifest =
  shipped === undefined
    ? undefined
    : (JSON.parse(await readFile(join(shipped, 'weights.json'), 'utf8')) as {
        config: Partial<LesionUnetConfig>;
        weights: WeightSpec[];
      });
const unet = createLesionUnet({
  ...manifest?.config,
  classes: CLASSES.map((c) => c.name),
  inputSizePx: [size, size],
  seed,
});
if (shipped !== undefined && manifest !== undefined) {
  const data = new Uint8Array(await readFile(join(shipped, 'weights.bin')));
  const tensors = decodeEncodedWeights({ specs: manifest.weights, data });
  const report = applyNamedWeights(unet.model, tensors);
  for (const t of Object.values(tensors)) t.dispose();
  console.log(
    `started from ${shipped}: ${report.loaded.length} weights copied, ` +
      `${report.mismatched.length} left to train anew (${report.mismatched.map((m) => m.name).join(', ')})`,
  );
  // Only the two full-resolution decoder stages and the head learn: the encoder's features
  // already describe lung texture, frozen layers need no gradients (a step takes a third of the
  // time), and the batch-norm statistics of a few layers settle within a short run.
  for (const layer of unet.model.layers) {
    if (!/^(decoder_stage3|decoder_stage4|final_conv)/.test(layer.name)) layer.trainable = false;
  }
} else {
  console.log('started from the seeded initialisation');
}
const checkpointDir = join(outDir, 'checkpoints');
const started = performance.now();
const result = await trainLesionUnet(unet, {
  sources: [{ name: 'nodules', samples: train }],
  validation,
  epochs,
  stepsPerEpoch: steps,
  batchSize,
  patience: epochs,
  learningRate: Number(values['learning-rate']),
  // Nodules cover a few percent of a slice: their classes weigh more in the loss.
  loss: { classWeights: [1, 10, 10] },
  checkpointDir,
  resume: false,
  seed,
  onEpoch: (r) =>
    console.log(
      `epoch ${r.epoch + 1}/${epochs}: loss ${r.trainLoss.toFixed(3)}, validation ${formatDice(r.validation)}` +
        `${r.best ? ' (best)' : ''}, ${r.seconds.toFixed(1)} s`,
    ),
});
unet.dispose();
console.log(
  `trained ${result.epochsRun} epochs in ${((performance.now() - started) / 1000).toFixed(0)} s; ` +
    `best epoch ${result.bestEpoch + 1}`,
);

// Save the best epoch's weights as a model folder (float16, config included), the format
// `loadLesionUnet` and `createLesionEncoder({ lesionWeights })` read.
const best = await loadLesionUnet({}, join(checkpointDir, 'best'));
const modelDir = join(outDir, 'model');
await mkdir(modelDir, { recursive: true });
const weights = await encodeModelWeights(best.unet.model, 'float16');
await writeFile(join(modelDir, 'weights.bin'), weights.data);
await writeFile(
  join(modelDir, 'weights.json'),
  JSON.stringify({ config: best.unet.config, weights: weights.specs }, null, 2),
);
best.unet.dispose();

// Inference with the saved model on slices it never saw.
const { unet: loaded } = await loadLesionUnet({}, modelDir);
const predicted = await predictLabels(loaded, test, batchSize);
loaded.dispose();
const dice = computeDice(
  predicted,
  test.map((s) => s.mask),
  CLASSES.length,
);
console.log(`test Dice: ${formatDice(dice)}; mean ${dice.meanLesionDice?.toFixed(3) ?? 'n/a'}`);

const shown = test
  .map((_, k) => k)
  .filter((k) => test[k]!.mask.some((v) => v > 0))
  .slice(0, 8);
const pick = <T>(items: readonly T[]) => shown.map((k) => items[k]!);
const truth = asVolume(pick(test), pick(test.map((s) => s.mask)));
const guess = asVolume(pick(test), pick(predicted));
// The same tiles in both pictures, slice by slice.
const tiles = { slices: shown.map((_, k) => k) };
await writeFile(
  join(outDir, 'truth.png'),
  await encodeOverlayMontagePng(truth.volume, truth.labels, tiles),
);
await writeFile(
  join(outDir, 'prediction.png'),
  await encodeOverlayMontagePng(guess.volume, guess.labels, tiles),
);
await writeFile(
  join(outDir, 'result.json'),
  JSON.stringify({ classes: CLASSES.map((c) => c.name), train: result, test: dice }, null, 2),
);
console.log(`wrote ${modelDir}, truth.png, prediction.png and result.json in ${outDir}`);
