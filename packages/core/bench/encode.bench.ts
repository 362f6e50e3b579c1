// The lesion encoder on a scan: B0 at 256x256 per slice with pre-processing, on one thread and on
// a pool of two workers, and a whole 512x512x300 chest scan (lung mask, encoder, volumetrics).
import { createLesionUnet } from '@lesionenc/lesion-encoder';
import { createChestPhantom } from '@lesionenc/phantom';

import type { Benchmark } from '../../../scripts/bench-types';
import { analyseScan } from '../src/analyse';
import { type Assessment, type LesionEncoder, createLesionEncoder } from '../src/assess';
import { prepareSlices, encodeSlices } from '../src/internal/encode';
import { type LesionEncoderPool, createLesionEncoderPool } from '../src/pool';

const INPUT_PX: [number, number] = [256, 256];
const SLICES = 32;
const BUDGET_BYTES = 512 * 2 ** 20;

type Encoder = Parameters<typeof encodeSlices>[0];

interface SliceContext {
  volume: ReturnType<typeof createChestPhantom>['volume'];
  kept: number[];
  encoder: Encoder;
  dispose: () => Promise<void>;
}

// Slices of a 512x512 phantom, windowed, stretched and resized to 256x256 in the timed run.
function sliceBench(workers: 1 | 2): Benchmark<SliceContext> {
  return {
    id: `core/encode-b0-256-${workers === 1 ? 'one-thread' : 'pool2'}-wasm`,
    title: `lesion encoder B0, 512x512 slices to 256x256, pre-processing included, ${workers === 1 ? 'one thread' : 'two worker threads'}`,
    backend: 'wasm',
    warmup: 1,
    runs: 3,
    setup: async () => {
      const phantom = createChestPhantom({ seed: 1, matrix: 512, slices: SLICES });
      const kept = Array.from({ length: SLICES }, (_, k) => k);
      if (workers === 1) {
        const unet = createLesionUnet({ inputSizePx: INPUT_PX });
        return {
          volume: phantom.volume,
          kept,
          encoder: { unet },
          dispose: async () => unet.dispose(),
        };
      }
      const pool: LesionEncoderPool = await createLesionEncoderPool({
        workers,
        unet: { inputSizePx: INPUT_PX },
      });
      return { volume: phantom.volume, kept, encoder: { pool }, dispose: () => pool.dispose() };
    },
    run: async ({ volume, kept, encoder }) => {
      const inputs = prepareSlices(volume, kept, INPUT_PX);
      await encodeSlices(encoder, volume.geometry, kept, inputs, {
        memoryBudgetBytes: BUDGET_BYTES,
      });
    },
    extra: () => ({ slices: SLICES }),
    teardown: ({ dispose }) => dispose(),
  };
}

interface ScanContext {
  volume: ReturnType<typeof createChestPhantom>['volume'];
  pool: LesionEncoderPool;
  last?: Awaited<ReturnType<typeof analyseScan>>;
}

const scanBench: Benchmark<ScanContext> = {
  id: 'core/analyse-scan-512x512x300-pool2-wasm',
  title:
    'analyseScan of a 512x512x300 chest CT: lung mask, B0 encoder at 256x256, volumetrics, two workers',
  backend: 'wasm',
  warmup: 0,
  runs: 2,
  setup: async () => ({
    volume: createChestPhantom({ seed: 2, matrix: 512, slices: 300 }).volume,
    pool: await createLesionEncoderPool({ workers: 2, unet: { inputSizePx: INPUT_PX } }),
  }),
  run: async (context) => {
    context.last = await analyseScan(context.volume, { pool: context.pool });
  },
  extra: ({ last }) => ({
    'kept slices': last?.keptSlices.length ?? 0,
    'lung mask s': Number(((last?.timingsMs.lungmask ?? 0) / 1000).toFixed(2)),
    'encoder s': Number(((last?.timingsMs.encoder ?? 0) / 1000).toFixed(2)),
    'peak RSS MiB': Math.round(process.resourceUsage().maxRSS / 1024),
  }),
  teardown: ({ pool }) => pool.dispose(),
};

interface AssessContext {
  volume: ReturnType<typeof createChestPhantom>['volume'];
  encoder: LesionEncoder;
  last?: Assessment;
}

// What a user runs: the factory's defaults (the shipped weights; ICA and classifiers when shipped)
// on two workers.
const assessBench: Benchmark<AssessContext> = {
  id: 'core/assess-512x512x300-shipped-pool2-wasm',
  title:
    'createLesionEncoder().assess of a 512x512x300 chest CT with its defaults (shipped 128x128 weights): lung mask, encoder, volumetrics, two workers',
  backend: 'wasm',
  warmup: 0,
  runs: 2,
  setup: async () => ({
    volume: createChestPhantom({ seed: 2, matrix: 512, slices: 300 }).volume,
    encoder: await createLesionEncoder({ workers: 2 }),
  }),
  run: async (context) => {
    context.last = await context.encoder.assess(context.volume);
  },
  extra: ({ last }) => ({
    'kept slices': last?.keptSlices.length ?? 0,
    'lung mask s': Number(((last?.timingsMs.lungmask ?? 0) / 1000).toFixed(2)),
    'encoder s': Number(((last?.timingsMs.encoder ?? 0) / 1000).toFixed(2)),
    'peak RSS MiB': Math.round(process.resourceUsage().maxRSS / 1024),
  }),
  teardown: ({ encoder }) => encoder.dispose(),
};

export const benchmarks = [sliceBench(1), sliceBench(2), scanBench, assessBench];
