// Tests of writeCohort on a tiny cohort: files, manifests, geometry and masks read back.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ProgressEvent, isLesionEncError } from '@lesionenc/base';
import { readNifti, readNiftiLabels } from '@lesionenc/io';

import { HOSPITAL_PROFILES, simulateCohort } from './cohort';
import { COHORT_MANIFEST_COLUMNS, type CohortWriteResult, writeCohort } from './cohort-writer';

/** Two patients of three scans each (two acquisitions), 64 x 64 x 32 voxels. */
const cohort = simulateCohort({
  seed: 21,
  patients: 2,
  matrix: 64,
  profile: { ...HOSPITAL_PROFILES.A, sliceSpacingMm: 10, scansPerPatient: [0, 0, 1] },
});
/** Manifest volumes are rounded to 0.01 ml (lung) and 0.001 ml (lesions). */
const MANIFEST_ROUNDING_ML = 0.01;

let outDir = '';
let result: CohortWriteResult;
const events: ProgressEvent[] = [];

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'lesionenc-cohort-'));
  result = await writeCohort(cohort, outDir, { onProgress: (e) => events.push(e) });
});

afterAll(async () => {
  if (outDir !== '') await rm(outDir, { recursive: true, force: true });
});

describe('writeCohort', () => {
  it('writes one row and three NIfTI files per scan, and both manifests', async () => {
    expect(cohort.scans).toHaveLength(6);
    expect(result.rows.map((r) => r.scan)).toEqual(cohort.scans.map((s) => s.scanId));
    for (const row of result.rows) {
      for (const file of [row.file, row.lungFile, row.lesionFile]) {
        expect(existsSync(join(outDir, file)), file).toBe(true);
      }
    }

    const csv = (await readFile(result.manifestCsv, 'utf8')).trim().split('\n');
    expect(csv[0]).toBe(COHORT_MANIFEST_COLUMNS.join(','));
    expect(csv).toHaveLength(1 + result.rows.length);
    expect(csv[1]?.split(',')).toEqual(
      COHORT_MANIFEST_COLUMNS.map((c) => String(result.rows[0]?.[c])),
    );

    const json = JSON.parse(await readFile(result.manifestJson, 'utf8')) as {
      config: { seed: number; patients: number };
      patients: { patient: string; severe: boolean; converter: boolean; scans: string[] }[];
      scans: unknown[];
    };
    expect(json.config).toMatchObject({ seed: 21, patients: 2 });
    expect(json.scans).toEqual(result.rows);
    expect(json.patients.map((p) => p.patient)).toEqual(['A-P001', 'A-P002']);
    for (const [i, patient] of cohort.patients.entries()) {
      expect(json.patients[i]).toMatchObject({
        severe: patient.severe,
        converter: patient.converter,
        scans: patient.scans.map((s) => s.scanId),
      });
    }
    for (const row of result.rows) {
      const patient = cohort.patients.find((p) => p.patientId === row.patient);
      expect(row.severe).toBe(patient?.severe === true ? 1 : 0);
      expect(row.converter).toBe(patient?.converter === true ? 1 : 0);
    }
  });

  it('reads back with the configured geometry, and masks that match the manifest volumes', async () => {
    const profile = cohort.profile;
    for (const row of result.rows) {
      const ct = await readNifti(join(outDir, row.file));
      const lungs = await readNiftiLabels(join(outDir, row.lungFile));
      const lesions = await readNiftiLabels(join(outDir, row.lesionFile));
      expect(ct.geometry.shape).toEqual([32, 64, 64]);
      expect(ct.geometry.spacingMm[0]).toBeCloseTo(profile.sliceSpacingMm, 4);
      expect(ct.geometry.spacingMm[1]).toBeCloseTo(profile.fieldOfViewMm / 64, 4);
      expect(ct.geometry.spacingMm[2]).toBeCloseTo(profile.fieldOfViewMm / 64, 4);
      for (const mask of [lungs, lesions]) {
        expect(mask.geometry.shape).toEqual(ct.geometry.shape);
        for (let a = 0; a < 3; a++) {
          expect(mask.geometry.spacingMm[a]).toBeCloseTo(ct.geometry.spacingMm[a] as number, 6);
          expect(mask.geometry.originMm[a]).toBeCloseTo(ct.geometry.originMm[a] as number, 4);
        }
      }

      const voxelMl = ct.geometry.spacingMm.reduce((a, b) => a * b, 1) / 1000;
      const count = (data: ArrayLike<number>, keep: (x: number) => boolean) => {
        let n = 0;
        for (let v = 0; v < data.length; v++) if (keep(data[v] as number)) n++;
        return n;
      };
      expect(count(lungs.data, (x) => x > 2)).toBe(0);
      expect(count(lesions.data, (x) => x > 3)).toBe(0);
      const lungMl = count(lungs.data, (x) => x > 0) * voxelMl;
      expect(Math.abs(lungMl - row.lungMl)).toBeLessThan(MANIFEST_ROUNDING_ML);
      const groundGlassMl = count(lesions.data, (x) => x === 1) * voxelMl;
      expect(Math.abs(groundGlassMl - row.groundGlassMl)).toBeLessThan(MANIFEST_ROUNDING_ML);
      const consolidationMl = count(lesions.data, (x) => x === 2) * voxelMl;
      expect(Math.abs(consolidationMl - row.consolidationMl)).toBeLessThan(MANIFEST_ROUNDING_ML);
      expect(lungMl).toBeGreaterThan(1000);
    }
  });

  it('shares masks between the two reconstructions of an acquisition, not their voxels', async () => {
    const [s1, s2, s3] = result.rows;
    // Compare decoded voxels: the gzip headers of two writes need not match byte for byte.
    const labels = async (file: string | undefined) =>
      Buffer.from((await readNiftiLabels(join(outDir, file ?? ''))).data);
    const voxels = async (file: string | undefined) =>
      Buffer.from((await readNifti(join(outDir, file ?? ''))).data.buffer);
    expect((await labels(s1?.lungFile)).equals(await labels(s2?.lungFile))).toBe(true);
    expect((await labels(s1?.lesionFile)).equals(await labels(s2?.lesionFile))).toBe(true);
    expect((await voxels(s1?.file)).equals(await voxels(s2?.file))).toBe(false);
    // The repeat acquisition is shifted, so its masks differ.
    expect((await labels(s1?.lungFile)).equals(await labels(s3?.lungFile))).toBe(false);
    expect(s1?.reconstruction).not.toBe(s2?.reconstruction);
  });

  it('reports progress per scan in stage synth', () => {
    expect(events.every((e) => e.stage === 'synth')).toBe(true);
    expect(events[0]?.status).toBe('start');
    expect(events.at(-1)).toMatchObject({ status: 'done', fraction: 1 });
    expect(events.filter((e) => e.status === 'progress')).toHaveLength(6);
  });

  it('stops with ABORTED when the signal has fired', async () => {
    const controller = new AbortController();
    controller.abort();
    const dir = join(outDir, 'aborted');
    const error = await writeCohort(cohort, dir, { signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    expect(isLesionEncError(error, 'ABORTED')).toBe(true);
    expect(existsSync(join(dir, 'manifest.csv'))).toBe(false);
  });
});
