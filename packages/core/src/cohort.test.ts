// Cohort encoding on a tiny synthetic cohort: outputs per scan, the table, resume, failures.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { isLesionEncError } from '@lesionenc/base';
import { readNpy } from '@lesionenc/io';
import { simulateCohort, writeCohort } from '@lesionenc/phantom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type LesionEncoder, createLesionEncoder } from './assess';
import { initBackend } from './backend';
import { sliceLesionShares, sliceLungAreasMm2 } from './analyse';
import { encodeCohort, readCohortManifest } from './cohort';

const directory = mkdtempSync(join(tmpdir(), 'lesionenc-cohort-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('encodeCohort', () => {
  let encoder: LesionEncoder;
  let manifest: string;
  let scanCount: number;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    const cohort = simulateCohort({ seed: 3, patients: 2, matrix: 64 });
    const written = await writeCohort(cohort, join(directory, 'cohort'));
    manifest = written.manifestJson;
    scanCount = written.rows.length;
    encoder = await createLesionEncoder({
      lesionWeights: null,
      unet: { inputSizePx: [64, 64], dropConnectRate: 0 },
    });
  });
  afterAll(async () => encoder.dispose());

  it('writes one feature sequence and record per scan, a table and an index; resumes', async () => {
    const out = join(directory, 'encoded');
    const fractions: number[] = [];
    const first = await encodeCohort(manifest, {
      encoder,
      outDir: out,
      onProgress: (e) => fractions.push(e.fraction),
    });
    expect(first.encoded).toBe(scanCount);
    expect(first.failed).toEqual([]);
    expect(fractions.at(-1)).toBe(1);
    for (const record of first.records) {
      const features = await readNpy(join(out, record.features));
      expect(features.shape).toEqual([record.keptSlices.length, 1280]);
      expect(record.columns.hospital).toBe('A');
      expect([0, 1]).toContain(record.columns.severe);
      // Hospital A's profile reconstructs at 5 mm.
      expect(record.sliceSpacingMm).toBe(5);
      expect(record.sliceLesionShares).toHaveLength(3);
      for (const row of record.sliceLesionShares!) {
        expect(row).toHaveLength(record.keptSlices.length);
        expect(row.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
      }
      // The kept slices' lung areas add up, times the slice spacing, to the measured lung
      // volume (slices below 3 mm² of lung are left out, a negligible part).
      const areas = record.sliceLungAreaMm2!;
      expect(areas).toHaveLength(record.keptSlices.length);
      expect(areas.every((a) => a >= 3)).toBe(true);
      const ml = (areas.reduce((sum, a) => sum + a, 0) * record.sliceSpacingMm!) / 1000;
      expect(Math.abs(ml / record.volumetrics.lungVolumeMl - 1)).toBeLessThan(0.005);
    }
    const table = readFileSync(first.volumetricsCsv!, 'utf8').trim().split('\n');
    expect(table).toHaveLength(scanCount + 1);
    const header = table[0]!.split(',');
    expect(header.slice(0, 2)).toEqual(['patient', 'scan']);
    expect(header).toContain('lungVolumeMl');
    const lungColumn = header.indexOf('lungVolumeMl');
    expect(Number(table[1]!.split(',')[lungColumn])).toBeCloseTo(
      first.records[0]!.volumetrics.lungVolumeMl,
      6,
    );

    const again = await encodeCohort(manifest, { encoder, outDir: out });
    expect(again.encoded).toBe(0);
    expect(again.skipped).toBe(scanCount);
    expect(again.records).toEqual(JSON.parse(JSON.stringify(first.records)));
  });

  it('encodes features only for a features-only encoder, without a volumetrics table', async () => {
    const featuresOnly = await createLesionEncoder({
      lesionWeights: null,
      featuresOnly: true,
      unet: { inputSizePx: [64, 64], dropConnectRate: 0 },
    });
    try {
      const full = await encodeCohort(manifest, { encoder, outDir: join(directory, 'full') });
      const out = join(directory, 'features-only');
      const result = await encodeCohort(manifest, { encoder: featuresOnly, outDir: out });
      expect(result.encoded).toBe(scanCount);
      expect(result.volumetricsCsv).toBeNull();
      expect(() => readFileSync(join(out, 'volumetrics.csv'))).toThrow();
      const index = JSON.parse(readFileSync(result.index, 'utf8')) as { featuresOnly: boolean };
      expect(index.featuresOnly).toBe(true);
      const fullRecord = full.records[0]!;
      const record = result.records[0]!;
      expect(record.keptSlices).toEqual(fullRecord.keptSlices);
      expect(record.volumetrics.lesion.volumeMl).toBe(0);
      const a = await readNpy(join(out, record.features));
      const b = await readNpy(join(directory, 'full', fullRecord.features));
      let worst = 0;
      for (let i = 0; i < a.data.length; i++) {
        worst = Math.max(worst, Math.abs(Number(a.data[i]) - Number(b.data[i])));
      }
      expect(worst).toBeLessThan(1e-5);
    } finally {
      await featuresOnly.dispose();
    }
  });

  it('reports a damaged scan and goes on with the others', async () => {
    const { scans, root } = await readCohortManifest(manifest);
    const rows = scans.map((s, i) => (i === 0 ? { ...s, file: 'missing.nii.gz' } : s));
    const damaged = join(root, 'damaged.json');
    writeFileSync(damaged, JSON.stringify(rows));
    const result = await encodeCohort(damaged, { encoder, outDir: join(directory, 'damaged') });
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]!.code).toBe('FILE_NOT_FOUND');
    expect(result.encoded).toBe(scanCount - 1);
  });

  it('rejects malformed manifests with typed codes', async () => {
    const code = async (text: string, name: string) => {
      const path = join(directory, name);
      writeFileSync(path, text);
      try {
        await readCohortManifest(path);
      } catch (error) {
        return isLesionEncError(error) ? error.code : 'other';
      }
      return undefined;
    };
    expect(await code('{', 'a.json')).toBe('CORRUPT_FILE');
    expect(await code('[{"patient":"p","scan":"s"}]', 'b.json')).toBe('CORRUPT_FILE');
    expect(
      await code(
        '[{"patient":"p","scan":"s","file":"x"},{"patient":"p","scan":"s","file":"y"}]',
        'c.json',
      ),
    ).toBe('CORRUPT_FILE');
    expect(await code('patient,file\np,x\n', 'd.csv')).toBe('CORRUPT_FILE');
    const csv = join(directory, 'ok.csv');
    writeFileSync(csv, 'patient,scan,file,severe\np1,s1,x.nii.gz,1\n');
    const read = await readCohortManifest(csv);
    expect(read.scans).toEqual([{ patient: 'p1', scan: 's1', file: 'x.nii.gz', severe: 1 }]);
  });
});

