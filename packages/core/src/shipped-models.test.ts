// The models shipped in models/synthetic: found, loaded by default with the shipped lesion weights,
// described by their models.json, and giving a severity probability that follows the disease.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DISEASE_PRESETS, NO_DISEASE, createChestPhantom } from '@lesionenc/phantom';
import { predictLogisticRegression } from '@lesionenc/sequence-classifier';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { createLesionEncoder } from './assess';
import { initBackend } from './backend';
import { findShippedModels, loadScanClassifier } from './internal/models';

/** A hospital-A-like scan: 340 mm field of view, 5 mm slices over 160 mm of chest. */
const scan = (disease: typeof NO_DISEASE) =>
  createChestPhantom({
    seed: 21,
    matrix: 128,
    slices: 32,
    fieldOfViewMm: 340,
    scanLengthMm: 160,
    disease,
  }).volume;

describe('the shipped models', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('are a volumetric severity classifier, with its test figures in models.json', async () => {
    const shipped = await findShippedModels();
    expect(shipped).toBeDefined();
    expect(shipped!.severity).toBe(join(shipped!.folder, 'severity'));
    // Neither the ICA nor a progression classifier ships (see the model card).
    expect(shipped!.ica).toBeNull();
    expect(shipped!.progression).toBeNull();
    const described = JSON.parse(readFileSync(join(shipped!.folder, 'models.json'), 'utf8')) as {
      severity: { method: string; trainingScans: number; test: { auc: number; patients: number } };
    };
    expect(described.severity.method).toBe('BS_Volumetric');
    expect(described.severity.test.auc).toBeGreaterThan(0.5);
    expect(described.severity.test.patients).toBe(150);
    expect((await loadScanClassifier(shipped!.severity!)).kind).toBe('volumetric');
  });

  it('load by default and rate a severe scan above a healthy one', async () => {
    const shipped = (await findShippedModels())!;
    const classifier = await loadScanClassifier(shipped.severity!);
    if (classifier.kind !== 'volumetric') throw new Error('expected a volumetric model');
    const encoder = await createLesionEncoder();
    try {
      expect(encoder.models).toMatchObject({
        ica: false,
        severity: 'volumetric',
        progression: null,
        shippedModels: shipped.folder,
      });
      const before = tf.memory().numTensors;
      const healthy = await encoder.assess(scan(NO_DISEASE));
      const severe = await encoder.assess(scan(DISEASE_PRESETS.severe));
      expect(tf.memory().numTensors).toBe(before);
      for (const result of [healthy, severe]) {
        // The probability is the logistic regression's on the scan's four volumetric features.
        const [expected] = predictLogisticRegression(classifier.model, {
          rows: 1,
          cols: 4,
          data: result.volumetricFeatures,
        });
        expect(result.severityProbability).toBeCloseTo(expected!, 6);
        expect(result.progressionProbability).toBeNull();
        expect(result.notes.join(' ')).toMatch(
          /severity classifier: the shipped models, trained on synthetic cohorts/,
        );
        expect(result.notes.join(' ')).toMatch(/no progression classifier/);
      }
      expect(severe.volumetrics.lesion.percentOfLung).toBeGreaterThan(
        healthy.volumetrics.lesion.percentOfLung + 2,
      );
      // At the 0.5 threshold the healthy scan is called mild and the severe one severe.
      expect(healthy.severityProbability!).toBeLessThan(0.5);
      expect(severe.severityProbability!).toBeGreaterThan(0.5);
    } finally {
      await encoder.dispose();
    }
  });
});
