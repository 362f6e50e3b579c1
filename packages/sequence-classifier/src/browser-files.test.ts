// The browser build's classifier files (internal/files.browser.ts): a saved classifier folder is
// read over HTTP and predicts as before; saving is refused with a clear error.
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { saveSequenceClassifier } from './model-files';
import { createSequenceClassifier } from './models';

const FEATURES = 4;

describe('classifier folders in a browser build', () => {
  const directory = mkdtempSync(join(tmpdir(), 'lesionenc-classifier-http-'));
  let close: () => Promise<void>;
  let baseUrl: string;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    // Serves the folder under /models/ and nothing else.
    const server = createServer((request, response) => {
      const name = /^\/models\/([\w./-]+)$/.exec(request.url ?? '')?.[1];
      if (name === undefined || name.includes('..')) {
        response.statusCode = 404;
        response.end();
        return;
      }
      readFile(join(directory, name)).then(
        (bytes) => response.end(bytes),
        () => {
          response.statusCode = 404;
          response.end();
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/models`;
    close = () => new Promise((resolve) => server.close(() => resolve()));
  });

  afterAll(async () => {
    vi.doUnmock('./internal/files');
    await close?.();
    rmSync(directory, { recursive: true, force: true });
  });

  it('loads a classifier from a URL and refuses to save one', async () => {
    const classifier = createSequenceClassifier({
      kind: 'rnn',
      featureSize: FEATURES,
      lstmUnits: [5, 3],
      denseUnits: 7,
      seed: 4,
    });
    const batch = {
      features: Float32Array.from({ length: 3 * 6 * FEATURES }, (_, n) => Math.sin(n * 0.7)),
      shape: [3, 6, FEATURES] as [number, number, number],
    };
    try {
      await saveSequenceClassifier(classifier, join(directory, 'severity'));

      // The module again, built as the browser build is: with the browser twin of its files.
      vi.doMock('./internal/files', () => vi.importActual('./internal/files.browser'));
      vi.resetModules();
      const browser = await import('./model-files');

      const loaded = await browser.loadClassifier(`${baseUrl}/severity/`);
      if (loaded.kind === 'volumetric') throw new Error('expected a sequence classifier');
      try {
        expect(Array.from(await loaded.classifier.predict(batch))).toEqual(
          Array.from(await classifier.predict(batch)),
        );
      } finally {
        loaded.classifier.dispose();
      }

      // The modules were loaded afresh, error class included: the code is compared, not the class.
      await expect(browser.loadClassifier(`${baseUrl}/missing`)).rejects.toMatchObject({
        code: 'FILE_NOT_FOUND',
      });
      await expect(
        browser.saveSequenceClassifier(classifier, `${baseUrl}/copy`),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: /expected Node\.js/ });
    } finally {
      classifier.dispose();
    }
  });
});
