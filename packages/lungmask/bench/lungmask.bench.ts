// The weight-free lung mask of a whole 512x512x300 chest CT (a severe-disease phantom).
import { type CtVolume, voxelVolumeMm3 } from '@lesionenc/base';
import { DISEASE_PRESETS, createChestPhantom } from '@lesionenc/phantom';

import type { Benchmark } from '../../../scripts/bench-types';
import { type LungSegmentation, segmentLungs } from '../src/classical';

interface Context {
  volume: CtVolume;
  truth: Uint8Array;
  last?: LungSegmentation;
}

const segmentLungs512: Benchmark<Context> = {
  id: 'lungmask/segment-lungs-512x512x300',
  title: 'segmentLungs (weight-free) of a 512x512x300 chest CT phantom, severe disease',
  warmup: 1,
  runs: 3,
  setup: () => {
    const phantom = createChestPhantom({
      seed: 0,
      matrix: 512,
      slices: 300,
      disease: DISEASE_PRESETS.severe,
    });
    return { volume: phantom.volume, truth: phantom.lungs.data };
  },
  run: (context) => {
    context.last = segmentLungs(context.volume);
  },
  extra: ({ volume, truth, last }) => {
    let both = 0;
    let predicted = 0;
    let expected = 0;
    const labels = last!.labels.data;
    for (let n = 0; n < truth.length; n++) {
      const p = labels[n]! > 0;
      const t = truth[n]! > 0;
      if (p) predicted++;
      if (t) expected++;
      if (p && t) both++;
    }
    return {
      'Mvoxel per run': volume.data.length / 1e6,
      'lung ml': Math.round((predicted * voxelVolumeMm3(volume.geometry)) / 1000),
      'Dice vs truth': Number(((2 * both) / (predicted + expected)).toFixed(4)),
      'goal ms': 20000,
    };
  },
};

export const benchmarks = [segmentLungs512];
