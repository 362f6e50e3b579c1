// Reading a 512x512x300 int16 CT series from disk, against reading its bytes alone, with the
// peak memory the read needs beyond the file cache.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

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
// Reads in flight at once, as in the reader (IO_CONCURRENCY in src/dicom-series.ts).
const READ_CONCURRENCY = 8;
// Runs of each, alternated, behind the time ratio.
const RATIO_RUNS = 7;

/**
 * The baseline: every file of the series read whole, with as many reads in flight as the reader
 * keeps. It used to read one file at a time, which charged the reader for a concurrency the
 * baseline did not use.
 */
async function readAllBytes(folder: string): Promise<number> {
  const names = await readdir(folder);
  let next = 0;
  let total = 0;
  const worker = async () => {
    while (next < names.length) total += (await readFile(join(folder, names[next++]!))).length;
  };
  await Promise.all(Array.from({ length: READ_CONCURRENCY }, worker));
  return total;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function timeMs(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

function external(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * Collects garbage. Volumes of earlier runs are garbage that a collection may free during the
 * measured run, which would hide that run's own allocation (the ratio came out near 0.1); two
 * collections a tick apart leave the base with live data only.
 */
async function collectGarbage(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  gc?.();
  await setTimeout(0);
  gc?.();
}

async function peakDuring(run: () => Promise<unknown>): Promise<number> {
  await collectGarbage();
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
    // Both read the same files from the page cache, alternately, so load from other processes
    // falls on both alike; the ratio is of medians. The memory run is apart, as its sampler
    // costs time.
    await readAllBytes(folder);
    const bytesTimes: number[] = [];
    const seriesTimes: number[] = [];
    for (let n = 0; n < RATIO_RUNS; n++) {
      bytesTimes.push(await timeMs(() => readAllBytes(folder)));
      seriesTimes.push(await timeMs(() => readDicomSeries(folder)));
    }
    const bytesMs = median(bytesTimes);
    const seriesMs = median(seriesTimes);
    const peak = await peakDuring(() => readDicomSeries(folder));
    return {
      'read bytes only (ms)': Number(bytesMs.toFixed(1)),
      'series alternated with it (ms)': Number(seriesMs.toFixed(1)),
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
