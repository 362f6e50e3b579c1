// The viewer page in a real browser: Debian's Chromium, headless, driven by playwright-core. It
// runs the bundled synthetic scan in the page's worker and checks the volumes against the same
// pipeline run here in Node on the same scan with the same weights; then a file that is not a
// scan must give a clear message. Screenshot and figures go to test-output/. With
// LESIONENC_UPDATE_DOCS=1 they go to docs/browser-viewer.png and docs/benchmarks.md, after one
// more run of the scan on WebGL as asked for by name, to record what `auto` avoids.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type Assessment,
  type BackendInfo,
  createChestPhantom,
  createLesionEncoder,
  initBackend,
} from '@lesionenc/core';

import { startServer } from '../server.mjs';
import type { ViewerHandle, ViewerSummary } from '../src/main';
import { SYNTHETIC_SCAN, VIEWER_MEMORY_BUDGET_BYTES } from '../src/synthetic-scan';
import { type BrowserFigures, updateBenchmarksDoc } from './benchmarks-doc';

const here = path.dirname(fileURLToPath(import.meta.url));
const exampleDir = path.resolve(here, '..');
const repoRoot = path.resolve(exampleDir, '..', '..');
const distDir = path.join(exampleDir, 'dist');
const outputDir = path.join(exampleDir, 'test-output');

const CHROMIUM = process.env.LESIONENC_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const VIEWPORT = { width: 1440, height: 860 };
const RUN_TIMEOUT_MS = 480_000;

// The lung mask is the same code on both sides: volumes agree to rounding, ml.
const LUNG_VOLUME_TOLERANCE_ML = 1e-6;
// Lesion labels come from the network on two wasm builds (threaded in the browser, single-
// threaded in Node), so a few voxels on class borders may differ: ml, or a share of the volume.
const CLASS_VOLUME_TOLERANCE_ML = 0.5;
const CLASS_VOLUME_TOLERANCE_SHARE = 0.01;
const PROBABILITY_TOLERANCE = 1e-3;

let context: BrowserContext;
let page: Page;
let server: { url: string; close: () => Promise<void> };
let userDataDir: string;
const pageErrors: string[] = [];
const consoleLines: string[] = [];

async function viewer(): Promise<ViewerHandle> {
  return page.evaluate(() => window.lesionencViewer);
}

async function waitUntilSettled(): Promise<ViewerHandle> {
  await page.waitForFunction(
    () => ['done', 'error'].includes(window.lesionencViewer.state),
    undefined,
    { timeout: RUN_TIMEOUT_MS, polling: 250 },
  );
  return viewer();
}

beforeAll(async () => {
  if (!existsSync(path.join(distDir, 'index.html'))) {
    throw new Error(`viewer page: expected a build in ${distDir}, found none (npm run build:page)`);
  }
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `browser test: expected Chromium at ${CHROMIUM}, found none (apt-get install chromium, or set LESIONENC_CHROMIUM)`,
    );
  }
  mkdirSync(outputDir, { recursive: true });
  server = await startServer({ root: distDir });
  userDataDir = mkdtempSync(path.join(os.tmpdir(), 'lesionenc-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: VIEWPORT,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
  await page.goto(server.url);
});

afterAll(async () => {
  await context?.close();
  await server?.close();
  if (userDataDir !== undefined) rmSync(userDataDir, { recursive: true, force: true });
});

