// Exports the best checkpoint of a default-model training run as the shipped weights (float16)
// and measures what the model card reports: per-class Dice on the held-out COVID-SemiSeg slices at
// their own resolution, and on held-out phantom slices (the only effusion labels). Usage:
//   LESIONENC_DATA_DIR=/work/shared/data npx tsx packages/lesion-encoder/scripts/export-default.ts \
//     --run /work/runs/lesion-default [--out packages/lesion-encoder/weights/default]
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import '@tensorflow/tfjs-backend-wasm';
import { decodeSliceImage, decodeSliceLabels } from '@lesionenc/io';
import {
  type DiceReport,
  type LesionUnet,
  applyNamedWeights,
  computeDice,
  createLesionUnet,
  decodeEncodedWeights,
  encodeModelWeights,
  encodeSliceImages,
  loadTrainingCheckpoint,
  rotate90Clockwise,
  toNetworkIntensity,
} from '@lesionenc/lesion-encoder';
import { DISEASE_PRESETS, createChestPhantom } from '@lesionenc/phantom';
import { resizeImageLinear } from '@lesionenc/preprocess';
import * as tf from '@tensorflow/tfjs-core';

const { values } = parseArgs({
  options: {
    run: { type: 'string', default: '/work/runs/lesion-default' },
    out: { type: 'string', default: 'packages/lesion-encoder/weights/default' },
  },
});
const dataDir = process.env.LESIONENC_DATA_DIR ?? '/work/shared/data';

interface Slice {
  image: Float32Array;
  truth: Uint8Array;
  rows: number;
  columns: number;
}

// The validation slices upright, at their own size (predictions are resized back to it).
async function semisegValidation(names: readonly string[]): Promise<Slice[]> {
  const dir = join(dataDir, 'covid-semiseg/train');
  const slices: Slice[] = [];
  for (const name of names) {
    const imagePath = join(dir, 'images', name);
    const labelPath = join(dir, 'labels', name.replace('.jpg', '.png'));
    const volume = await decodeSliceImage(new Uint8Array(await readFile(imagePath)), {
      file: imagePath,
    });
    const labels = await decodeSliceLabels(new Uint8Array(await readFile(labelPath)), undefined, {
      file: labelPath,
    });
    const [, rows, columns] = volume.geometry.shape;
    const grey = Uint8Array.from(volume.data as ArrayLike<number>);
    slices.push({
      image: toNetworkIntensity(rotate90Clockwise(grey, rows, columns), 'grey8'),
      truth: rotate90Clockwise(Uint8Array.from(labels.data), rows, columns),
      rows: columns,
      columns: rows,
    });
  }
  return slices;
}

// Slices through the lungs of phantoms with seeds the training never used.
function phantomValidation(size: number): Slice[] {
  const slices: Slice[] = [];
  const presets = [DISEASE_PRESETS.mild, DISEASE_PRESETS.severe, DISEASE_PRESETS.effusion];
  for (let p = 0; p < 6; p++) {
    const phantom = createChestPhantom({
      seed: 90_000 + p,
      matrix: size,
      slices: 24,
      disease: presets[p % presets.length]!,
    });
    const plane = size * size;
    for (let k = 0; k < 24; k += 3) {
      const lung = phantom.lungs.data.subarray(k * plane, (k + 1) * plane);
      if (lung.reduce((a, v) => a + (v > 0 ? 1 : 0), 0) < plane * 0.02) continue;
      slices.push({
        image: toNetworkIntensity(phantom.volume.data.subarray(k * plane, (k + 1) * plane), 'hu'),
        truth: Uint8Array.from(phantom.lesions.data.subarray(k * plane, (k + 1) * plane)),
        rows: size,
        columns: size,
      });
    }
  }
  return slices;
}

async function evaluate(unet: LesionUnet, slices: readonly Slice[]): Promise<DiceReport> {
  const [netRows, netColumns] = unet.config.inputSizePx!;
  const predicted: Uint8Array[] = [];
  for (const s of slices) {
    const input =
      s.rows === netRows && s.columns === netColumns
        ? s.image
        : resizeImageLinear(s.image, s.rows, s.columns, netRows, netColumns);
    const { labels } = await encodeSliceImages(unet, input, 1, {
      outputSizePx: [s.rows, s.columns],
      batchSize: 1,
    });
    predicted.push(labels);
  }
  return computeDice(
    predicted,
    slices.map((s) => s.truth),
    unet.config.classes.length,
  );
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  const checkpoints = join(values.run!, 'checkpoints');
  const manifest = JSON.parse(
    await readFile(join(checkpoints, 'best', 'weights.json'), 'utf8'),
  ) as {
    config: Parameters<typeof createLesionUnet>[0];
  };
  const unet = createLesionUnet(manifest.config);
  if (!(await loadTrainingCheckpoint(unet, checkpoints, 'best')))
    throw new Error('no best checkpoint');
  const split = JSON.parse(await readFile(join(values.run!, 'split.json'), 'utf8')) as {
    validation: string[];
  };
  const real = await semisegValidation(split.validation);
  const phantoms = phantomValidation(unet.config.inputSizePx![0]);
  const state = JSON.parse(await readFile(join(checkpoints, 'state.json'), 'utf8')) as object;

  // Float16 weights, then the figures measured with exactly those weights.
  const encoded = await encodeModelWeights(unet.model, 'float16');
  const shipped = createLesionUnet({ ...manifest.config, seed: 12345 });
  const decoded = decodeEncodedWeights(encoded);
  applyNamedWeights(shipped.model, decoded, { strict: true });
  tf.dispose(Object.values(decoded));
  const figures = {
    semisegValidation: await evaluate(shipped, real),
    phantomValidation: await evaluate(shipped, phantoms),
    float32SemisegValidation: await evaluate(unet, real),
    training: state,
  };

  await mkdir(values.out!, { recursive: true });
  const write = async (name: string, data: string | Uint8Array) => {
    const path = join(values.out!, name);
    await writeFile(`${path}.tmp`, data);
    await rename(`${path}.tmp`, path);
  };
  await write('weights.bin', encoded.data);
  await write('weights.json', JSON.stringify({ config: unet.config, weights: encoded.specs }));
  await write('evaluation.json', `${JSON.stringify(figures, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  unet.dispose();
  shipped.dispose();
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
