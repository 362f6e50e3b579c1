// The browser entry and the browser twins: the same API as the Node entry less what needs Node,
// and models read over HTTP the way a page reads them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { isLesionEncError } from '@lesionenc/base';
import { createLesionUnet, encodeModelWeights } from '@lesionenc/lesion-encoder';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from './backend';
import * as browserEntry from './browser';
import * as nodeEntry from './index';
import { loadLesionUnet } from './internal/models';
import * as browserResources from './internal/resources.browser';
import { createLesionEncoderPool as browserPool } from './pool.browser';

// What only the Node entry has: worker threads, and files found or written on disk.
const NODE_ONLY = [
  'createLesionEncoderPool',
  'encodeCohort',
  'findShippedLesionWeights',
  'findShippedModels',
  'readCohortManifest',
  'runExperiment',
];

const UNET = { inputSizePx: [64, 64] as [number, number], dropConnectRate: 0 };

describe('the browser entry of @lesionenc/core', () => {
  it('exports what the Node entry exports, except what needs Node', () => {
    const expected = Object.keys(nodeEntry)
      .filter((name) => !NODE_ONLY.includes(name))
      .sort();
    expect(Object.keys(browserEntry).sort()).toEqual(expected);
    for (const name of NODE_ONLY.filter((n) => n in nodeEntry)) {
      expect(name in browserEntry, name).toBe(false);
    }
  });

  it('refuses the worker-thread pool with BACKEND_UNAVAILABLE', async () => {
    const error = await browserPool({ workers: 2 }).catch((e: unknown) => e);
    expect(isLesionEncError(error, 'BACKEND_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toMatch(/expected Node\.js \(worker threads\)/);
  });

  it('finds no shipped weights without being told where', async () => {
    expect(await browserResources.findShippedWeightsFolder()).toBeUndefined();
  });
});

describe('model files over HTTP', () => {
  let folder: string;
  let close: () => Promise<void>;
  let baseUrl: string;

  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    folder = mkdtempSync(path.join(os.tmpdir(), 'lesionenc-weights-'));
    const unet = createLesionUnet(UNET);
    const encoded = await encodeModelWeights(unet.model, 'float32');
    unet.dispose();
    writeFileSync(
      path.join(folder, 'weights.json'),
      JSON.stringify({ config: UNET, weights: encoded.specs }),
    );
    writeFileSync(path.join(folder, 'weights.bin'), encoded.data);

    // Serves the folder's files under /weights/ and nothing else.
    const server = createServer((request, response) => {
      const name = /^\/weights\/([\w.]+)$/.exec(request.url ?? '')?.[1] ?? '';
      readFile(path.join(folder, name)).then(
        (bytes) => response.end(bytes),
        () => {
          response.statusCode = 404;
          response.end();
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    baseUrl = `http://127.0.0.1:${port}/weights/`;
    close = () => new Promise((resolve) => server.close(() => resolve()));
  });

  afterAll(async () => {
    await close?.();
    rmSync(folder, { recursive: true, force: true });
  });

  it('fetches the same bytes as the file system holds', async () => {
    const url = await browserResources.locateResource(baseUrl, 'weights.bin');
    expect(url).toBe(`${baseUrl}weights.bin`);
    const fetched = await browserResources.readResource(url);
    const onDisk = await readFile(path.join(folder, 'weights.bin'));
    // Compared as buffers: a deep equality of megabytes element by element is far too slow.
    expect(fetched.length).toBe(onDisk.length);
    expect(Buffer.from(fetched).equals(onDisk)).toBe(true);
    await expect(browserResources.readResource(`${baseUrl}missing.bin`)).rejects.toThrow(
      /HTTP 404/,
    );
  });

  it('loads the lesion U-Net from a URL with the weights it was saved with', async () => {
    const fromUrl = await loadLesionUnet({}, baseUrl);
    const fromDisk = await loadLesionUnet({}, folder);
    try {
      expect(fromUrl.weightsPath).toBe(baseUrl);
      const a = fromUrl.unet.model.getWeights();
      const b = fromDisk.unet.model.getWeights();
      expect(a.length).toBe(b.length);
      const worst = tf.tidy(() =>
        Math.max(...a.map((w, i) => tf.max(tf.abs(tf.sub(w, b[i]!))).dataSync()[0]!)),
      );
      expect(worst).toBe(0);
    } finally {
      fromUrl.unet.dispose();
      fromDisk.unet.dispose();
    }
  });

  it('says which URL is missing with FILE_NOT_FOUND', async () => {
    const error = await loadLesionUnet({}, `${baseUrl}nowhere/`).catch((e: unknown) => e);
    expect(isLesionEncError(error, 'FILE_NOT_FOUND')).toBe(true);
    expect((error as Error).message).toMatch(/nowhere\/weights\.json.*HTTP 404/);
  });
});
