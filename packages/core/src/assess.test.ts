// The pipeline object: models in, probabilities out, what is missing said in notes, no leaks.
import { isLesionEncError } from '@lesionenc/base';
import { fitFastIca, transformIca } from '@lesionenc/ica';
import { DISEASE_PRESETS, createChestPhantom } from '@lesionenc/phantom';
import {
  createSequenceClassifier,
  resampleSequence,
  fitLogisticRegression,
  predictLogisticRegression,
} from '@lesionenc/sequence-classifier';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { analyseScan, sliceLesionShares } from './analyse';
import { createLesionEncoder } from './assess';
import { initBackend } from './backend';
import { loadLesionUnet } from './internal/models';

/** Probabilities computed two ways (float32 network, same inputs). */
const PROBABILITY_TOLERANCE = 1e-6;
const UNET = { inputSizePx: [64, 64] as [number, number], dropConnectRate: 0 };

const scans = [1, 2, 3].map((seed) =>
  createChestPhantom({ seed, matrix: 64, slices: 10, disease: DISEASE_PRESETS.severe }),
);

describe('createLesionEncoder', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('says what is missing when it has only an untrained encoder', async () => {
    const encoder = await createLesionEncoder({ lesionWeights: null, unet: UNET });
    try {
      expect(encoder.models).toEqual({
        lesionWeights: null,
        ica: false,
        severity: null,
        progression: null,
        // Shipped ICA and classifiers fit the shipped weights only, so none come with these.
        shippedModels: null,
        featuresOnly: false,
      });
      const result = await encoder.assess(scans[0]!.volume);
      expect(result.severityProbability).toBeNull();
      expect(result.progressionProbability).toBeNull();
      expect(result.icaFeatures).toBeNull();
      expect(result.notes.join(' ')).toMatch(/no trained lesion-encoder weights/);
      expect(result.notes.join(' ')).toMatch(/no ICA model/);
      expect(result.keptSlices.length).toBeGreaterThan(0);
    } finally {
      await encoder.dispose();
    }
  });

  it('reduces with ICA and classifies with the given models', async () => {
    // ICA fitted on the slice features of all three scans, as training would.
    const { unet } = await loadLesionUnet(UNET, undefined);
    const analyses = [];
    for (const s of scans) analyses.push(await analyseScan(s.volume, { unet }));
    unet.dispose();
    const rows = analyses.reduce((n, a) => n + a.keptSlices.length, 0);
    const data = new Float64Array(rows * 1280);
    let at = 0;
    for (const a of analyses) {
      data.set(a.features, at);
      at += a.features.length;
    }
    const ica = fitFastIca({ rows, cols: 1280, data }, { components: 4, seed: 0 });
    const volumetric = fitLogisticRegression(
      { rows: 4, cols: 4, data: [0, 0, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 2, 2, 2, 2] },
      [0, 1, 0, 1],
    );
    const pooling = createSequenceClassifier({ kind: 'pooling', featureSize: 4 });

    const encoder = await createLesionEncoder({
      lesionWeights: null,
      unet: UNET,
      ica,
      severity: { kind: 'volumetric', model: volumetric },
      progression: { kind: 'pooling', classifier: pooling, trainingLog: [] },
    });
    try {
      const before = tf.memory().numTensors;
      const result = await encoder.assess(scans[1]!.volume);
      const steps = result.keptSlices.length;
      expect(result.icaFeatures).toHaveLength(steps * 4);
      const expectedIca = transformIca(ica, { rows: steps, cols: 1280, data: result.features });
      expect(Array.from(result.icaFeatures!)).toEqual(
        Array.from(Float32Array.from(expectedIca.data)),
      );

      const expectedSeverity = predictLogisticRegression(volumetric, {
        rows: 1,
        cols: 4,
        data: result.volumetricFeatures,
      })[0]!;
      expect(Math.abs(result.severityProbability! - expectedSeverity)).toBeLessThan(
        PROBABILITY_TOLERANCE,
      );
      const [expectedProgression] = await pooling.predict({
        features: result.icaFeatures!,
        shape: [1, steps, 4],
      });
      expect(Math.abs(result.progressionProbability! - expectedProgression!)).toBeLessThan(
        PROBABILITY_TOLERANCE,
      );
      expect(result.progressionProbability).toBeGreaterThan(0);
      expect(result.progressionProbability).toBeLessThan(1);

      // Ten more assessments leave no tensor behind.
      for (let i = 0; i < 10; i++) await encoder.assess(scans[i % 3]!.volume);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      await encoder.dispose();
    }
    // The caller's classifier survives the encoder's disposal.
    expect(pooling.model.getWeights()[0]!.isDisposed).toBe(false);
    pooling.dispose();

    // A classifier trained on sequences at twice the scan's slice spacing sees the scan's
    // sequence brought to that spacing.
    const spacing = scans[1]!.volume.geometry.spacingMm[0];
    const coarse = createSequenceClassifier({
      kind: 'rnn',
      featureSize: 4,
      sliceSpacingMm: 2 * spacing,
    });
    const resampling = await createLesionEncoder({
      lesionWeights: null,
      unet: UNET,
      ica,
      severity: { kind: 'rnn', classifier: coarse, trainingLog: [] },
      progression: null,
    });
    try {
      const result = await resampling.assess(scans[1]!.volume);
      const steps = result.keptSlices.length;
      const brought = resampleSequence(result.icaFeatures!, steps, spacing, 2 * spacing);
      expect(brought.steps).toBe(Math.max(1, Math.round(steps / 2)));
      const [expected] = await coarse.predict({
        features: brought.features,
        shape: [1, brought.steps, 4],
      });
      const [unresampled] = await coarse.predict({
        features: result.icaFeatures!,
        shape: [1, steps, 4],
      });
      expect(Math.abs(result.severityProbability! - expected!)).toBeLessThan(PROBABILITY_TOLERANCE);
      expect(Math.abs(expected! - unresampled!)).toBeGreaterThan(PROBABILITY_TOLERANCE);
    } finally {
      await resampling.dispose();
      coarse.dispose();
    }

    // A classifier trained with the lesion shares appended gets this scan's, standardised.
    const scaling = { mean: [0.1, 0.05, 0.01], std: [0.2, 0.1, 0.05] };
    const sharing = createSequenceClassifier({
      kind: 'pooling',
      featureSize: 7,
      lesionShares: scaling,
    });
    const withShares = await createLesionEncoder({
      lesionWeights: null,
      unet: UNET,
      ica,
      severity: { kind: 'pooling', classifier: sharing, trainingLog: [] },
      progression: null,
    });
    try {
      const result = await withShares.assess(scans[1]!.volume);
      const steps = result.keptSlices.length;
      const rows = sliceLesionShares(result);
      const composed = new Float32Array(steps * 7);
      for (let t = 0; t < steps; t++) {
        composed.set(result.icaFeatures!.subarray(t * 4, (t + 1) * 4), t * 7);
        for (let c = 0; c < 3; c++) {
          composed[t * 7 + 4 + c] = (rows[c]![t]! - scaling.mean[c]!) / scaling.std[c]!;
        }
      }
      const [expected] = await sharing.predict({ features: composed, shape: [1, steps, 7] });
      expect(Math.abs(result.severityProbability! - expected!)).toBeLessThan(PROBABILITY_TOLERANCE);
    } finally {
      await withShares.dispose();
      sharing.dispose();
    }
  });

  it('rejects an ICA model of another feature size with SHAPE_MISMATCH', async () => {
    const ica = fitFastIca(
      { rows: 20, cols: 3, data: Float64Array.from({ length: 60 }, (_, i) => Math.sin(i * i)) },
      { components: 2, seed: 0 },
    );
    try {
      await createLesionEncoder({ lesionWeights: null, unet: UNET, ica });
      expect.unreachable('should have thrown');
    } catch (error) {
      expect(isLesionEncError(error) && error.code).toBe('SHAPE_MISMATCH');
    }
  });
});
