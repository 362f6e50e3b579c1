// `lesionenc assess` on a small synthetic DICOM series, end to end: every output exists, the
// masks agree with the phantom's truth, the report agrees with the masks, the DICOM SEG objects
// hold the same masks and point at the series' images, and one encoder assessing the series ten
// times leaves no tensor behind.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { voxelVolumeMm3 } from '@lesionenc/base';
import { createLesionEncoder, initBackend } from '@lesionenc/core';
import {
  dicomSegToLabelMap,
  readDicomSeg,
  readNiftiLabels,
  readVolume,
  writeNifti,
} from '@lesionenc/io';
import { DISEASE_PRESETS, createChestPhantom } from '@lesionenc/phantom';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeTestSeries } from '../../../io/src/testing/dicom-writer';
import { capture } from '../testing/capture';
import { runAssess } from './assess';

/** The weight-free lung mask on a 64-pixel phantom, against its truth. */
const MIN_LUNG_DICE = 0.9;
/** Lung volume against the truth's; measured -2.9 % on this phantom. */
const LUNG_VOLUME_RELATIVE_TOLERANCE = 0.05;
/**
 * Lesion Dice of the shipped encoder (a first model of modest accuracy, see its model card) on
 * this phantom, measured at 0.48 for any lesion (ground-glass or consolidation), 0.34 for
 * ground-glass and 0.35 for consolidation. It labels no pleural effusion, so none is asserted.
 */
const MIN_LESION_DICE = 0.3;
const MIN_CLASS_DICE = 0.2;
/** Report volumes against voxel counts of the written masks (NIfTI keeps spacing in float32). */
const VOLUME_RELATIVE_TOLERANCE = 1e-6;
/** The series writer's UIDs: study, series, frame of reference; images are `<series>.<k + 1>`. */
const STUDY_UID = '1.2.826.0.1.3680043.9.7433.3';
const SERIES_UID = '1.2.826.0.1.3680043.9.7433.2.1';
const FRAME_OF_REFERENCE_UID = '1.2.826.0.1.3680043.9.7433.4';

const directory = mkdtempSync(join(tmpdir(), 'lesionenc-cli-assess-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const phantom = createChestPhantom({
  seed: 8,
  matrix: 64,
  slices: 12,
  disease: DISEASE_PRESETS.severe,
});
const series = join(directory, 'series');

/** Dice of the voxels where `predicted` and `truth` pass their tests. */
function dice(
  predicted: Uint8Array,
  truth: Uint8Array,
  inside: (label: number) => boolean,
): number {
  let both = 0;
  let p = 0;
  let t = 0;
  for (let n = 0; n < predicted.length; n++) {
    const a = inside(predicted[n]!);
    const b = inside(truth[n]!);
    p += a ? 1 : 0;
    t += b ? 1 : 0;
    both += a && b ? 1 : 0;
  }
  return p + t === 0 ? 1 : (2 * both) / (p + t);
}

