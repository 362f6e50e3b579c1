// The paper's study on synthetic data: two hospitals with different scanners, every scan through
// the lesion encoder, then severity and progression classifiers trained on hospital A and
// evaluated per patient on hospital B, against the volumetric baseline.
// Run: `npm start -w @lesionenc/example-severity-study [-- --patients 10 --epochs 20]`
// (after `npm run build` at the repository root).
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import {
  type ExperimentMethod,
  type ExperimentResult,
  type HospitalName,
  type ProgressEvent,
  HOSPITAL_PROFILES,
  createLesionEncoder,
  encodeCohort,
  initBackend,
  runExperiment,
  simulateCohort,
  writeCohort,
} from '@lesionenc/core';

const { values } = parseArgs({
  options: {
    patients: { type: 'string', default: '10' },
    matrix: { type: 'string', default: '64' },
    'scan-length-mm': { type: 'string', default: '160' },
    severe: { type: 'string', default: '0.3' },
    converters: { type: 'string', default: '0.25' },
    epochs: { type: 'string', default: '20' },
    components: { type: 'string', default: '8' },
    bootstrap: { type: 'string', default: '200' },
    workers: { type: 'string', default: '2' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string', default: 'severity-study-output' },
  },
});
const count = (name: keyof typeof values) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive integer`);
  return n;
};
const share = (name: 'severe' | 'converters') => {
  const p = Number(values[name]);
  if (!(p > 0 && p < 1)) throw new Error(`--${name}: expected a share between 0 and 1`);
  return p;
};
const outDir = resolve(values.out);
const seed = Number(values.seed);

/** Prints a stage's progress on one line, for stages that report counts. */
function progressLine(label: string) {
  return (event: ProgressEvent) => {
    if (event.total === undefined || event.completed === undefined) return;
    process.stdout.write(`\r  ${label}: ${event.completed}/${event.total}   `);
    if (event.status === 'done') process.stdout.write('\n');
  };
}

const backend = await initBackend({ backend: 'wasm' });
console.log(`backend: ${backend.name}`);
const started = performance.now();
const seconds = () => ((performance.now() - started) / 1000).toFixed(0);

// 1. Two hospitals. The study is about the change of scanner between them: A has 5 mm slices and
// mostly sharp (lung) reconstructions, B 2.5 mm slices, more noise and mostly soft ones. Only the
// scan length is cut (to the middle of the chest) to keep the run short; prevalences are raised
// so that a small cohort has patients of both classes in each task.
const manifests = {} as Record<HospitalName, string>;
for (const hospital of ['A', 'B'] as const) {
  const cohort = simulateCohort({
    seed: seed + (hospital === 'A' ? 0 : 1),
    hospital,
    patients: count('patients'),
    matrix: count('matrix'),
    severePrevalence: share('severe'),
    converterPrevalence: share('converters'),
    profile: { ...HOSPITAL_PROFILES[hospital], scanLengthMm: count('scan-length-mm') },
  });
  const severe = cohort.patients.filter((p) => p.severe).length;
  const converters = cohort.patients.filter((p) => p.converter).length;
  const scans = cohort.patients.reduce((n, p) => n + p.scans.length, 0);
  console.log(
    `hospital ${hospital}: ${cohort.patients.length} patients (${severe} severe, ` +
      `${converters} mild who turn severe), ${scans} scans`,
  );
  const written = await writeCohort(cohort, join(outDir, 'cohorts', hospital), {
    onProgress: progressLine(`drawing hospital ${hospital}`),
  });
  manifests[hospital] = written.manifestJson;
}

// 2. Every scan through the shipped lesion encoder: lung mask, one feature vector per kept slice,
// lesion volumes. Resumable: a second run skips the scans already encoded.
const encoder = await createLesionEncoder({ workers: count('workers') });
const indexes = {} as Record<HospitalName, string>;
try {
  for (const hospital of ['A', 'B'] as const) {
    const result = await encodeCohort(manifests[hospital], {
      encoder,
      outDir: join(outDir, 'encoded', hospital),
      onProgress: progressLine(`encoding hospital ${hospital}`),
    });
    if (result.failed.length > 0) {
      throw new Error(`hospital ${hospital}: ${result.failed.length} scans failed to encode`);
    }
    indexes[hospital] = result.index;
  }
} finally {
  await encoder.dispose();
}
console.log(`encoded both hospitals (${seconds()} s)`);

// 3. Train on A (ICA fitted on A's slices only), test on B, per patient: the highest scan
// probability of a patient is the patient's. Reports with intervals go to `report/`.
const result: ExperimentResult = await runExperiment(
  {
    trainIndex: indexes.A,
    testIndex: indexes.B,
    tasks: ['severity', 'progression'],
    icaComponents: count('components'),
    epochs: count('epochs'),
    bootstrap: count('bootstrap'),
    seed,
    outDir: join(outDir, 'report'),
  },
  { onProgress: progressLine('training') },
);

// 4. The table (the paper's Tables 4 and 5, on synthetic data).
const rows: string[] = [
  '| task | method | AUC [95 % CI] | sensitivity | specificity | accuracy | patients (positive) |',
  '| --- | --- | --- | ---: | ---: | ---: | ---: |',
];
for (const [task, methods] of Object.entries(result)) {
  for (const [method, r] of Object.entries(methods ?? {}) as [
    ExperimentMethod,
    NonNullable<(typeof methods & object)[ExperimentMethod]>,
  ][]) {
    const ci = r.ci95 === null ? '' : ` [${r.ci95.auc.map((v) => v.toFixed(2)).join(', ')}]`;
    rows.push(
      `| ${task} | ${method} | ${r.auc.toFixed(3)}${ci} | ${r.sensitivity.toFixed(3)} | ` +
        `${r.specificity.toFixed(3)} | ${r.accuracy.toFixed(3)} | ${r.patients} (${r.positives}) |`,
    );
  }
}
console.log(`\n${rows.join('\n')}\n`);
console.log(`reports in ${join(outDir, 'report')} (${seconds()} s in all)`);
