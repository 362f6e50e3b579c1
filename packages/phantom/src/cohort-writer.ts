// Writes a simulated cohort to a folder: NIfTI scans with their masks, and a manifest in CSV and JSON (Node).
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  type LongTaskOptions,
  LesionEncError,
  createStageReporter,
  throwIfAborted,
} from '@lesionenc/base';
import { writeNifti } from '@lesionenc/io';

import type { Cohort, CohortPatient, CohortScan } from './cohort';
import {
  type ChestPhantom,
  type PhantomTruth,
  createChestPhantom,
  reconstructChestPhantom,
} from './phantom';

/** One row of the cohort manifest. Paths are relative to the cohort folder. */
export interface CohortManifestRow {
  readonly patient: string;
  readonly scan: string;
  /** The CT volume, `<patient>/<scan>_ct.nii.gz`. */
  readonly file: string;
  /** Lung label map (1 right, 2 left), `<patient>/<scan>_lung.nii.gz`. */
  readonly lungFile: string;
  /** Lesion label map (1 ground-glass, 2 consolidation, 3 effusion), `<patient>/<scan>_lesion.nii.gz`. */
  readonly lesionFile: string;
  readonly reconstruction: string;
  readonly hospital: string;
  /** Severity label, 1 severe. */
  readonly severe: 0 | 1;
  /** Progression label, 1 when a mild patient converts to severe. */
  readonly converter: 0 | 1;
  readonly lungMl: number;
  readonly groundGlassMl: number;
  readonly consolidationMl: number;
  readonly effusionMl: number;
  readonly lesionPercentOfLung: number;
  readonly groundGlassPercentOfLung: number;
  readonly consolidationPercentOfLung: number;
  readonly consolidationShare: number;
  readonly crazyPavingMl: number;
}

/** The columns of `manifest.csv`, in order. */
export const COHORT_MANIFEST_COLUMNS: readonly (keyof CohortManifestRow)[] = Object.freeze([
  'patient',
  'scan',
  'file',
  'lungFile',
  'lesionFile',
  'reconstruction',
  'hospital',
  'severe',
  'converter',
  'lungMl',
  'groundGlassMl',
  'consolidationMl',
  'effusionMl',
  'lesionPercentOfLung',
  'groundGlassPercentOfLung',
  'consolidationPercentOfLung',
  'consolidationShare',
  'crazyPavingMl',
]);

/** What {@link writeCohort} returns. */
export interface CohortWriteResult {
  readonly rows: readonly CohortManifestRow[];
  /** Absolute paths of the two manifests. */
  readonly manifestCsv: string;
  readonly manifestJson: string;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function manifestRow(
  patient: CohortPatient,
  scan: CohortScan,
  truth: PhantomTruth,
): CohortManifestRow {
  const base = `${patient.patientId}/${scan.scanId}`;
  return {
    patient: patient.patientId,
    scan: scan.scanId,
    file: `${base}_ct.nii.gz`,
    lungFile: `${base}_lung.nii.gz`,
    lesionFile: `${base}_lesion.nii.gz`,
    reconstruction: scan.reconstruction,
    hospital: patient.hospital,
    severe: patient.severe ? 1 : 0,
    converter: patient.converter ? 1 : 0,
    lungMl: round(truth.lungMl, 2),
    groundGlassMl: round(truth.groundGlass.volumeMl, 3),
    consolidationMl: round(truth.consolidation.volumeMl, 3),
    effusionMl: round(truth.pleuralEffusion.volumeMl, 3),
    lesionPercentOfLung: round(truth.lesion.percentOfLung, 4),
    groundGlassPercentOfLung: round(truth.groundGlass.percentOfLung, 4),
    consolidationPercentOfLung: round(truth.consolidation.percentOfLung, 4),
    consolidationShare: round(truth.consolidationShare, 4),
    crazyPavingMl: round(truth.crazyPavingMl, 3),
  };
}

/**
 * Renders every scan of a cohort and writes it, scan by scan, with its masks beside it:
 * `<out>/<patient>/<scan>_ct.nii.gz`, `_lung.nii.gz`, `_lesion.nii.gz`, then `manifest.csv` and
 * `manifest.json` (configuration, hospital profile, patients with latent variables and labels,
 * and the rows). The two reconstructions of one acquisition are drawn once and share masks.
 * Every file is written to a temporary name and renamed, so an interrupted run leaves whole
 * files only, and the manifests are written last.
 *
 * @param cohort - From {@link simulateCohort}.
 * @param outDir - The folder; created when missing.
 * @param options - `onProgress` (stage `synth`, one step per scan) and `signal`.
 * @returns The manifest rows and paths.
 * @throws {@link LesionEncError} `ABORTED` when the signal fires; `INVALID_ARGUMENT` when the
 * folder cannot be written.
 */
export async function writeCohort(
  cohort: Cohort,
  outDir: string,
  options: LongTaskOptions = {},
): Promise<CohortWriteResult> {
  const reporter = createStageReporter('synth', cohort.scans.length, options.onProgress);
  reporter.start();
  const rows: CohortManifestRow[] = [];
  try {
    await mkdir(outDir, { recursive: true });
  } catch (cause) {
    throw new LesionEncError('INVALID_ARGUMENT', `cohort folder: cannot create it`, {
      file: outDir,
      cause,
    });
  }
  for (const patient of cohort.patients) {
    await mkdir(join(outDir, patient.patientId), { recursive: true });
    let drawn: { acquisition: number; phantom: ChestPhantom } | undefined;
    for (const scan of patient.scans) {
      throwIfAborted(options.signal, 'write cohort');
      if (drawn === undefined || drawn.acquisition !== scan.acquisition) {
        drawn = { acquisition: scan.acquisition, phantom: createChestPhantom(scan.phantom) };
      }
      const { phantom } = drawn;
      const volume =
        phantom.config.noiseSeed === scan.phantom.noiseSeed &&
        phantom.config.reconstruction === scan.reconstruction
          ? phantom.volume
          : reconstructChestPhantom(phantom, scan.reconstruction, {
              noiseSeed: scan.phantom.noiseSeed ?? scan.phantom.seed,
            });
      const row = manifestRow(patient, scan, phantom.truth);
      await writeNifti(join(outDir, row.file), volume);
      await writeNifti(join(outDir, row.lungFile), phantom.lungs);
      await writeNifti(join(outDir, row.lesionFile), phantom.lesions);
      rows.push(row);
      reporter.step(scan.scanId);
      // Yield between scans so progress bars repaint and aborts are seen.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  const manifestCsv = join(outDir, 'manifest.csv');
  const manifestJson = join(outDir, 'manifest.json');
  const csv = [
    COHORT_MANIFEST_COLUMNS.join(','),
    ...rows.map((row) => COHORT_MANIFEST_COLUMNS.map((c) => String(row[c])).join(',')),
  ].join('\n');
  const json = {
    generator: '@lesionenc/phantom',
    config: cohort.config,
    profile: cohort.profile,
    patients: cohort.patients.map((p) => ({
      patient: p.patientId,
      hospital: p.hospital,
      severe: p.severe,
      converter: p.converter,
      latent: p.latent,
      disease: p.disease,
      anatomy: p.anatomy,
      scans: p.scans.map((s) => s.scanId),
    })),
    scans: rows,
  };
  await writeTextAtomic(manifestCsv, `${csv}\n`);
  await writeTextAtomic(manifestJson, `${JSON.stringify(json, null, 2)}\n`);
  reporter.done();
  return { rows, manifestCsv, manifestJson };
}

async function writeTextAtomic(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, 'utf8');
  await rename(temporary, path);
}