interface Report {
  lungs: { rightLungVolumeMl: number; leftLungVolumeMl: number; lungVolumeMl: number };
  slices: { total: number; kept: number };
  severityProbability: number | null;
  progressionProbability: number | null;
  notes: string[];
  files: Record<string, string>;
  dicomSeg: {
    seriesInstanceUid: string;
    lungs: { sopInstanceUid: string; frames: number };
    lesions: { sopInstanceUid: string; frames: number };
  } | null;
}

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

  it('writes masks, SEGs, overlay and reports that agree with the truth and with each other', async () => {
    const out = join(directory, 'out');
    const { io, out: text } = capture();
    const code = await runAssess([series, '--out', out, '--backend', 'wasm', '--json'], io);
    expect(code).toBe(0);
    for (const name of [
      'lungs.nii.gz',
      'lesions.nii.gz',
      'lungs.seg.dcm',
      'lesions.seg.dcm',
      'overlay.png',
      'report.json',
      'report.md',
    ]) {
      expect(existsSync(join(out, name)), name).toBe(true);
    }
    const report = JSON.parse(text.join('')) as Report;
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'))).toEqual(report);
    expect(report.slices.total).toBe(12);
    // The shipped severity model (volumetric, synthetic cohorts) gives a probability; no
    // progression model ships.
    expect(report.severityProbability).toBeGreaterThan(0);
    expect(report.severityProbability).toBeLessThan(1);
    expect(report.progressionProbability).toBeNull();
    expect(report.notes.join(' ')).toMatch(/no progression classifier/);
    expect(report.files.lesionsSeg).toBe(join(out, 'lesions.seg.dcm'));

    // The series was written slice by slice in order, so the masks align with the phantom's.
    const lungs = await readNiftiLabels(join(out, 'lungs.nii.gz'));
    expect(lungs.geometry.shape).toEqual(phantom.volume.geometry.shape);
    expect(dice(lungs.data, phantom.lungs.data, (v) => v > 0)).toBeGreaterThan(MIN_LUNG_DICE);
    expect(Math.abs(report.lungs.lungVolumeMl / phantom.truth.lungMl - 1)).toBeLessThan(
      LUNG_VOLUME_RELATIVE_TOLERANCE,
    );
    const right = lungs.data.reduce((n, v) => n + (v === 1 ? 1 : 0), 0);
    const voxelMl = voxelVolumeMm3(lungs.geometry) / 1000;
    expect(right).toBeGreaterThan(0);
    expect(Math.abs(report.lungs.rightLungVolumeMl / (right * voxelMl) - 1)).toBeLessThan(
      VOLUME_RELATIVE_TOLERANCE,
    );
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/\| right \| \d+ \|/);

    const lesions = await readNiftiLabels(join(out, 'lesions.nii.gz'));
    const truth = phantom.lesions.data;
    expect(dice(lesions.data, truth, (v) => v === 1 || v === 2)).toBeGreaterThan(MIN_LESION_DICE);
    expect(dice(lesions.data, truth, (v) => v === 1)).toBeGreaterThan(MIN_CLASS_DICE);
    expect(dice(lesions.data, truth, (v) => v === 2)).toBeGreaterThan(MIN_CLASS_DICE);

    // Both SEGs: one new series in the scan's study, the NIfTI masks again, frames naming the
    // image of their slice.
    const segs = report.dicomSeg!;
    for (const [name, mask, contentLabel, info] of [
      ['lungs.seg.dcm', lungs, 'LUNGS', segs.lungs],
      ['lesions.seg.dcm', lesions, 'LESIONS', segs.lesions],
    ] as const) {
      const seg = await readDicomSeg(join(out, name));
      expect(seg.ContentLabel).toBe(contentLabel);
      expect(seg.SOPInstanceUID).toBe(info.sopInstanceUid);
      expect(seg.SeriesInstanceUID).toBe(segs.seriesInstanceUid);
      expect(seg.StudyInstanceUID).toBe(STUDY_UID);
      expect(seg.FrameOfReferenceUID).toBe(FRAME_OF_REFERENCE_UID);
      expect(seg.ReferencedSeriesInstanceUID).toBe(SERIES_UID);
      expect(seg.frames).toHaveLength(info.frames);
      for (const frame of seg.frames) {
        const k = Math.round((frame.ImagePositionPatient[2] - -50) / lungs.geometry.spacingMm[0]);
        expect(frame.ReferencedSOPInstanceUID).toBe(`${SERIES_UID}.${k + 1}`);
      }
      expect(Array.from(dicomSegToLabelMap(seg, mask.geometry).data)).toEqual(
        Array.from(mask.data),
      );
    }
  });

  it('says in the report when the series lacked a frame of reference for the SEGs', async () => {
    const [slices, rows, columns] = phantom.volume.geometry.shape;
    const [sliceMm, rowMm, columnMm] = phantom.volume.geometry.spacingMm;
    const bare = join(directory, 'series-without-frame-of-reference');
    await writeTestSeries(
      bare,
      {
        data: Int16Array.from(phantom.volume.data as ArrayLike<number>),
        slices,
        rows,
        columns,
        rowSpacingMm: rowMm,
        columnSpacingMm: columnMm,
        sliceSpacingMm: sliceMm,
        originMm: [-100, -100, -50],
      },
      { frameOfReferenceUid: null },
    );
    const out = join(directory, 'out-bare');
    const { io, out: text } = capture();
    expect(await runAssess([bare, '--out', out, '--backend', 'wasm', '--json'], io)).toBe(0);
    const report = JSON.parse(text.join('')) as Report;
    expect(report.notes.join(' ')).toMatch(
      /DICOM SEG: the source series has no FrameOfReferenceUID/,
    );
    const lungs = await readDicomSeg(join(out, 'lungs.seg.dcm'));
    const lesions = await readDicomSeg(join(out, 'lesions.seg.dcm'));
    // Both objects share the one frame of reference they were given.
    expect(lungs.FrameOfReferenceUID).toMatch(/^2\.25\./);
    expect(lesions.FrameOfReferenceUID).toBe(lungs.FrameOfReferenceUID);
  });

  it('writes no SEG for a NIfTI scan, which has no series to reference', async () => {
    const scan = join(directory, 'scan.nii.gz');
    await writeNifti(scan, phantom.volume);
    const out = join(directory, 'out-nifti');
    const { io, out: text } = capture();
    expect(await runAssess([scan, '--out', out, '--backend', 'wasm', '--json'], io)).toBe(0);
    const report = JSON.parse(text.join('')) as Report;
    expect(report.dicomSeg).toBeNull();
    expect(report.files.lungsSeg).toBeUndefined();
    expect(existsSync(join(out, 'lesions.nii.gz'))).toBe(true);
    expect(existsSync(join(out, 'lesions.seg.dcm'))).toBe(false);
  });

  it('assesses the series ten times with one encoder without leaving tensors behind', async () => {
    await initBackend({ backend: 'wasm' });
    const { volume } = await readVolume(series);
    const encoder = await createLesionEncoder({ workers: 1 });
    try {
      const first = await encoder.assess(volume);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 10; i++) {
        const again = await encoder.assess(volume);
        expect(again.volumetrics.lesion.volumeMl).toBe(first.volumetrics.lesion.volumeMl);
      }
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      await encoder.dispose();
    }
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
