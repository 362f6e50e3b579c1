import { describe, expect, it } from 'vitest';

import { type CliIo, runCli } from './index';

function capture(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

describe('runCli', () => {
  it('prints usage with exit 0 for --help and exit 2 with no command', async () => {
    const io = capture();
    expect(await runCli(['--help'], io)).toBe(0);
    expect(io.stdout.join('')).toMatch(/Usage: lesionenc <command>/);
    expect(io.stdout.join('')).toMatch(/\bdemo\b.*\n.*\binfo\b/);
    expect(await runCli([], capture())).toBe(2);
  });

  it('rejects an unknown command with exit 2 and names the known ones', async () => {
    const io = capture();
    expect(await runCli(['frobnicate'], io)).toBe(2);
    expect(io.stderr.join('')).toMatch(/unknown command 'frobnicate'.*demo/);
  });

  it('turns a LesionEncError into exit 1 with its code', async () => {
    const io = capture();
    expect(await runCli(['info', '--backend', 'cuda'], io)).toBe(1);
    expect(io.stderr.join('')).toMatch(/expected one of auto.*\[INVALID_ARGUMENT\]/);
  });

  it('rejects an unknown log level', async () => {
    const io = capture();
    expect(await runCli(['info', '--log-level', 'loud'], io)).not.toBe(0);
    expect(io.stderr.join('')).toMatch(/log level/);
  });
});