describe('sliceLungAreasMm2', () => {
  it('gives the lung area of each kept slice in mm²', () => {
    // Three 2x3 slices of 0.5 x 2 mm pixels; slice 1 is not kept.
    const lung = [1, 1, 2, 2, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1];
    const areas = sliceLungAreasMm2({
      lungs: {
        labels: {
          data: Uint8Array.from(lung),
          geometry: { shape: [3, 2, 3], spacingMm: [5, 0.5, 2] },
        },
      },
      keptSlices: [0, 2],
    } as unknown as Parameters<typeof sliceLungAreasMm2>[0]);
    expect(areas).toEqual([4, 1]);
  });
});

describe('sliceLesionShares', () => {
  it('gives each lesion class its share of the lung voxels, per kept slice', () => {
    // Three 2x3 slices; slice 1 is not kept.
    const lung = [1, 1, 2, 2, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
    const lesion = [1, 2, 2, 0, 3, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 3];
    const shares = sliceLesionShares({
      lungs: { labels: { data: Uint8Array.from(lung) } },
      lesions: { data: Uint8Array.from(lesion), geometry: { shape: [3, 2, 3] } },
      keptSlices: [0, 2],
    } as unknown as Parameters<typeof sliceLesionShares>[0]);
    expect(shares).toEqual([
      [0.25, 0],
      [0.5, 0],
      // Effusion lies outside the lung: 1 voxel over 4 lung voxels; none of a lungless slice.
      [0.25, 0],
    ]);
  });
});
