// Tests of `lesionenc info <path>`: facts of NIfTI files and DICOM folders, and one-line failures.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createCtVolume } from '@lesionenc/base';
import { encodeNifti } from '@lesionenc/io';

import { runCli } from '../index';
import { capture } from '../testing/capture';
import type { ScanFacts } from './info';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lesionenc-info-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('lesionenc info <path>', () => {
  it('prints shape, spacing, origin, direction and orientation of a NIfTI file as JSON', async () => {
    // A sagittal-stored file: its array axes are not the canonical ones.
    const volume = createCtVolume(
      new Int16Array(2 * 3 * 4).map((_, n) => n),
      {
        shape: [2, 3, 4],
        spacingMm: [2, 0.5, 0.75],
        originMm: [10, -20, 30],
        direction: [0, 0, -1, 1, 0, 0, 0, -1, 0],
      },
    );
    const path = join(dir, 'scan.nii.gz');
    await writeFile(path, encodeNifti(volume, { gzip: true }));
    const { io, out, err } = capture();
    expect(await runCli(['info', path, '--json'], io)).toBe(0);
    expect(err).toEqual([]);
    const facts = JSON.parse(out.join('\n')) as ScanFacts;
    expect(facts.format).toBe('nifti');
    expect(facts.orientation).toBe('LPS');
    // Stored rows run inferior (they become the slices), stored slices run posterior (rows).
    expect(facts.shape).toEqual([3, 2, 4]);
    expect(facts.spacingMm.map((s) => Number(s.toFixed(4)))).toEqual([0.5, 2, 0.75]);
    expect(facts.direction.map((v) => Math.round(v))).toEqual([0, 0, 1, 0, 1, 0, 1, 0, 0]);
    expect(facts.series).toEqual([]);
    expect(facts.modality).toBeNull();
  });

  it('prints a readable summary without --json', async () => {
    const volume = createCtVolume(new Float32Array(8), { shape: [2, 2, 2] });
    const path = join(dir, 'small.nii');
    await writeFile(path, encodeNifti(volume));
    const { io, out } = capture();
    expect(await runCli(['info', path], io)).toBe(0);
    expect(out.join('\n')).toMatch(/shape +\[2, 2, 2\]/);
    expect(out.join('\n')).toMatch(/orientation +LPS/);
  });

  it('exits 1 with one line naming the file and the reason when it cannot read it', async () => {
    const path = join(dir, 'broken.nii.gz');
    await writeFile(path, new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]));
    const { io, out, err } = capture();
    expect(await runCli(['info', path], io)).toBe(1);
    expect(out).toEqual([]);
    expect(err).toHaveLength(1);
    expect(err[0]).toContain(path);
    expect(err[0]).toMatch(/gzip.*\[CORRUPT_FILE\]$/);

    const missing = capture();
    expect(await runCli(['info', join(dir, 'nope.dcm')], missing.io)).toBe(1);
    expect(missing.err[0]).toMatch(/nope\.dcm.*\[FILE_NOT_FOUND\]$/);
    expect(missing.err[0]!.includes('\n')).toBe(false);
  });
});

const dataDir = process.env.LESIONENC_DATA_DIR;

describe.skipIf(!dataDir)('lesionenc info on the real files (LESIONENC_DATA_DIR)', () => {
  it('describes the GE DICOM folder', async () => {
    const { io, out } = capture();
    expect(await runCli(['info', join(dataDir!, 'dicom', 'ge-3slice'), '--json'], io)).toBe(0);
    const facts = JSON.parse(out.join('\n')) as ScanFacts;
    expect(facts.shape).toEqual([3, 512, 512]);
    expect(facts.modality).toBe('CT');
    expect(facts.transferSyntax).toBe('1.2.840.10008.1.2');
    expect(facts.series).toHaveLength(1);
    expect(facts.series[0]!.imageCount).toBe(3);
    expect(facts.spacingMm[1]).toBeCloseTo(0.810547, 6);
  });
});
