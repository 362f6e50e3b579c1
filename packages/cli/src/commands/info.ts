// `lesionenc info`: which backend this machine gets and what the environment is.
import { parseArgs } from 'node:util';
import os from 'node:os';

import { type BackendName, initBackend } from '@lesionenc/core';

import type { CliIo } from '../index';

export async function runInfo(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      backend: { type: 'string', default: 'auto' },
      json: { type: 'boolean', default: false },
    },
  });
  const backend = await initBackend({ backend: values.backend as BackendName });
  const facts = {
    backend,
    node: process.versions.node,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  };
  if (values.json === true) {
    io.out(JSON.stringify(facts, null, 2));
    return 0;
  }
  io.out(`backend   ${backend.name}${backend.simd === true ? ' (SIMD)' : ''}`);
  for (const s of backend.skipped) io.out(`  passed over ${s.name}: ${s.reason}`);
  io.out(`node      ${facts.node}`);
  io.out(`machine   ${facts.cpus} x ${facts.cpuModel}, ${facts.memoryGiB} GiB`);
  return 0;
}
