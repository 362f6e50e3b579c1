// Loads every built package in plain Node, as ESM and as CJS: vitest resolves sources and would
// hide a broken exports map or an import that only a bundler understands.
import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
let failed = 0;
let passed = 0;

for (const dir of readdirSync(path.join(root, 'packages')).sort()) {
  const { name } = JSON.parse(
    readFileSync(path.join(root, 'packages', dir, 'package.json'), 'utf8'),
  );
  for (const [how, load] of [
    ['import', () => import(name)],
    ['require', async () => require(name)],
  ]) {
    try {
      const mod = await load();
      if (typeof mod !== 'object' || mod === null) throw new Error('module is not an object');
      passed++;
    } catch (error) {
      failed++;
      process.stderr.write(`smoke: ${how}('${name}') failed: ${error.message}\n`);
    }
  }
}

// The browser builds (the `browser` export condition) import no Node built-in, statically or
// dynamically, and load as modules.
const builtins = new Set(builtinModules);
for (const dir of readdirSync(path.join(root, 'packages')).sort()) {
  const folder = path.join(root, 'packages', dir);
  const { name, exports } = JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8'));
  const entry = exports?.['.']?.browser?.default;
  if (entry === undefined) continue;
  const file = path.join(folder, entry);
  try {
    const text = readFileSync(file, 'utf8');
    const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)["']([^"']+)["']/g)].map(
      (m) => m[1],
    );
    const nodeOnly = specifiers.filter(
      (s) => s.startsWith('node:') || builtins.has(s) || builtins.has(s.split('/')[0]),
    );
    if (nodeOnly.length > 0) throw new Error(`imports Node built-ins: ${nodeOnly.join(', ')}`);
    const mod = await import(pathToFileURL(file).href);
    if (Object.keys(mod).length === 0) throw new Error('exports nothing');
    passed++;
  } catch (error) {
    failed++;
    process.stderr.write(`smoke: browser build of '${name}' (${entry}): ${error.message}\n`);
  }
}

// The executable runs from its built file.
const { execFileSync } = await import('node:child_process');
try {
  const out = execFileSync(process.execPath, [
    path.join(root, 'packages/cli/dist/bin.js'),
    '--help',
  ]);
  if (!out.toString().includes('Usage: lesionenc')) throw new Error('no usage text');
  passed++;
} catch (error) {
  failed++;
  process.stderr.write(`smoke: lesionenc --help failed: ${error.message}\n`);
}

// The encoder pool starts its worker thread from the built files, as ESM and as CJS (each in a
// process of its own, so the two builds of tfjs never meet).
const poolCheck = (load) => `
  const core = ${load};
  (async () => {
    await core.initBackend({ backend: 'wasm' });
    const pool = await core.createLesionEncoderPool({ workers: 1, unet: { inputSizePx: [64, 64] } });
    const r = await pool.encode(new Float32Array(64 * 64), 1, { outputSizePx: [64, 64], batchSize: 1 });
    await pool.dispose();
    if (r.features.length !== 1280 || r.labels.length !== 4096) throw new Error('wrong pool output');
  })().catch((e) => { console.error(e.message); process.exit(1); });`;
for (const [how, args] of [
  ['import', ['--input-type=module', '-e', poolCheck("await import('@lesionenc/core')")]],
  ['require', ['-e', poolCheck("require('@lesionenc/core')")]],
]) {
  try {
    execFileSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    passed++;
  } catch (error) {
    failed++;
    process.stderr.write(
      `smoke: encoder pool via ${how} failed: ${error.stderr ?? error.message}\n`,
    );
  }
}

process.stdout.write(`smoke-dist: ${passed} passed, ${failed} failed\n`);
process.exitCode = failed === 0 ? 0 : 1;
