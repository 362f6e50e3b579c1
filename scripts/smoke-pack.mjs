// Packs every package, installs the tarballs into a scratch project outside the repository, and
// loads @lesionenc/core there with require and import, as a user's project would.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'lesionenc-pack-'));
const tarballs = path.join(scratch, 'tarballs');
const project = path.join(scratch, 'project');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let passed = 0;
let failed = 0;
function check(name, fn) {
  try {
    fn();
    passed++;
    process.stdout.write(`  ok   ${name}\n`);
  } catch (error) {
    failed++;
    process.stdout.write(
      `  FAIL ${name}: ${(error.stderr || error.message).trim().split('\n').slice(-5).join(' | ')}\n`,
    );
  }
}

try {
  mkdirSync(tarballs, { recursive: true });
  mkdirSync(project, { recursive: true });
  run(npm, ['pack', '--workspaces', '--pack-destination', tarballs, '--silent'], root);
  const files = readdirSync(tarballs)
    .filter((f) => f.endsWith('.tgz'))
    .map((f) => path.join(tarballs, f));
  process.stdout.write(`packed ${files.length} packages into ${tarballs}\n`);

  writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'scratch', private: true }),
  );
  run(npm, ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...files], project);

  check("require('@lesionenc/core')", () => {
    const out = run(
      process.execPath,
      [
        '-e',
        "const c = require('@lesionenc/core'); if (typeof c.initBackend !== 'function' || typeof c.createGeometry !== 'function') throw new Error('exports missing'); console.log('cjs')",
      ],
      project,
    );
    if (!out.includes('cjs')) throw new Error(out);
  });
  check("import('@lesionenc/core') and the wasm backend", () => {
    const code =
      "import { initBackend, createGeometry } from '@lesionenc/core'; const b = await initBackend({ backend: 'wasm' }); createGeometry({ shape: [1, 2, 2] }); console.log(b.name);";
    const out = run(process.execPath, ['--input-type=module', '-e', code], project);
    if (!out.includes('wasm')) throw new Error(out);
  });
  check('lesionenc --help from the installed bin', () => {
    const out = run(path.join(project, 'node_modules', '.bin', 'lesionenc'), ['--help'], project);
    if (!out.includes('Usage: lesionenc')) throw new Error(out);
  });
} catch (error) {
  failed++;
  process.stdout.write(`smoke-pack: setup failed: ${(error.stderr || error.message).trim()}\n`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

process.stdout.write(`smoke-pack: ${passed} passed, ${failed} failed\n`);
process.exitCode = failed === 0 ? 0 : 1;
