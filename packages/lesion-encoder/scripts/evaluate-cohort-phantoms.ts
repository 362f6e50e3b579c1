// Dice of a lesion U-Net on phantoms drawn like the synthetic cohorts' patients (hospital A and
// B profiles, seeds no training run or experiment uses), and how well its lesion share of the
// lung follows the truth per patient. Usage:
//   npx tsx packages/lesion-encoder/scripts/evaluate-cohort-phantoms.ts --weights <dir>
//   npx tsx packages/lesion-encoder/scripts/evaluate-cohort-phantoms.ts --run <training run>
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import '@tensorflow/tfjs-backend-wasm';
import {
  DEFAULT_LESION_UNET,
  computeDice,
  createLesionUnet,
  encodeSliceImages,
  loadTrainingCheckpoint,
  toNetworkIntensity,
} from '@lesionenc/lesion-encoder';
import * as tf from '@tensorflow/tfjs-core';

import { applyWeightsFolder, cohortPhantoms } from './script-helpers';

const { values } = parseArgs({
  options: {
    weights: { type: 'string' },
    run: { type: 'string' },
    checkpoint: { type: 'string', default: 'best' },
    size: { type: 'string', default: '128' },
    patients: { type: 'string', default: '12' },
    seed: { type: 'string', default: '9001' },
  },
});
const size = Number(values.size);

function pearson(pairs: readonly (readonly [number, number])[]): number {
  const n = pairs.length;
  const mx = pairs.reduce((a, p) => a + p[0], 0) / n;
  const my = pairs.reduce((a, p) => a + p[1], 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const [x, y] of pairs) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  const unet = createLesionUnet({ ...DEFAULT_LESION_UNET, inputSizePx: [size, size] });
  if (values.weights !== undefined) {
    await applyWeightsFolder(unet, values.weights);
  } else if (values.run !== undefined) {
    const which = values.checkpoint === 'last' ? 'last' : 'best';
    if (!(await loadTrainingCheckpoint(unet, join(values.run, 'checkpoints'), which))) {
      throw new Error(`no ${which} checkpoint in ${values.run}`);
    }
  } else {
    throw new Error('expected --weights <dir> or --run <training run>');
  }
  const plane = size * size;
  const report: Record<string, unknown> = {};
  const all = cohortPhantoms(Number(values.patients), Number(values.seed), size, { A: 2, B: 2 });
  for (const hospital of ['A', 'B'] as const) {
    const predicted: Uint8Array[] = [];
    const truth: Uint8Array[] = [];
    const shares: [number, number][] = [];
    for (const { phantom, lungSlices: kept } of all.filter((p) => p.hospital === hospital)) {
      const images = new Float32Array(kept.length * plane);
      kept.forEach((k, i) =>
        images.set(
          toNetworkIntensity(phantom.volume.data.subarray(k * plane, (k + 1) * plane), 'hu'),
          i * plane,
        ),
      );
      const { labels } = await encodeSliceImages(unet, images, kept.length, {
        outputSizePx: [size, size],
        batchSize: 8,
      });
      let lungVoxels = 0;
      let trueLesion = 0;
      let foundLesion = 0;
      kept.forEach((k, i) => {
        const found = labels.subarray(i * plane, (i + 1) * plane);
        const lesions = phantom.lesions.data.subarray(k * plane, (k + 1) * plane);
        const lung = phantom.lungs.data.subarray(k * plane, (k + 1) * plane);
        predicted.push(Uint8Array.from(found));
        truth.push(Uint8Array.from(lesions));
        for (let j = 0; j < plane; j++) {
          if (lung[j] === 0) continue;
          lungVoxels++;
          if (lesions[j] === 1 || lesions[j] === 2) trueLesion++;
          if (found[j] === 1 || found[j] === 2) foundLesion++;
        }
      });
      shares.push([trueLesion / lungVoxels, foundLesion / lungVoxels]);
    }
    const dice = computeDice(predicted, truth, 4);
    report[hospital] = {
      dice: dice.perClass.map((d) => (d === null ? null : Number(d.toFixed(3)))),
      images: dice.imageCounts,
      lesionShareCorrelation: Number(pearson(shares).toFixed(3)),
    };
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
  unet.dispose();
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
