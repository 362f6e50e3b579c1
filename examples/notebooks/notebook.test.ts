// The quickstart notebook: the committed copy must carry its outputs, and executed headless on
// the tslab kernel (jupyter nbconvert --execute) it must run every cell without an error and show
// the overlay, the ROC figure and the AUC, so it cannot rot unnoticed. The execution is skipped,
// with the reason printed, on machines without Jupyter or tslab.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  CELL_TIMEOUT_S,
  KERNEL_NAME,
  QUICKSTART_NOTEBOOK,
  executeNotebook,
  notebookUnavailableReason,
} from './run-notebook.mjs';

/** The parts of an nbformat 4 notebook the checks read. */
interface NotebookOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
}

interface NotebookCell {
  cell_type: string;
  outputs?: NotebookOutput[];
}

interface Notebook {
  metadata: { kernelspec?: { name?: string } };
  cells: NotebookCell[];
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The classifiers the notebook trains, each reported with one AUC. */
const METHODS = ['LE_Pooling', 'LE_RNN'];

const unavailable = notebookUnavailableReason();
if (unavailable !== null) {
  // Printed once so a skipped execution is never mistaken for a passing one.
  console.info(`notebook execution skipped: ${unavailable}`);
}

const joined = (text: string | string[] | undefined) =>
  Array.isArray(text) ? text.join('') : (text ?? '');

function readNotebook(file: string): Notebook {
  return JSON.parse(readFileSync(file, 'utf8')) as Notebook;
}

// What a complete run of the quickstart shows: output from every code cell, no errors, the two
// overlay montages (predicted and true lesions), one ROC figure naming both methods, their AUCs.
function expectCompleteRun(notebook: Notebook): void {
  expect(notebook.metadata.kernelspec?.name).toBe(KERNEL_NAME);
  const code = notebook.cells.filter((c) => c.cell_type === 'code');
  expect(code.length).toBeGreaterThan(0);
  // Every code cell of this notebook prints or displays something.
  expect(code.filter((c) => (c.outputs ?? []).length === 0)).toEqual([]);

  const outputs = code.flatMap((c) => c.outputs ?? []);
  // tslab reports a type error on stderr; anything there is worth a look.
  const errors = outputs
    .filter((o) => o.output_type === 'error' || o.name === 'stderr')
    .map((o) => `${o.ename ?? o.name}: ${o.evalue ?? joined(o.text)}`);
  expect(errors).toEqual([]);

  const pngs = outputs.flatMap((o) => (o.data?.['image/png'] ? [joined(o.data['image/png'])] : []));
  expect(pngs).toHaveLength(2);
  for (const png of pngs) {
    expect([...Buffer.from(png, 'base64').subarray(0, 8)]).toEqual(PNG_SIGNATURE);
  }

  const svgs = outputs.flatMap((o) =>
    o.data?.['image/svg+xml'] ? [joined(o.data['image/svg+xml'])] : [],
  );
  expect(svgs).toHaveLength(1);
  expect(svgs[0]).toMatch(/<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  for (const method of METHODS) expect(svgs[0]).toContain(method);

  const printed = outputs
    .filter((o) => o.name === 'stdout')
    .map((o) => joined(o.text))
    .join('');
  expect(printed).toMatch(/hospital A: 12 patients \(\d+ severe\)/);
  for (const method of METHODS) {
    const auc = new RegExp(`${method}: AUC (\\d\\.\\d{3}) \\(95 % CI`).exec(printed);
    expect(auc, `${method}'s AUC line`).not.toBeNull();
    const value = Number(auc![1]);
    expect(value).toBeGreaterThanOrEqual(0);
    expect(value).toBeLessThanOrEqual(1);
  }
}

describe('the committed quickstart notebook', () => {
  it('carries the outputs of a complete run', () => {
    expectCompleteRun(readNotebook(QUICKSTART_NOTEBOOK));
  });
});

describe.skipIf(unavailable !== null)('the quickstart notebook, executed headless', () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'lesionenc-notebook-test-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it(
    'runs every cell on the tslab kernel and shows the overlay, the ROC figure and the AUC',
    async () => {
      const { output } = await executeNotebook(QUICKSTART_NOTEBOOK, {
        output: path.join(scratch, 'executed.ipynb'),
      });
      expectCompleteRun(readNotebook(output));
    },
    CELL_TIMEOUT_S * 1000,
  );
});
