// A 256 x 256 x 128 chest phantom with lesions, and a 100-patient cohort at 128 x 128 written to disk.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  type ChestPhantom,
  DEFAULT_COHORT,
  DISEASE_PRESETS,
  createChestPhantom,
  simulateCohort,
  writeCohort,
} from '@lesionenc/phantom';

import type { Benchmark } from '../../../scripts/bench-types';

interface PhantomContext {
  last: ChestPhantom | null;
}

const phantomBench: Benchmark<PhantomContext> = {
  id: 'phantom/chest-256x256x128',
  title: 'createChestPhantom 256x256x128, severe disease (lesions, effusion), lung kernel',
  warmup: 1,
  runs: 3,
  setup: () => ({ last: null }),
  run: (context) => {
    context.last = createChestPhantom({
      seed: 1,
      matrix: 256,
      slices: 128,
      disease: DISEASE_PRESETS.severe,
    });
  },
  extra: ({ last }) => ({
    Mvoxels: (256 * 256 * 128) / 1e6,
    'lesions drawn': last?.truth.lesionCount ?? 0,
    'lesion % of lung': Number((last?.truth.lesion.percentOfLung ?? 0).toFixed(1)),
    'goal ms': 5000,
  }),
};

interface CohortContext {
  outDir: string;
  scans: number;
  seconds: number;
}

const cohortBench: Benchmark<CohortContext> = {
  id: 'phantom/cohort-100x128',
  title: 'simulateCohort + writeCohort: 100 patients of hospital A at 128x128x64, NIfTI + masks',
  warmup: 0,
  runs: 1,
  setup: async () => ({
    outDir: await mkdtemp(join(tmpdir(), 'lesionenc-bench-cohort-')),
    scans: 0,
    seconds: 0,
  }),
  run: async (context) => {
    const started = performance.now();
    const cohort = simulateCohort({ ...DEFAULT_COHORT, seed: 1 });
    const { rows } = await writeCohort(cohort, context.outDir);
    context.seconds = (performance.now() - started) / 1000;
    context.scans = rows.length;
  },
  extra: ({ scans, seconds }) => ({
    scans,
    'scans/s': Number((scans / seconds).toFixed(2)),
    minutes: Number((seconds / 60).toFixed(2)),
  }),
  teardown: async ({ outDir }) => {
    await rm(outDir, { recursive: true, force: true });
  },
};

export const benchmarks = [phantomBench, cohortBench];