describe('the browser viewer', () => {
  let browserSummary: ViewerSummary;

  it('is served cross-origin isolated, so wasm can use threads', async () => {
    expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
    expect((await viewer()).state).toBe('idle');
  });

  it('runs the synthetic scan in its worker and reports what Node reports', async () => {
    await page.click('#synthetic-button');

    // The page keeps drawing progress while the worker runs: it is not blocked.
    await page.waitForFunction(
      () =>
        window.lesionencViewer.state !== 'running' ||
        (document.getElementById('progress-bar') as HTMLProgressElement).value > 0.2,
      undefined,
      { timeout: RUN_TIMEOUT_MS, polling: 100 },
    );
    const midway = await viewer();
    expect(midway.state, `page error: ${JSON.stringify(midway.error)}`).toBe('running');
    const settled = await waitUntilSettled();
    expect(settled.error, `page error: ${JSON.stringify(settled.error)}`).toBeNull();
    expect(settled.state).toBe('done');
    browserSummary = settled.summary!;
    expect(browserSummary.crossOriginIsolated).toBe(true);
    expect(browserSummary.lesionWeights).toMatch(/\/models\/lesion-encoder\/$/);
    expect(browserSummary.notes.join(' ')).not.toMatch(/no trained lesion-encoder weights/);

    // The same scan, weights and memory budget through the pipeline in Node.
    const nodeBackend = await initBackend({ backend: 'wasm' });
    const phantom = createChestPhantom(SYNTHETIC_SCAN);
    const encoder = await createLesionEncoder({
      lesionWeights: 'shipped',
      workers: 1,
      memoryBudgetBytes: VIEWER_MEMORY_BUDGET_BYTES,
    });
    const started = performance.now();
    let node: Assessment;
    try {
      node = await encoder.assess(phantom.volume);
    } finally {
      await encoder.dispose();
    }
    const nodeAssessMs = performance.now() - started;
    expect(node.models.lesionWeights).not.toBeNull();

    expect(browserSummary.shape).toEqual(phantom.volume.geometry.shape);
    expect(browserSummary.keptSlices).toEqual(node.keptSlices);
    const v = node.volumetrics;
    expect(Math.abs(browserSummary.lungVolumeMl - v.lungVolumeMl)).toBeLessThanOrEqual(
      LUNG_VOLUME_TOLERANCE_ML,
    );
    expect(Math.abs(browserSummary.rightLungVolumeMl - v.rightLungVolumeMl)).toBeLessThanOrEqual(
      LUNG_VOLUME_TOLERANCE_ML,
    );
    const nodeClasses = {
      ground_glass: v.groundGlass.volumeMl,
      consolidation: v.consolidation.volumeMl,
      pleural_effusion: v.pleuralEffusion.volumeMl,
    };
    // The shipped encoder finds disease in this scan, so the comparison is not of zeros.
    expect(v.lesion.volumeMl + v.pleuralEffusion.volumeMl).toBeGreaterThan(10);
    expect(browserSummary.classes.map((c) => c.name)).toEqual(Object.keys(nodeClasses));
    for (const c of browserSummary.classes) {
      const expected = nodeClasses[c.name as keyof typeof nodeClasses];
      const tolerance = Math.max(
        CLASS_VOLUME_TOLERANCE_ML,
        CLASS_VOLUME_TOLERANCE_SHARE * expected,
      );
      expect(
        Math.abs(c.volumeMl - expected),
        `${c.name}: browser ${c.volumeMl}, node ${expected}`,
      ).toBeLessThanOrEqual(tolerance);
    }
    if (node.severityProbability === null) {
      expect(browserSummary.severityProbability).toBeNull();
      expect(browserSummary.notes.join('; ')).toMatch(/no severity classifier/);
    } else {
      expect(browserSummary.severityProbability).not.toBeNull();
      expect(
        Math.abs(browserSummary.severityProbability! - node.severityProbability),
      ).toBeLessThanOrEqual(PROBABILITY_TOLERANCE);
    }

    // The slice on screen shows lesions, and the report panel is filled in.
    expect(await page.textContent('#report')).toContain('Lesion volumes');
    expect(await page.locator('#legend li').count()).toBe(5);
    const screenshot = path.join(outputDir, 'browser-viewer.png');
    await page.screenshot({ path: screenshot, fullPage: true });

    const cdp = await context.newCDPSession(page);
    const { product } = (await cdp.send('Browser.getVersion')) as { product: string };
    const differencesMl = browserSummary.classes.map((c) =>
      Math.abs(c.volumeMl - nodeClasses[c.name as keyof typeof nodeClasses]),
    );
    const figures: BrowserFigures = {
      chromium: product.replace(/^[A-Za-z]+\//, ''),
      browser: browserSummary.backend,
      browserEncoderMsPerSlice: browserSummary.timingsMs.encoderPerSlice,
      browserLungmaskMs: browserSummary.timingsMs.lungmask,
      browserAssessMs: browserSummary.timingsMs.assess,
      node: nodeBackend as BackendInfo,
      nodeEncoderMsPerSlice: node.timingsMs.encoder / node.keptSlices.length,
      nodeLungmaskMs: node.timingsMs.lungmask,
      nodeAssessMs,
      keptSlices: node.keptSlices.length,
      shape: phantom.volume.geometry.shape as [number, number, number],
      measuredAt: new Date().toISOString(),
    };
    console.info(
      `browser: ${figures.browser.name} (simd ${figures.browser.simd}, threads ${figures.browser.threads}), ` +
        `${figures.browserEncoderMsPerSlice.toFixed(0)} ms per slice; node: ` +
        `${figures.nodeEncoderMsPerSlice.toFixed(0)} ms per slice; largest class difference ` +
        `${Math.max(...differencesMl).toFixed(3)} ml; passed over: ` +
        `${figures.browser.skipped.map((s) => `${s.name} (${s.reason})`).join(', ') || 'none'}`,
    );
    if (process.env.LESIONENC_UPDATE_DOCS === '1') {
      copyFileSync(screenshot, path.join(repoRoot, 'docs', 'browser-viewer.png'));
      await page.selectOption('#backend-select', 'webgl');
      await page.click('#synthetic-button');
      const webgl = await waitUntilSettled();
      await page.selectOption('#backend-select', 'auto');
      if (webgl.state === 'done' && webgl.summary !== null) {
        figures.webgl = {
          renderer: webgl.summary.backend.renderer ?? 'unknown',
          encoderMsPerSlice: webgl.summary.timingsMs.encoderPerSlice,
          lungmaskMs: webgl.summary.timingsMs.lungmask,
          assessMs: webgl.summary.timingsMs.assess,
        };
      }
      await updateBenchmarksDoc(path.join(repoRoot, 'docs', 'benchmarks.md'), figures);
    }
    writeFileSync(path.join(outputDir, 'figures.json'), `${JSON.stringify(figures, null, 2)}\n`);
  });

  it('says clearly that a file which is not a scan cannot be read, and keeps working', async () => {
    await page.setInputFiles('#file-input', {
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('these are notes, not a CT scan\n'),
    });
    const settled = await waitUntilSettled();
    expect(settled.state).toBe('error');
    expect(settled.error?.code).toBe('UNSUPPORTED_FORMAT');
    const shown = await page.textContent('#error');
    expect(shown).toMatch(/notes\.txt: format: expected a DICOM, NIfTI/);
    expect(await page.isVisible('#error')).toBe(true);

    // The previous result is still on screen, and nothing threw on the page.
    expect(settled.summary).not.toBeNull();
    expect(await page.isEnabled('#slice-slider')).toBe(true);
    expect(pageErrors, consoleLines.join('\n')).toEqual([]);
  });
});
