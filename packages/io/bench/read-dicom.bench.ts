// Reading a 512x512x300 int16 CT series from disk, against reading its bytes alone, with the
// peak memory the read needs beyond the file cache.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { readDicomSeries } from '@lesionenc/io';

import type { Benchmark } from '../../../scripts/bench-types';
import { syntheticChest, writeTestSeries } from '../src/testing/dicom-writer';

interface Context {
  folder: string;
  volumeBytes: number;
}

const SIZE = { slices: 300, rows: 512, columns: 512 };
// How often the memory sampler looks, ms.
const SAMPLE_INTERVAL_MS = 2;

async function readAllBytes(folder: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(folder)) total += (await readFile(join(folder, name))).length;
  return total;
}

function external(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function peakDuring(run: () => Promise<unknown>): Promise<number> {
  const base = external();
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, external());
  }, SAMPLE_INTERVAL_MS);
  try {
    await run();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, external()) - base;
}

const readSeries: Benchmark<Context> = {
  id: 'io/read-dicom-512x512x300-int16',
  title: 'readDicomSeries: 300 slices of 512x512 int16, explicit VR little endian',
  warmup: 1,
  runs: 5,
  setup: async () => {
    const folder = await mkdtemp(join(tmpdir(), 'lesionenc-bench-dicom-'));
    await writeTestSeries(folder, syntheticChest(SIZE, 11), { fileOrder: undefined });
    return { folder, volumeBytes: SIZE.slices * SIZE.rows * SIZE.columns * 2 };
  },
  run: async ({ folder }) => {
    await readDicomSeries(folder);
  },
  extra: async ({ folder, volumeBytes }) => {
    // Bytes alone, with the files in the page cache as they are for the timed runs.
    await readAllBytes(folder);
    const times: number[] = [];
    for (let n = 0; n < 3; n++) {
      const t = performance.now();
      await readAllBytes(folder);
      times.push(performance.now() - t);
    }
    const bytesMs = Math.min(...times);
    const t = performance.now();
    const peak = await peakDuring(() => readDicomSeries(folder));
    const seriesMs = performance.now() - t;
    return {
      'read bytes only (ms)': Number(bytesMs.toFixed(1)),
      'series / bytes time': Number((seriesMs / bytesMs).toFixed(2)),
      'volume (MiB)': Number((volumeBytes / 2 ** 20).toFixed(1)),
      'peak memory / volume': Number((peak / volumeBytes).toFixed(2)),
    };
  },
  teardown: async ({ folder }) => {
    await rm(folder, { recursive: true, force: true });
  },
};

export const benchmarks = [readSeries];
