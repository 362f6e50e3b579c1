// Executes a notebook of this folder headless on the tslab TypeScript kernel, with the kernel
// registered in a temporary folder (never in the user's Jupyter). `node run-notebook.mjs
// [--inplace] [notebook.ipynb]`: with --inplace the notebook is rewritten with its new outputs.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The npm project the kernel is installed in (`npm run kernel`). It stays out of the workspaces:
 * tslab brings its own TypeScript, whose `tsc` would otherwise take the repository's.
 */
export const KERNEL_PROJECT = path.join(here, 'kernel');
const kernelRequire = createRequire(path.join(KERNEL_PROJECT, 'package.json'));

/** The notebook this folder ships. */
export const QUICKSTART_NOTEBOOK = path.join(here, 'lesionenc-quickstart.ipynb');

/** Seconds one cell may run before nbconvert gives up on it. */
export const CELL_TIMEOUT_S = 600;

/** The kernel name the notebooks ask for in their metadata. */
export const KERNEL_NAME = 'tslab';

function runs(command, args) {
  try {
    execFileSync(command, args, { stdio: 'pipe', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * The `jupyter` command that has nbconvert: `$JUPYTER` when set, else the one on PATH, else
 * Debian's. Null when none works.
 */
export function findJupyter() {
  const candidates = [process.env.JUPYTER, 'jupyter', '/usr/bin/jupyter'].filter(Boolean);
  return candidates.find((command) => runs(command, ['nbconvert', '--version'])) ?? null;
}

function resolveInKernel(name) {
  try {
    return kernelRequire.resolve(name);
  } catch {
    return null;
  }
}

/** The tslab command-line script of the kernel project, or null when it is not installed. */
export function findTslab() {
  const manifest = resolveInKernel('tslab/package.json');
  const script = manifest === null ? null : path.join(path.dirname(manifest), 'bin', 'tslab');
  return script !== null && existsSync(script) ? script : null;
}

/**
 * Why the notebooks cannot run on this machine, or null when they can: Jupyter with nbconvert,
 * tslab with a loadable zeromq binding, and the built `@lesionenc/core`.
 */
export function notebookUnavailableReason() {
  if (findJupyter() === null) {
    return 'no jupyter with nbconvert (Debian package jupyter-nbconvert)';
  }
  if (findTslab() === null) {
    return 'the tslab kernel is not installed (npm run kernel -w @lesionenc/example-notebooks)';
  }
  const zeromq = resolveInKernel('zeromq');
  if (zeromq === null || !runs(process.execPath, ['-e', `require(${JSON.stringify(zeromq)})`])) {
    return "tslab's zeromq binding does not load on this platform";
  }
  if (!existsSync(path.join(here, '..', '..', 'packages', 'core', 'dist', 'index.cjs'))) {
    return '@lesionenc/core is not built (npm run build at the repository root)';
  }
  return null;
}

/**
 * Writes a kernel spec that starts tslab with this Node into `<dir>/kernels/tslab/`; put `dir`
 * on JUPYTER_PATH to use it.
 */
export function writeKernelSpec(dir) {
  const tslab = findTslab();
  if (tslab === null) throw new Error('tslab kernel: expected tslab installed, got none');
  const kernelDir = path.join(dir, 'kernels', KERNEL_NAME);
  mkdirSync(kernelDir, { recursive: true });
  const spec = {
    argv: [process.execPath, tslab, 'kernel', '--config-path', '{connection_file}'],
    display_name: 'TypeScript',
    language: 'typescript',
  };
  writeFileSync(path.join(kernelDir, 'kernel.json'), `${JSON.stringify(spec, null, 2)}\n`);
  return kernelDir;
}

// tslab sends a cell's execution count only in its execute reply, which nbconvert does not copy
// into the notebook, so every cell would show an empty prompt. nbconvert stops at the first
// failing cell, so after a successful run the code cells ran once each, in order.
function numberCodeCells(file) {
  const notebook = JSON.parse(readFileSync(file, 'utf8'));
  let count = 0;
  for (const cell of notebook.cells) {
    if (cell.cell_type === 'code') cell.execution_count = ++count;
  }
  // nbformat's own layout: one-space indent, a final newline.
  writeFileSync(file, `${JSON.stringify(notebook, null, 1)}\n`);
}

/**
 * Executes a notebook with `jupyter nbconvert --execute` on the tslab kernel. The kernel starts in
 * the notebook's folder, so its imports resolve against this repository's packages.
 *
 * @param notebook - The .ipynb file.
 * @param options - `output`: where the executed notebook goes (default: over the input).
 * @returns The executed notebook's path and nbconvert's output.
 */
export async function executeNotebook(notebook, options = {}) {
  const jupyter = findJupyter();
  if (jupyter === null) {
    throw new Error('execute notebook: expected jupyter with nbconvert, got none');
  }
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'lesionenc-notebook-'));
  const output = path.resolve(options.output ?? notebook);
  try {
    writeKernelSpec(path.join(scratch, 'jupyter'));
    const env = {
      ...process.env,
      JUPYTER_PATH: path.join(scratch, 'jupyter'),
      JUPYTER_RUNTIME_DIR: path.join(scratch, 'runtime'),
      JUPYTER_CONFIG_DIR: path.join(scratch, 'config'),
      LESIONENC_LOG_LEVEL: process.env.LESIONENC_LOG_LEVEL ?? 'warn',
    };
    const args = [
      'nbconvert',
      '--to',
      'notebook',
      '--execute',
      `--ExecutePreprocessor.kernel_name=${KERNEL_NAME}`,
      `--ExecutePreprocessor.timeout=${CELL_TIMEOUT_S}`,
      // No per-cell timestamps: re-running changes only what the cells print.
      '--ExecutePreprocessor.record_timing=False',
      '--output-dir',
      path.dirname(output),
      '--output',
      path.basename(output),
      path.resolve(notebook),
    ];
    const log = await new Promise((resolve, reject) => {
      const child = spawn(jupyter, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (chunk) => (text += chunk));
      child.stderr.on('data', (chunk) => (text += chunk));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0
          ? resolve(text)
          : reject(new Error(`jupyter nbconvert: expected exit code 0, got ${code}\n${text}`)),
      );
    });
    numberCodeCells(output);
    return { output, log };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  const args = process.argv.slice(2);
  const inplace = args.includes('--inplace');
  const notebook = args.find((a) => !a.startsWith('--')) ?? QUICKSTART_NOTEBOOK;
  const reason = notebookUnavailableReason();
  if (reason !== null) {
    console.error(`run-notebook: cannot run: ${reason}`);
    process.exit(1);
  }
  const output = inplace ? notebook : notebook.replace(/\.ipynb$/, '.executed.ipynb');
  const started = Date.now();
  await executeNotebook(notebook, { output });
  console.log(`run-notebook: ${output} in ${Math.round((Date.now() - started) / 1000)} s`);
}
