// `lesionenc demo`: a synthetic chest CT through every stage that is in place, with its outputs
// written to a folder, and a plain statement of what is not in place yet.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import {
  type BackendName,
  type ClassVolume,
  DISEASE_PRESETS,
  LESION_CLASSES,
  VOLUMETRIC_FEATURE_NAMES,
  createChestPhantom,
  createLabelMap,
  createLesionEncoder,
  encodeOverlayPng,
  evaluateSegmentation,
  initBackend,
  measureLesions,
  writeNifti,
  writeNpy,
} from '@lesionenc/core';

import { writeFileAtomic } from '../files';
import type { CliIo } from '../index';

const USAGE = `Usage:
  lesionenc demo [--out demo-output] [--matrix 128] [--slices 48] [--seed 7] [--backend auto]
                 [--json]

Makes a synthetic chest CT with severe disease and pleural effusion, segments its lungs, runs the
lesion encoder on every kept slice, measures the lesions, and writes the masks, an overlay PNG,
the feature sequence and a report into --out.`;

const f0 = (x: number) => x.toFixed(0);
const f1 = (x: number) => x.toFixed(1);
const sides = (c: ClassVolume) => `${f1(c.rightPercentOfLung)} / ${f1(c.leftPercentOfLung)}`;
const describeDice = (scores: readonly { name: string; dice: number | null }[]) =>
  scores.map((d) => `${d.name} ${d.dice?.toFixed(3) ?? '-'}`).join(', ');

