// The experiment runner on small encoded cohorts made in code, where severity shows in both the
// slice features and the volumetrics, and conversion in the slice features only.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { isLesionEncError } from '@lesionenc/base';
import { transformIca } from '@lesionenc/ica';
import { readNpy } from '@lesionenc/io';
import { aggregateByPatient, rocAuc } from '@lesionenc/metrics';
import { predictLogisticRegression } from '@lesionenc/sequence-classifier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from './backend';
import { runExperiment } from './experiment';
import { loadIcaModel, loadScanClassifier } from './internal/models';
import { writeEncodedCohort } from './testing/encoded-cohort';

/** The parts of an encoded cohort's index.json these tests read. */
interface EncodedIndex {
  scans: {
    patient: string;
    features: string;
    featureSize: number;
    keptSlices: number[];
    volumetricFeatures: number[];
    columns: Record<string, number>;
  }[];
}

const directory = mkdtempSync(join(tmpdir(), 'lesionenc-experiment-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

async function encodedCohort(name: string, patients: number, seed: number): Promise<string> {
  return writeEncodedCohort(join(directory, name), patients, seed);
}

describe('runExperiment', () => {
  let train: string;
  let test: string;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    train = await encodedCohort('A', 60, 1);
    test = await encodedCohort('B', 40, 2);
  });

  it('trains five methods per task, scores patients and writes the report folder', async () => {
    const out = join(directory, 'report');
    const result = await runExperiment({
      trainIndex: train,
      testIndex: test,
      genericTrainIndex: train,
      genericTestIndex: test,
      icaComponents: 4,
      epochs: 40,
      bootstrap: 200,
      outDir: out,
      modelsDir: join(out, 'models'),
    });
    for (const task of ['severity', 'progression'] as const) {
      const methods = Object.keys(result[task]!).sort();
      expect(methods).toEqual(['BS_Pooling', 'BS_RNN', 'BS_Volumetric', 'LE_Pooling', 'LE_RNN']);
      for (const r of Object.values(result[task]!)) {
        expect(r.auc).toBeGreaterThanOrEqual(0);
        expect(r.auc).toBeLessThanOrEqual(1);
        expect(r.ci95!.auc[0]).toBeLessThanOrEqual(r.ci95!.auc[1]);
      }
      expect(result[task]!.LE_RNN!.pValueVsLeRnn).toBeNull();
      expect(result[task]!.LE_Pooling!.pValueVsLeRnn).toBeGreaterThan(0);
      for (const file of [`${task}.json`, `${task}.md`, `${task}.html`, `${task}-roc.svg`]) {
        expect(readFileSync(join(out, file), 'utf8').length).toBeGreaterThan(100);
      }
      expect(
        readFileSync(join(out, `${task}-roc.svg`), 'utf8').match(/<path/g)!.length,
      ).toBeGreaterThanOrEqual(5);
    }
    // Per patient: 40 test patients for severity; the 28 not severe for progression.
    expect(result.severity!.LE_RNN!.patients).toBe(40);
    expect(result.severity!.LE_RNN!.positives).toBe(12);
    expect(result.progression!.LE_RNN!.patients).toBe(28);
    expect(result.progression!.LE_RNN!.positives).toBe(12);
    // Severity shows in the volumetrics; conversion does not.
    expect(result.severity!.BS_Volumetric!.auc).toBeGreaterThan(0.9);
    expect(result.severity!.LE_Pooling!.auc).toBeGreaterThan(0.8);
    expect(result.progression!.LE_Pooling!.auc).toBeGreaterThan(0.9);
    expect(result.progression!.BS_Volumetric!.auc).toBeLessThan(0.8);
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))).toEqual(
      JSON.parse(JSON.stringify(result)),
    );

    // The saved models: the shared ICA and each task's LE_RNN, which scores the test scans as
    // the experiment did (same patient-level AUC).
    const models = join(out, 'models');
    const described = JSON.parse(readFileSync(join(models, 'models.json'), 'utf8')) as {
      tasks: Record<string, { method: string; test: { auc: number } }>;
      volumetric: Record<string, unknown>;
    };
    const ica = await loadIcaModel(join(models, 'ica.json'));
    expect(ica.nComponents).toBe(4);
    for (const task of ['severity', 'progression'] as const) {
      expect(described.tasks[task]!.method).toBe('LE_RNN');
      expect(described.tasks[task]!.test.auc).toBe(result[task]!.LE_RNN!.auc);
      const classifier = await loadScanClassifier(join(models, task));
      expect(classifier.kind).toBe('rnn');
      const index = JSON.parse(readFileSync(test, 'utf8')) as EncodedIndex;
      const labels: number[] = [];
      const scores: number[] = [];
      const patients: string[] = [];
      for (const scan of index.scans) {
        if (task === 'progression' && scan.columns.severe === 1) continue;
        const features = await readNpy(join(dirname(test), scan.features));
        const steps = scan.keptSlices.length;
        const reduced = transformIca(ica, {
          rows: steps,
          cols: scan.featureSize,
          data: Float32Array.from(features.data as ArrayLike<number>),
        });
        if (classifier.kind === 'volumetric') throw new Error('expected a sequence classifier');
        const [p] = await classifier.classifier.predict({
          features: Float32Array.from(reduced.data),
          shape: [1, steps, ica.nComponents],
        });
        labels.push(task === 'severity' ? scan.columns.severe! : scan.columns.converter!);
        scores.push(p!);
        patients.push(scan.patient);
      }
      const perPatient = aggregateByPatient(labels, scores, patients);
      expect(rocAuc(perPatient.labels, perPatient.scores)).toBeCloseTo(
        result[task]!.LE_RNN!.auc,
        3,
      );
      if (classifier.kind !== 'volumetric') classifier.classifier.dispose();

      // The volumetric baseline, saved beside it, gives the same patient scores as the run.
      const volumetric = await loadScanClassifier(join(models, `${task}-volumetric`));
      if (volumetric.kind !== 'volumetric') throw new Error('expected a volumetric model');
      const rows = index.scans.filter((s) => task === 'severity' || s.columns.severe !== 1);
      const volumetricScores = predictLogisticRegression(volumetric.model, {
        rows: rows.length,
        cols: 4,
        data: rows.flatMap((s) => s.volumetricFeatures),
      });
      const volumetricPatients = aggregateByPatient(
        rows.map((s) => (task === 'severity' ? s.columns.severe! : s.columns.converter!)),
        Array.from(volumetricScores),
        rows.map((s) => s.patient),
      );
      expect(rocAuc(volumetricPatients.labels, volumetricPatients.scores)).toBeCloseTo(
        result[task]!.BS_Volumetric!.auc,
        6,
      );
      expect(described.volumetric[task]).toMatchObject({
        folder: `${task}-volumetric`,
        method: 'BS_Volumetric',
        test: { auc: result[task]!.BS_Volumetric!.auc, patients: perPatient.labels.length },
      });
    }
  });

  it('leaves out the generic methods without generic features, and rejects a bad index', async () => {
    const result = await runExperiment({
      trainIndex: train,
      testIndex: test,
      tasks: ['severity'],
      icaComponents: 4,
      epochs: 2,
      bootstrap: 50,
      outDir: join(directory, 'le-only'),
    });
    expect(Object.keys(result.severity!).sort()).toEqual(['BS_Volumetric', 'LE_Pooling', 'LE_RNN']);
    expect(result.progression).toBeUndefined();
    try {
      await runExperiment({
        trainIndex: join(directory, 'none.json'),
        testIndex: test,
        outDir: directory,
      });
      expect.unreachable('should have thrown');
    } catch (error) {
      expect(isLesionEncError(error) && error.code).toBe('FILE_NOT_FOUND');
    }
    // A features-only encoding has no lesion labels, so it cannot stand for the lesion encoder.
    const featuresOnly = join(directory, 'B', 'features-only.json');
    const index = JSON.parse(readFileSync(test, 'utf8')) as Record<string, unknown>;
    writeFileSync(featuresOnly, JSON.stringify({ ...index, featuresOnly: true }));
    const refused = await runExperiment({
      trainIndex: train,
      testIndex: featuresOnly,
      tasks: ['severity'],
      outDir: join(directory, 'refused'),
    }).catch((error: unknown) => error);
    expect(isLesionEncError(refused) && refused.code).toBe('INVALID_ARGUMENT');
    expect((refused as Error).message).toMatch(/features-only/);
  });

  it('brings hospitals scanned at other slice spacings to the training spacing', async () => {
    // Training hospital at 5 mm; test hospital at 2.5 mm, twice the slices per scan.
    const fine = await writeEncodedCohort(join(directory, 'fine'), 30, 3, 3, {
      sliceSpacingMm: 2.5,
      stepsFactor: 2,
    });
    const coarse = await writeEncodedCohort(join(directory, 'coarse'), 40, 4, 3, {
      sliceSpacingMm: 5,
    });
    const out = join(directory, 'spacing');
    const result = await runExperiment({
      trainIndex: coarse,
      testIndex: fine,
      tasks: ['severity'],
      icaComponents: 4,
      epochs: 5,
      bootstrap: 50,
      outDir: out,
      modelsDir: join(out, 'models'),
    });
    const described = JSON.parse(readFileSync(join(out, 'models', 'models.json'), 'utf8')) as {
      tasks: { severity: { sliceSpacingMm: number | null } };
    };
    expect(described.tasks.severity.sliceSpacingMm).toBe(5);
    const classifier = await loadScanClassifier(join(out, 'models', 'severity'));
    if (classifier.kind === 'volumetric') throw new Error('expected a sequence classifier');
    expect(classifier.classifier.config.sliceSpacingMm).toBe(5);
    // The experiment's LE_RNN scores are those of the test scans averaged in pairs of slices.
    const ica = await loadIcaModel(join(out, 'models', 'ica.json'));
    const index = JSON.parse(readFileSync(fine, 'utf8')) as EncodedIndex;
    const labels: number[] = [];
    const scores: number[] = [];
    const patients: string[] = [];
    for (const scan of index.scans) {
      const features = await readNpy(join(dirname(fine), scan.features));
      const steps = scan.keptSlices.length;
      const reduced = transformIca(ica, {
        rows: steps,
        cols: 12,
        data: Float32Array.from(features.data as ArrayLike<number>),
      }).data;
      const pairs = new Float32Array((steps / 2) * ica.nComponents);
      for (let t = 0; t < steps / 2; t++) {
        for (let c = 0; c < ica.nComponents; c++) {
          const a = reduced[2 * t * ica.nComponents + c]!;
          const b = reduced[(2 * t + 1) * ica.nComponents + c]!;
          pairs[t * ica.nComponents + c] = (a + b) / 2;
        }
      }
      const [p] = await classifier.classifier.predict({
        features: pairs,
        shape: [1, steps / 2, ica.nComponents],
      });
      labels.push(scan.columns.severe!);
      scores.push(p!);
      patients.push(scan.patient);
    }
    const perPatient = aggregateByPatient(labels, scores, patients);
    expect(rocAuc(perPatient.labels, perPatient.scores)).toBeCloseTo(
      result.severity!.LE_RNN!.auc,
      6,
    );
    classifier.classifier.dispose();

    // Left as they are when asked: the classifier records no spacing.
    const asIs = join(directory, 'spacing-none');
    await runExperiment({
      trainIndex: coarse,
      testIndex: fine,
      tasks: ['severity'],
      icaComponents: 4,
      epochs: 2,
      bootstrap: 50,
      sliceSpacingMm: null,
      outDir: asIs,
      modelsDir: join(asIs, 'models'),
    });
    const untouched = await loadScanClassifier(join(asIs, 'models', 'severity'));
    if (untouched.kind === 'volumetric') throw new Error('expected a sequence classifier');
    expect(untouched.classifier.config.sliceSpacingMm).toBeNull();
    untouched.classifier.dispose();
  });

  it('appends the per-slice lesion shares when asked, and needs them recorded', async () => {
    const withShares = await writeEncodedCohort(join(directory, 'shares-A'), 40, 5, 0, {
      lesionShares: true,
    });
    const testShares = await writeEncodedCohort(join(directory, 'shares-B'), 30, 6, 0, {
      lesionShares: true,
    });
    const out = join(directory, 'shares');
    const result = await runExperiment({
      trainIndex: withShares,
      testIndex: testShares,
      tasks: ['severity'],
      icaComponents: 4,
      epochs: 30,
      bootstrap: 50,
      sliceLesionShares: true,
      outDir: out,
      modelsDir: join(out, 'models'),
    });
    // The features carry no signal (shift 0); the shares do.
    expect(result.severity!.LE_Pooling!.auc).toBeGreaterThan(0.9);
    const classifier = await loadScanClassifier(join(out, 'models', 'severity'));
    if (classifier.kind === 'volumetric') throw new Error('expected a sequence classifier');
    const { featureSize, lesionShares } = classifier.classifier.config;
    expect(featureSize).toBe(7);
    expect(lesionShares!.mean[0]).toBeGreaterThan(0.1);
    expect(lesionShares!.mean[0]).toBeLessThan(0.3);
    expect(lesionShares!.std.every((v) => v > 0)).toBe(true);
    classifier.classifier.dispose();

    const refused = await runExperiment({
      trainIndex: withShares,
      testIndex: test,
      tasks: ['severity'],
      icaComponents: 4,
      epochs: 1,
      sliceLesionShares: true,
      outDir: join(directory, 'shares-refused'),
    }).catch((error: unknown) => error);
    expect(isLesionEncError(refused) && refused.code).toBe('INVALID_ARGUMENT');
    expect((refused as Error).message).toMatch(/lesion shares/);
  });
});
