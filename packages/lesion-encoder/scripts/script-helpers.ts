// What the lesion-encoder scripts share: loading a weights folder into a network, and the lung
// slices of phantoms drawn like the synthetic cohorts' patients.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  type LesionUnet,
  applyNamedWeights,
  decodeEncodedWeights,
} from '@lesionenc/lesion-encoder';
import { type ChestPhantom, createChestPhantom, simulateCohort } from '@lesionenc/phantom';
import * as tf from '@tensorflow/tfjs-core';

/** Loads `weights.json` + `weights.bin` of `dir` into `unet`, every weight by name. */
export async function applyWeightsFolder(unet: LesionUnet, dir: string): Promise<void> {
  const manifest = JSON.parse(await readFile(join(dir, 'weights.json'), 'utf8')) as {
    weights: Parameters<typeof decodeEncodedWeights>[0]['specs'];
  };
  const data = new Uint8Array(await readFile(join(dir, 'weights.bin')));
  const weights = decodeEncodedWeights({ specs: manifest.weights, data });
  try {
    applyNamedWeights(unet.model, weights, { strict: true });
  } finally {
    tf.dispose(Object.values(weights));
  }
}

/** One cohort-like patient's first scan and the slices of it that go through the lungs. */
export interface CohortPhantom {
  hospital: 'A' | 'B';
  phantom: ChestPhantom;
  /** Slice indices holding at least 2 % lung. */
  lungSlices: number[];
}

/**
 * The first scan of `patientsPerHospital` patients of each hospital profile (A with `seed`, B
 * with `seed + 1`), drawn as the cohort simulator draws them at `size` x `size`.
 *
 * @param stride - Slices stepped over per profile (B's are twice as close as A's).
 */
export function cohortPhantoms(
  patientsPerHospital: number,
  seed: number,
  size: number,
  stride: { A: number; B: number },
): CohortPhantom[] {
  const result: CohortPhantom[] = [];
  const plane = size * size;
  for (const hospital of ['A', 'B'] as const) {
    const cohort = simulateCohort({
      hospital,
      patients: patientsPerHospital,
      matrix: size,
      seed: seed + (hospital === 'A' ? 0 : 1),
      severePrevalence: 0.3,
      converterPrevalence: 0.3,
    });
    for (const patient of cohort.patients) {
      const phantom = createChestPhantom(patient.scans[0]!.phantom);
      const [slices] = phantom.volume.geometry.shape;
      const lungSlices: number[] = [];
      for (let k = 0; k < slices; k += stride[hospital]) {
        const lung = phantom.lungs.data.subarray(k * plane, (k + 1) * plane);
        if (lung.reduce((a, v) => a + (v > 0 ? 1 : 0), 0) >= plane * 0.02) lungSlices.push(k);
      }
      result.push({ hospital, phantom, lungSlices });
    }
  }
  return result;
}