function ms(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

/**
 * Runs the demo.
 *
 * @param args - Command-line arguments after `demo`.
 * @param io - Where text goes.
 * @returns The exit code: 0 done, 2 usage.
 */
export async function runDemo(args: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        out: { type: 'string', default: 'demo-output' },
        matrix: { type: 'string', default: '128' },
        slices: { type: 'string', default: '48' },
        seed: { type: 'string', default: '7' },
        backend: { type: 'string', default: 'auto' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    io.err(`lesionenc demo: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const matrix = Number(values.matrix);
  const slices = Number(values.slices);
  const seed = Number(values.seed);
  if (!Number.isInteger(matrix) || matrix % 32 !== 0 || matrix < 64 || matrix > 512) {
    io.err(
      `lesionenc demo: --matrix expected a multiple of 32 from 64 to 512, got ${values.matrix}`,
    );
    return 2;
  }
  if (!Number.isInteger(slices) || slices < 4 || !Number.isInteger(seed)) {
    io.err(`lesionenc demo: --slices expected an integer >= 4 and --seed an integer`);
    return 2;
  }
  const say = (text: string) => {
    if (!values.json) io.out(text);
  };
  const outDir = resolve(values.out);
  await mkdir(outDir, { recursive: true });

  const backend = await initBackend({ backend: values.backend as BackendName });
  say(`LesionEncoder demo on the ${backend.name} backend${backend.simd === true ? ' (SIMD)' : ''}`);

  // 1. A scan with known truth.
  const started = performance.now();
  const phantom = createChestPhantom({
    seed,
    matrix,
    slices,
    disease: { ...DISEASE_PRESETS.severe, effusion: DISEASE_PRESETS.effusion.effusion },
  });
  const phantomMs = performance.now() - started;
  const truth = phantom.truth;
  const grid = `${slices} x ${matrix} x ${matrix}`;
  say(
    [
      `\n1. synthetic chest CT ${grid} (severe, with effusion), ${ms(phantomMs)} ms`,
      `   truth: lungs ${f0(truth.lungMl)} ml, ` +
        `ground-glass ${f1(truth.groundGlass.volumeMl)} ml, ` +
        `consolidation ${f1(truth.consolidation.volumeMl)} ml, ` +
        `effusion ${f1(truth.pleuralEffusion.volumeMl)} ml`,
    ].join('\n'),
  );

  // 2-3. The pipeline with its embedded defaults: the shipped lesion encoder when there is one.
  const encoder = await createLesionEncoder({ workers: 2 });
  let scan;
  try {
    scan = await encoder.assess(phantom.volume);
  } finally {
    await encoder.dispose();
  }
  const trained = scan.models.lesionWeights !== null;
  const lungReport = evaluateSegmentation([
    { id: 'demo', reference: phantom.lungs, prediction: scan.lungs.labels },
  ]);
  const lungDice = lungReport.aggregate.map((c) => ({ name: c.name, dice: c.meanDice }));
  say(
    `\n2. lung segmentation (weight-free), ${ms(scan.timingsMs.lungmask)} ms\n` +
      `   right ${f0(scan.lungs.rightLungVolumeMl)} ml, left ${f0(scan.lungs.leftLungVolumeMl)} ml; ` +
      `Dice against the truth: ${describeDice(lungDice)}\n` +
      `   ${scan.keptSlices.length} of ${slices} slices hold at least 3 mm2 of lung and are kept`,
  );
  const perSliceMs = scan.timingsMs.encoder / Math.max(1, scan.keptSlices.length);
  const lesionReport = evaluateSegmentation([
    { id: 'demo', reference: phantom.lesions, prediction: scan.lesions },
  ]);
  const lesionDice = lesionReport.aggregate.map((c) => ({ name: c.name, dice: c.meanDice }));
  say(
    `\n3. lesion encoder (EfficientNet-B0 U-Net, two worker threads), ` +
      `${ms(perSliceMs)} ms per slice\n` +
      `   feature sequence [${scan.keptSlices.length}, ${scan.featureSize}]\n` +
      (trained
        ? `   weights: ${scan.models.lesionWeights}\n` +
          `   lesion Dice against the truth: ${describeDice(lesionDice)}`
        : '   No trained lesion weights are installed: this network has its seeded\n' +
          '   initialisation, so its lesion labels mean nothing; the volumetrics below use\n' +
          "   the phantom's true lesions."),
  );

  // 4. Volumetrics: of the encoder's lesions, or of the true ones without trained weights.
  const measured = trained
    ? {
        labels: scan.lesions.data,
        volumetrics: scan.volumetrics,
        volumetricFeatures: scan.volumetricFeatures,
      }
    : measureLesions(phantom.lesions.data, scan.lungs.labels);
  const v = measured.volumetrics;
  const missing = scan.notes.filter((n) => n.startsWith('no ')).join('\n   ');
  say(
    `\n4. volumetrics (% of lung, right / left)${trained ? '' : ' of the true lesions'}\n` +
      `   ground-glass ${sides(v.groundGlass)}, consolidation ${sides(v.consolidation)}, ` +
      `effusion ${f1(v.pleuralEffusion.volumeMl)} ml, ` +
      `total lesion ${f1(v.lesion.percentOfLung)} %`,
  );
  const probability = (p: number | null) => (p === null ? 'not available' : `${f1(100 * p)} %`);
  say(
    `\n5. severity probability ${probability(scan.severityProbability)}, ` +
      `progression probability ${probability(scan.progressionProbability)}\n` +
      (scan.models.shippedModels !== null
        ? '   (the shipped models, trained on synthetic cohorts: research use only)'
        : `   ${missing || 'see report.json'}`),
  );

  // Files: masks on the scan's geometry, an overlay through the most diseased kept slice.
  const lesions = createLabelMap(measured.labels, phantom.volume.geometry, LESION_CLASSES);
  const plane = matrix * matrix;
  let bestSlice = scan.keptSlices[0] ?? 0;
  let bestCount = -1;
  for (const k of scan.keptSlices) {
    let count = 0;
    for (let n = k * plane; n < (k + 1) * plane; n++) if (lesions.data[n] !== 0) count++;
    if (count > bestCount) [bestSlice, bestCount] = [k, count];
  }
  const files = {
    ct: join(outDir, 'ct.nii.gz'),
    lungs: join(outDir, 'lungs.nii.gz'),
    lesions: join(outDir, 'lesions.nii.gz'),
    overlay: join(outDir, 'overlay.png'),
    features: join(outDir, 'features.npy'),
    report: join(outDir, 'report.json'),
  };
  await writeNifti(files.ct, phantom.volume);
  await writeNifti(files.lungs, scan.lungs.labels);
  await writeNifti(files.lesions, lesions);
  await writeFileAtomic(
    files.overlay,
    await encodeOverlayPng(phantom.volume, lesions, { slice: bestSlice }),
  );
  await writeNpy(files.features, {
    data: scan.features,
    shape: [scan.keptSlices.length, scan.featureSize],
  });
  const report = {
    backend: backend.name,
    scan: { shape: phantom.volume.geometry.shape, spacingMm: phantom.volume.geometry.spacingMm },
    truth: {
      lungVolumeMl: truth.lungMl,
      groundGlassMl: truth.groundGlass.volumeMl,
      consolidationMl: truth.consolidation.volumeMl,
      pleuralEffusionMl: truth.pleuralEffusion.volumeMl,
    },
    lungs: {
      rightLungVolumeMl: scan.lungs.rightLungVolumeMl,
      leftLungVolumeMl: scan.lungs.leftLungVolumeMl,
      dice: lungDice,
      keptSlices: scan.keptSlices,
    },
    encoder: {
      weights: scan.models.lesionWeights ?? 'seeded initialisation (no trained weights installed)',
      featureShape: [scan.keptSlices.length, scan.featureSize],
      msPerSlice: perSliceMs,
      lesionDice: trained ? lesionDice : null,
    },
    severityProbability: scan.severityProbability,
    progressionProbability: scan.progressionProbability,
    notes: scan.notes,
    volumetrics: v,
    volumetricFeatures: Object.fromEntries(
      VOLUMETRIC_FEATURE_NAMES.map((name, i) => [name, measured.volumetricFeatures[i]]),
    ),
    timingsMs: { phantom: phantomMs, ...scan.timingsMs },
    files,
  };
  await writeFileAtomic(files.report, `${JSON.stringify(report, null, 2)}\n`);

  if (values.json) {
    io.out(JSON.stringify(report, null, 2));
    return 0;
  }
  say(`\nWrote ${Object.values(files).join('\n      ')}`);
  if (scan.models.progression === null) {
    say(
      '\nNot shipped yet: an ICA model and a progression classifier good enough to be worth\n' +
        'using. With your own (lesionenc assess --ica --severity --progression, from\n' +
        'lesionenc experiment --save-models) the pipeline gives the progression probability too.',
    );
  }
  return 0;
}
