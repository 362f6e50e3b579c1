// Reading volumes from File objects (what a browser page gets), and the browser entry's API.
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { createCtVolume, createGeometry, isLesionEncError } from '@lesionenc/base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import * as browserEntry from './browser';
import { readDicomSeries } from './dicom-node';
import * as nodeEntry from './index';
import { encodeNifti } from './nifti';
import { syntheticChest, writeTestSeries } from './testing/dicom-writer';
import { readVolumeFromFiles } from './volume-files';

// The Node entry's functions that read or write paths on a file system.
const NODE_ONLY = [
  'dicomSourcesAt',
  'listDicomSeries',
  'readDicomSeg',
  'readDicomSeries',
  'readNifti',
  'readNiftiLabels',
  'readNpy',
  'readVolume',
  'writeDicomSeg',
  'writeNifti',
  'writeNpy',
  'writeOverlayPng',
];

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    if (isLesionEncError(error)) return error.code;
    throw error;
  }
  return undefined;
}

describe('the browser entry of @lesionenc/io', () => {
  it('exports what the Node entry exports, except the file-system functions', () => {
    const expected = Object.keys(nodeEntry)
      .filter((name) => !NODE_ONLY.includes(name))
      .sort();
    expect(Object.keys(browserEntry).sort()).toEqual(expected);
  });
});

describe('readVolumeFromFiles', () => {
  let folder: string;
  let seriesFiles: File[];
  const chest = syntheticChest({ slices: 6, rows: 24, columns: 20 }, 3);

  beforeAll(async () => {
    folder = mkdtempSync(path.join(os.tmpdir(), 'lesionenc-files-'));
    const paths = await writeTestSeries(path.join(folder, 'series'), chest);
    seriesFiles = await Promise.all(
      paths.map(async (p) => new File([await readFile(p)], `series/${path.basename(p)}`)),
    );
  });

  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('reads a gzipped NIfTI file with its voxels and geometry', async () => {
    const geometry = createGeometry({ shape: [3, 4, 5], spacingMm: [2.5, 0.8, 0.7] });
    const data = Int16Array.from({ length: 60 }, (_, n) => n * 17 - 900);
    const bytes = encodeNifti(createCtVolume(data, geometry), { gzip: true });
    const read = await readVolumeFromFiles([new File([bytes.slice()], 'ct.nii.gz')]);
    expect(read.format).toBe('nifti');
    expect(Array.from(read.volume.data)).toEqual(Array.from(data));
    expect(read.volume.geometry.shape).toEqual([3, 4, 5]);
    expect(read.volume.geometry.spacingMm.map((s) => Number(s.toFixed(4)))).toEqual([
      2.5, 0.8, 0.7,
    ]);
  });

  it('reads the files of a DICOM folder as the folder reader does, skipping other files', async () => {
    const junk = new File(['not an image'], 'series/README.txt');
    const fromFiles = await readVolumeFromFiles([junk, ...seriesFiles.slice().reverse()]);
    const fromFolder = await readDicomSeries(path.join(folder, 'series'));
    expect(fromFiles.format).toBe('dicom');
    expect(fromFiles.volume.geometry).toEqual(fromFolder.volume.geometry);
    expect(
      Buffer.from(fromFiles.volume.data.buffer).equals(Buffer.from(fromFolder.volume.data.buffer)),
    ).toBe(true);
    expect(fromFiles.dicom!.skipped.map((s) => s.file)).toEqual(['series/README.txt']);
  });

  it('reads one DICOM file as a one-slice series', async () => {
    const read = await readVolumeFromFiles([seriesFiles[2]!]);
    expect(read.format).toBe('dicom');
    expect(read.volume.geometry.shape).toEqual([1, 24, 20]);
  });

  it('names the file and what it expected for a file of another format', async () => {
    const text = new File(['these are notes, not a CT scan\n'], 'notes.txt');
    await expect(readVolumeFromFiles([text])).rejects.toThrow(
      /notes\.txt: format: expected a DICOM, NIfTI \(\.nii, \.nii\.gz\), PNG or JPEG file, got none of these \(31 bytes\)/,
    );
    expect(await codeOf(readVolumeFromFiles([text]))).toBe('UNSUPPORTED_FORMAT');
  });

  it('rejects an empty file and an empty selection with their own codes', async () => {
    expect(await codeOf(readVolumeFromFiles([new File([], 'empty.nii')]))).toBe('CORRUPT_FILE');
    expect(await codeOf(readVolumeFromFiles([]))).toBe('INVALID_ARGUMENT');
  });

  it('reports a damaged NIfTI as CORRUPT_FILE, not a crash', async () => {
    const geometry = createGeometry({ shape: [2, 4, 4] });
    const bytes = encodeNifti(createCtVolume(new Int16Array(32), geometry));
    const cut = new File([bytes.slice(0, 360)], 'cut.nii');
    expect(await codeOf(readVolumeFromFiles([cut]))).toBe('CORRUPT_FILE');
  });
});
