// `lesionenc assess` on a small synthetic DICOM series: every output exists, the lung mask
// agrees with the phantom's truth, the report's volumes agree with the masks it wrote.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { voxelVolumeMm3 } from '@lesionenc/base';
import { readNiftiLabels } from '@lesionenc/io';
import { DISEASE_PRESETS, createChestPhantom } from '@lesionenc/phantom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeTestSeries } from '../../../io/src/testing/dicom-writer';
import { capture } from '../testing/capture';
import { runAssess } from './assess';

/** The weight-free lung mask on a 64-pixel phantom, against its truth. */
const MIN_LUNG_DICE = 0.9;
/** Report volumes against voxel counts of the written masks (NIfTI keeps spacing in float32). */
const VOLUME_RELATIVE_TOLERANCE = 1e-6;

const directory = mkdtempSync(join(tmpdir(), 'lesionenc-cli-assess-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const phantom = createChestPhantom({
  seed: 8,
  matrix: 64,
  slices: 12,
  disease: DISEASE_PRESETS.severe,
});
const series = join(directory, 'series');

describe('lesionenc assess', () => {
  beforeAll(async () => {
    const [slices, rows, columns] = phantom.volume.geometry.shape;
    const [sliceMm, rowMm, columnMm] = phantom.volume.geometry.spacingMm;
    await writeTestSeries(series, {
      data: Int16Array.from(phantom.volume.data as ArrayLike<number>),
      slices,
      rows,
      columns,
      rowSpacingMm: rowMm,
      columnSpacingMm: columnMm,
      sliceSpacingMm: sliceMm,
      originMm: [-100, -100, -50],
    });
  });

  it('writes masks, overlay and reports that agree with the truth and with each other', async () => {
    const out = join(directory, 'out');
    const { io, out: text } = capture();
    const code = await runAssess([series, '--out', out, '--backend', 'wasm', '--json'], io);
    expect(code).toBe(0);
    for (const name of [
      'lungs.nii.gz',
      'lesions.nii.gz',
      'overlay.png',
      'report.json',
      'report.md',
    ]) {
      expect(existsSync(join(out, name))).toBe(true);
    }
    const report = JSON.parse(text.join('')) as {
      lungs: { rightLungVolumeMl: number; leftLungVolumeMl: number; lungVolumeMl: number };
      slices: { total: number; kept: number };
      severityProbability: number | null;
      notes: string[];
    };
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'))).toEqual(report);
    expect(report.slices.total).toBe(12);
    expect(report.severityProbability).toBeNull();
    expect(report.notes.join(' ')).toMatch(/no severity classifier/);

    // The series was written slice by slice in order, so the masks align with the phantom's.
    const lungs = await readNiftiLabels(join(out, 'lungs.nii.gz'));
    expect(lungs.geometry.shape).toEqual(phantom.volume.geometry.shape);
    let both = 0;
    let predicted = 0;
    let truth = 0;
    let right = 0;
    for (let n = 0; n < lungs.data.length; n++) {
      const p = lungs.data[n]! > 0;
      const t = phantom.lungs.data[n]! > 0;
      if (lungs.data[n] === 1) right++;
      predicted += p ? 1 : 0;
      truth += t ? 1 : 0;
      both += p && t ? 1 : 0;
    }
    expect((2 * both) / (predicted + truth)).toBeGreaterThan(MIN_LUNG_DICE);
    const voxelMl = voxelVolumeMm3(lungs.geometry) / 1000;
    expect(right).toBeGreaterThan(0);
    expect(Math.abs(report.lungs.rightLungVolumeMl / (right * voxelMl) - 1)).toBeLessThan(
      VOLUME_RELATIVE_TOLERANCE,
    );
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/\| right \| \d+ \|/);
  });

  it('exits 2 on usage errors and 1 with the code for a missing scan', async () => {
    const { io, err } = capture();
    expect(await runAssess([], io)).toBe(2);
    expect(await runAssess([series, '--workers', '0'], io)).toBe(2);
    expect(await runAssess([join(directory, 'nothing'), '--out', join(directory, 'x')], io)).toBe(
      1,
    );
    expect(err.join('\n')).toMatch(/FILE_NOT_FOUND/);
  });
});
