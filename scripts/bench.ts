// Runs every package's benchmarks and writes docs/benchmarks.json and docs/benchmarks.md.
// Usage: npm run bench [-- --filter <substring>]  (a filtered run merges into the existing file)
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import type * as TfCore from '@tensorflow/tfjs-core';

import type { Benchmark } from './bench-types';

interface Result {
  id: string;
  title: string;
  backend: string;
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  extra: Record<string, number | string>;
  measuredAt: string;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const jsonPath = path.join(root, 'docs', 'benchmarks.json');
const mdPath = path.join(root, 'docs', 'benchmarks.md');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function findBenchFiles(): string[] {
  const files: string[] = [];
  for (const pkg of readdirSync(path.join(root, 'packages')).sort()) {
    const dir = path.join(root, 'packages', pkg, 'bench');
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort())
      if (f.endsWith('.bench.ts')) files.push(path.join(dir, f));
  }
  return files;
}

function machine(tfVersion: string) {
  const cpus = os.cpus();
  return {
    cpu: `${cpus.length} x ${cpus[0]?.model ?? 'unknown'}`,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.versions.node,
    tfjs: tfVersion,
  };
}

async function runOne(bench: Benchmark, tf: typeof TfCore): Promise<Result> {
  if (bench.backend !== undefined) {
    if (bench.backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
    else await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend(bench.backend);
    await tf.ready();
  }
  const context = await bench.setup?.();
  const times: number[] = [];
  try {
    for (let i = 0; i < (bench.warmup ?? 2); i++) await bench.run(context);
    for (let i = 0; i < (bench.runs ?? 5); i++) {
      const started = performance.now();
      await bench.run(context);
      times.push(performance.now() - started);
    }
    const extra = (await bench.extra?.(context)) ?? {};
    return {
      id: bench.id,
      title: bench.title,
      backend: bench.backend ?? '-',
      runs: times.length,
      medianMs: median(times),
      minMs: Math.min(...times),
      maxMs: Math.max(...times),
      extra,
      measuredAt: new Date().toISOString(),
    };
  } finally {
    await bench.teardown?.(context);
  }
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

function toMarkdown(results: Result[], info: ReturnType<typeof machine>): string {
  const lines = [
    '# Benchmarks',
    '',
    'Written by `npm run bench`: the median of several timed runs after warm-up runs, per',
    'benchmark, in milliseconds. Figures are for the machine below; on a shared machine compare',
    'medians, and read a wide min-max range as noise.',
    '',
    `Machine: ${info.cpu}, ${info.memoryGiB} GiB, ${info.os}; Node ${info.node}; tfjs ${info.tfjs}.`,
    '',
    '| benchmark | backend | median ms | min ms | max ms | runs | other figures | measured |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- | --- |',
  ];
  for (const r of results) {
    const extra = Object.entries(r.extra)
      .map(([k, v]) => `${k}: ${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`)
      .join(', ');
    lines.push(
      `| ${r.title} (\`${r.id}\`) | ${r.backend} | ${fmt(r.medianMs)} | ${fmt(r.minMs)} | ` +
        `${fmt(r.maxMs)} | ${r.runs} | ${extra} | ${r.measuredAt.slice(0, 10)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

// Sections other tools write after the table (from the first `## ` heading on), kept as they are.
function keptSections(): string {
  if (!existsSync(mdPath)) return '';
  const text = readFileSync(mdPath, 'utf8');
  const start = text.search(/^## /m);
  return start < 0 ? '' : `\n${text.slice(start)}`;
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { filter: { type: 'string' } } });
  const tf = await import('@tensorflow/tfjs-core');
  const previous: Result[] = existsSync(jsonPath)
    ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as { results: Result[] }).results
    : [];
  const byId = new Map(values.filter === undefined ? [] : previous.map((r) => [r.id, r]));

  for (const file of findBenchFiles()) {
    const mod = (await import(pathToFileURL(file).href)) as { benchmarks?: Benchmark[] };
    for (const bench of mod.benchmarks ?? []) {
      if (values.filter !== undefined && !bench.id.includes(values.filter)) continue;
      process.stdout.write(`${bench.id} ... `);
      const result = await runOne(bench, tf);
      process.stdout.write(`${fmt(result.medianMs)} ms\n`);
      byId.set(result.id, result);
    }
  }

  const results = [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  const info = machine(tf.version_core);
  writeAtomically(jsonPath, `${JSON.stringify({ machine: info, results }, null, 2)}\n`);
  // Laid out as the repository's formatter would, so a fresh run passes the lint check.
  const prettier = await import('prettier');
  const style = (await prettier.resolveConfig(mdPath)) ?? {};
  const markdown = await prettier.format(toMarkdown(results, info) + keptSections(), {
    ...style,
    parser: 'markdown',
  });
  writeAtomically(mdPath, markdown);
  process.stdout.write(`wrote ${path.relative(root, mdPath)} (${results.length} benchmarks)\n`);
}

await main();
