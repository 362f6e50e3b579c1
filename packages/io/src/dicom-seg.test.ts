// Tests of the DICOM SEG writer and reader: round trips through this package's reader, dcmtk's
// dcmdump and pydicom, references back to series read from disk, and the real series.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type LabelMap,
  type VolumeGeometry,
  LESION_CLASSES,
  LUNG_CLASSES,
  createGeometry,
  createLabelMap,
  createRandom,
  isLesionEncError,
} from '@lesionenc/base';

import { parseDicomHeader } from './dicom';
import { readDicomSeries } from './dicom-node';
import { type DicomSeriesReference, dicomSeriesReferenceOf } from './dicom-reference';
import {
  type DicomSeg,
  LESION_SEG_SEGMENTS,
  LUNG_SEG_SEGMENTS,
  SEG_SOP_CLASS_UID,
  createDicomUid,
  decodeDicomSeg,
  dicomSegToLabelMap,
  encodeDicomSeg,
} from './dicom-seg';
import { readDicomSeg, writeDicomSeg } from './dicom-seg-node';
import { syntheticChest, writeTestSeries } from './testing/dicom-writer';

// Positions are written as decimal strings of at most 16 characters.
const POSITION_TOLERANCE_MM = 1e-6;
const CT_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.2';

function onPath(tool: string): boolean {
  return spawnSync('which', [tool], { stdio: 'ignore' }).status === 0;
}

const HAVE_DCMDUMP = onPath('dcmdump');
const HAVE_PYDICOM =
  spawnSync('/usr/bin/python3', ['-c', 'import pydicom, numpy'], { stdio: 'ignore' }).status === 0;
// Printed once so a skipped case is never mistaken for a passing one.
if (!HAVE_DCMDUMP) console.info('dcmdump (dcmtk) not on PATH: the dcmdump SEG checks are skipped');
if (!HAVE_PYDICOM) {
  console.info(
    '/usr/bin/python3 has no pydicom (python3-pydicom): the pydicom SEG checks are skipped',
  );
}
const SEG_TO_JSON = fileURLToPath(new URL('./testing/seg_to_json.py', import.meta.url));

function expectCode(run: () => unknown, code: string, message?: RegExp): void {
  try {
    run();
    expect.unreachable('should have thrown');
  } catch (error) {
    expect(isLesionEncError(error), String(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    if (message !== undefined) expect((error as Error).message).toMatch(message);
  }
}

/** A reference to a made-up series of `slices` CT images. */
function fakeReference(slices: number, overrides: Partial<DicomSeriesReference> = {}) {
  const instances = Array.from({ length: slices }, (_, k) => ({
    SOPClassUID: CT_SOP_CLASS,
    SOPInstanceUID: `1.2.826.0.1.3680043.9.7433.9.${k + 1}`,
  }));
  return {
    StudyInstanceUID: '1.2.826.0.1.3680043.9.7433.8',
    SeriesInstanceUID: '1.2.826.0.1.3680043.9.7433.9',
    FrameOfReferenceUID: '1.2.826.0.1.3680043.9.7433.7',
    SpecificCharacterSet: undefined,
    PatientName: 'Phantom^Seven',
    PatientID: 'P7',
    PatientBirthDate: undefined,
    PatientSex: 'O',
    StudyDate: '20240102',
    StudyTime: '101500',
    StudyID: '7',
    AccessionNumber: undefined,
    ReferringPhysicianName: undefined,
    instances,
    slices: instances,
    ...overrides,
  } satisfies DicomSeriesReference;
}

/**
 * Seeded blobs of lesion labels on an oblique-free grid whose frames (7 x 9 = 63 bits) never
 * end on a byte boundary; slice 2 holds no consolidation and slice 4 nothing at all.
 */
function lesionLabels(geometry: VolumeGeometry): LabelMap {
  const [slices, rows, columns] = geometry.shape;
  const random = createRandom(11);
  const data = new Uint8Array(slices * rows * columns);
  for (let k = 0; k < slices; k++) {
    if (k === 4) continue;
    for (let n = 0; n < rows * columns; n++) {
      const u = random.next();
      const value = u < 0.25 ? 1 : u < 0.4 ? 2 : u < 0.5 ? 3 : 0;
      data[k * rows * columns + n] = k === 2 && value === 2 ? 0 : value;
    }
  }
  return createLabelMap(data, geometry, LESION_CLASSES);
}

const geometry = createGeometry({
  shape: [5, 7, 9],
  spacingMm: [2.5, 0.7, 0.75],
  originMm: [-120.25, -80.5, 33],
});

function expectFramesMatch(seg: DicomSeg, labels: LabelMap): void {
  const [, rows, columns] = labels.geometry.shape;
  for (const frame of seg.frames) {
    const k = Math.round((frame.ImagePositionPatient[2] - labels.geometry.originMm[2]) / 2.5);
    const value = LESION_SEG_SEGMENTS[frame.ReferencedSegmentNumber - 1]!.labelValue;
    const expected = labels.data
      .subarray(k * rows * columns, (k + 1) * rows * columns)
      .map((v) => (v === value ? 1 : 0));
    expect(Array.from(frame.pixels)).toEqual(Array.from(expected));
  }
}

describe('encodeDicomSeg and decodeDicomSeg', () => {
  const labels = lesionLabels(geometry);
  const reference = fakeReference(5);

  it('writes only frames that hold a segment, and reads back the same masks and references', () => {
    const encoded = encodeDicomSeg(labels, {
      reference,
      segments: LESION_SEG_SEGMENTS,
      contentLabel: 'LESIONS',
    });
    // Three segments on four non-empty slices, less consolidation on slice 2.
    expect(encoded.frameCount).toBe(3 * 4 - 1);
    const counts = [1, 2, 3].map((v) => labels.data.filter((x) => x === v).length);
    expect(encoded.segmentVoxels).toEqual(counts);
    expect(encoded.sopInstanceUid).toMatch(/^2\.25\.\d+$/);
    expect(encoded.warnings).toEqual([]);

    const seg = decodeDicomSeg(encoded.bytes);
    expect(seg.SOPInstanceUID).toBe(encoded.sopInstanceUid);
    expect(seg.StudyInstanceUID).toBe(reference.StudyInstanceUID);
    expect(seg.FrameOfReferenceUID).toBe(reference.FrameOfReferenceUID);
    expect(seg.ReferencedSeriesInstanceUID).toBe(reference.SeriesInstanceUID);
    expect(seg.ContentLabel).toBe('LESIONS');
    expect(seg.ImageOrientationPatient).toEqual([1, 0, 0, 0, 1, 0]);
    expect(seg.PixelSpacing).toEqual([0.7, 0.75]);
    expect(seg.SliceThickness).toBe(2.5);
    expect(seg.segments.map((s) => [s.SegmentNumber, s.SegmentLabel])).toEqual([
      [1, 'Ground-glass opacity'],
      [2, 'Consolidation'],
      [3, 'Pleural effusion'],
    ]);
    expect(seg.segments[2]!.SegmentedPropertyType).toEqual({
      CodeValue: '60046008',
      CodingSchemeDesignator: 'SCT',
      CodeMeaning: 'Pleural effusion',
    });
    expect(seg.segments.every((s) => s.SegmentAlgorithmType === 'AUTOMATIC')).toBe(true);

    // Each frame names the image of its slice and sits where that slice is.
    for (const frame of seg.frames) {
      const k = Math.round((frame.ImagePositionPatient[2] - 33) / 2.5);
      expect(frame.ReferencedSOPInstanceUID).toBe(reference.slices[k]!.SOPInstanceUID);
      expect(frame.ImagePositionPatient[0]).toBeCloseTo(-120.25, 9);
      expect(frame.ImagePositionPatient[1]).toBeCloseTo(-80.5, 9);
    }
    expectFramesMatch(seg, labels);
    expect(Array.from(dicomSegToLabelMap(seg, geometry).data)).toEqual(Array.from(labels.data));
  });

  it('writes every slice of every segment when asked', () => {
    const encoded = encodeDicomSeg(labels, {
      reference,
      segments: LESION_SEG_SEGMENTS,
      contentLabel: 'LESIONS',
      omitEmptyFrames: false,
    });
    expect(encoded.frameCount).toBe(15);
    const seg = decodeDicomSeg(encoded.bytes);
    expectFramesMatch(seg, labels);
    expect(Array.from(dicomSegToLabelMap(seg, geometry).data)).toEqual(Array.from(labels.data));
  });

  it('gives a segment without voxels one empty frame', () => {
    const empty = createLabelMap(new Uint8Array(5 * 7 * 9), geometry, LESION_CLASSES);
    const encoded = encodeDicomSeg(empty, {
      reference,
      segments: LESION_SEG_SEGMENTS,
      contentLabel: 'LESIONS',
    });
    expect(encoded.frameCount).toBe(3);
    expect(encoded.segmentVoxels).toEqual([0, 0, 0]);
    const seg = decodeDicomSeg(encoded.bytes);
    expect(seg.frames.map((f) => f.ReferencedSegmentNumber)).toEqual([1, 2, 3]);
    expect(seg.frames.every((f) => f.pixels.every((v) => v === 0))).toBe(true);
  });

  it('makes distinct UIDs under the 2.25 root that fit 64 characters', () => {
    const uids = new Set(Array.from({ length: 200 }, () => createDicomUid()));
    expect(uids.size).toBe(200);
    for (const uid of uids) {
      expect(uid).toMatch(/^2\.25\.[1-9]\d*$/);
      expect(uid.length).toBeLessThanOrEqual(44);
    }
  });

  it('rejects bad input with typed errors', () => {
    const base = { reference, segments: LESION_SEG_SEGMENTS, contentLabel: 'LESIONS' };
    expectCode(
      () =>
        encodeDicomSeg(labels, {
          ...base,
          reference: fakeReference(5, { StudyInstanceUID: undefined }),
        }),
      'INVALID_ARGUMENT',
      /StudyInstanceUID: expected a UID, got none/,
    );
    expectCode(
      () =>
        encodeDicomSeg(labels, {
          ...base,
          reference: fakeReference(5, {
            instances: [{ SOPClassUID: CT_SOP_CLASS, SOPInstanceUID: undefined }],
          }),
        }),
      'INVALID_ARGUMENT',
      /SOPInstanceUID/,
    );
    expectCode(
      () => encodeDicomSeg(labels, { ...base, reference: fakeReference(4) }),
      'SHAPE_MISMATCH',
      /expected one source image per slice \(5\), got 4/,
    );
    expectCode(
      () =>
        encodeDicomSeg(labels, {
          ...base,
          segments: [{ ...LESION_SEG_SEGMENTS[0]!, labelValue: 7 }],
        }),
      'INVALID_ARGUMENT',
      /expected a value of the label map's classes/,
    );
    expectCode(
      () => encodeDicomSeg(labels, { ...base, contentLabel: 'lower case' }),
      'INVALID_ARGUMENT',
      /ContentLabel/,
    );
    expectCode(
      () =>
        encodeDicomSeg(labels, {
          ...base,
          segments: [{ ...LESION_SEG_SEGMENTS[0]!, SegmentLabel: 'x'.repeat(65) }],
        }),
      'INVALID_ARGUMENT',
      /SegmentLabel/,
    );
  });

  it('makes up a frame of reference only when the source has none, and says so', () => {
    const encoded = encodeDicomSeg(labels, {
      reference: fakeReference(5, { FrameOfReferenceUID: undefined }),
      segments: LESION_SEG_SEGMENTS,
      contentLabel: 'LESIONS',
    });
    expect(encoded.warnings.join(' ')).toMatch(/no FrameOfReferenceUID/);
    expect(decodeDicomSeg(encoded.bytes).FrameOfReferenceUID).toMatch(/^2\.25\./);
  });

  it('refuses files that are not a BINARY SEG, and truncated ones', () => {
    const encoded = encodeDicomSeg(labels, {
      reference,
      segments: LESION_SEG_SEGMENTS,
      contentLabel: 'LESIONS',
    });
    expectCode(
      () => decodeDicomSeg(encoded.bytes.subarray(0, encoded.bytes.length - 20)),
      'CORRUPT_FILE',
    );
    const notSeg = Uint8Array.from(encoded.bytes);
    const at = Buffer.from(notSeg).indexOf(SEG_SOP_CLASS_UID, 300);
    notSeg[at + SEG_SOP_CLASS_UID.length - 1] = '5'.charCodeAt(0);
    expectCode(() => decodeDicomSeg(notSeg), 'UNSUPPORTED_FORMAT', /Segmentation Storage/);
  });
});

describe('SEG of a series read from disk', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'lesionenc-seg-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** Source position of every file of a folder, by SOP instance UID. */
  async function positions(folder: string): Promise<Map<string, readonly number[]>> {
    const out = new Map<string, readonly number[]>();
    for (const name of await readdir(folder)) {
      const header = parseDicomHeader(new Uint8Array(await readFile(join(folder, name))));
      out.set(header.SOPInstanceUID!, header.ImagePositionPatient!);
    }
    return out;
  }

  it.each([
    ['an axial stack', [1, 0, 0, 0, 1, 0]],
    ['a stack whose normal points to the feet (read reversed)', [1, 0, 0, 0, -1, 0]],
  ])('frames of %s name the image at their position', async (_name, orientation) => {
    const folder = join(root, `series-${orientation.join('')}`);
    const chest = syntheticChest({ slices: 4, rows: 12, columns: 10 }, 5);
    await writeTestSeries(folder, chest, { imageOrientation: orientation });
    const { volume } = await readDicomSeries(folder);
    const reference = dicomSeriesReferenceOf(volume)!;
    expect(reference.StudyInstanceUID).toBe('1.2.826.0.1.3680043.9.7433.3');
    expect(reference.slices).toHaveLength(4);

    // Air inside the body as "right lung", bone as "left lung": any two-class map will do.
    const data = Uint8Array.from(volume.data, (hu) =>
      hu < -500 && hu > -1000 ? 1 : hu > 300 ? 2 : 0,
    );
    const labels = createLabelMap(data, volume.geometry, LUNG_CLASSES);
    const file = join(folder, '..', `seg-${orientation.join('')}.dcm`);
    const written = await writeDicomSeg(file, labels, {
      reference,
      segments: LUNG_SEG_SEGMENTS,
      contentLabel: 'LUNGS',
    });
    const seg = await readDicomSeg(file);
    expect(seg.frames).toHaveLength(written.frameCount);
    expect(seg.FrameOfReferenceUID).toBe('1.2.826.0.1.3680043.9.7433.4');
    // A frame is its slice on the volume's grid: same plane as its source image, and its first
    // pixel is the source's first one unless the rows were turned to run posterior.
    const source = await positions(folder);
    for (const frame of seg.frames) {
      const at = source.get(frame.ReferencedSOPInstanceUID!)!;
      expect(Math.abs(frame.ImagePositionPatient[2] - at[2]!)).toBeLessThan(POSITION_TOLERANCE_MM);
      const rowsFlipped = orientation[4]! < 0 ? (12 - 1) * chest.rowSpacingMm : 0;
      expect(Math.abs(frame.ImagePositionPatient[1] - (at[1]! - rowsFlipped))).toBeLessThan(
        POSITION_TOLERANCE_MM,
      );
      expect(Math.abs(frame.ImagePositionPatient[0] - at[0]!)).toBeLessThan(POSITION_TOLERANCE_MM);
    }
    expect(Array.from(dicomSegToLabelMap(seg, volume.geometry).data)).toEqual(Array.from(data));
  });

  it('has no reference for volumes that did not come from DICOM', () => {
    const volume = {
      data: new Int16Array(1),
      geometry: createGeometry({ shape: [1, 1, 1] }),
      unit: 'HU' as const,
      metadata: {},
    };
    expect(dicomSeriesReferenceOf(volume)).toBeUndefined();
  });
});

describe.skipIf(!HAVE_DCMDUMP)('dcmdump (dcmtk) reads the SEG', () => {
  it('parses every element without a warning and sees the SEG attributes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lesionenc-seg-dcmdump-'));
    try {
      const file = join(dir, 'lesions.seg.dcm');
      await writeFile(
        file,
        encodeDicomSeg(lesionLabels(geometry), {
          reference: fakeReference(5),
          segments: LESION_SEG_SEGMENTS,
          contentLabel: 'LESIONS',
        }).bytes,
      );
      const run = spawnSync('dcmdump', ['-dc', '+L', file], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stderr).toBe('');
      const out = run.stdout;
      expect(out).toMatch(/\(0002,0010\) UI =LittleEndianExplicit/);
      expect(out).toMatch(/\(0008,0016\) UI =SegmentationStorage/);
      expect(out).toMatch(/\(0062,0001\) CS \[BINARY\]/);
      expect(out).toMatch(/\(0028,0008\) IS \[11\]/);
      expect(out).toMatch(/\(0062,0005\) LO \[Consolidation ?\]/);
      expect(out).toMatch(/\(0008,0100\) SH \[95436008\]/);
      expect(out.match(/\(0062,000b\) US 3/g)).toHaveLength(4);
      // 11 frames of 63 bits: 87 bytes, padded to 88.
      expect(out).toMatch(/\(7fe0,0010\) OB [^#]*# {0,3}88,/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

interface PydicomView {
  sopClassUid: string;
  modality: string;
  studyInstanceUid: string;
  frameOfReferenceUid: string;
  referencedSeriesUid: string;
  numberOfFrames: number;
  shape: number[];
  orientation: number[];
  pixelSpacing: number[];
  segments: { number: number; label: string; category: string; type: string; scheme: string }[];
  frames: { segment: number; position: number[]; source: string | null; ones: number[] }[];
}

function readWithPydicom(file: string): PydicomView {
  const out = execFileSync('/usr/bin/python3', [SEG_TO_JSON, file], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return JSON.parse(out) as PydicomView;
}

/** Checks pydicom's view of a SEG against the label map it was written from. */
function expectPydicomAgrees(view: PydicomView, labels: LabelMap, values: readonly number[]) {
  const [slices, rows, columns] = labels.geometry.shape;
  const g = labels.geometry;
  let frames = 0;
  for (const frame of view.frames) {
    const value = values[frame.segment - 1]!;
    const k = Math.round(
      [0, 1, 2].reduce(
        (s, r) => s + (frame.position[r]! - g.originMm[r]!) * g.direction[3 * r]!,
        0,
      ) / g.spacingMm[0],
    );
    expect(k).toBeGreaterThanOrEqual(0);
    expect(k).toBeLessThan(slices);
    const expected: number[] = [];
    for (let n = 0; n < rows * columns; n++) {
      if (labels.data[k * rows * columns + n] === value) expected.push(n);
    }
    expect(frame.ones).toEqual(expected);
    frames++;
  }
  expect(frames).toBe(view.numberOfFrames);
  // Every voxel of every segment is in some frame.
  const covered = values.map((v) => labels.data.filter((x) => x === v).length);
  const read = values.map((_, s) =>
    view.frames.filter((f) => f.segment === s + 1).reduce((n, f) => n + f.ones.length, 0),
  );
  expect(read).toEqual(covered);
}

describe.skipIf(!HAVE_PYDICOM)('pydicom reads the SEG', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'lesionenc-seg-pydicom-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('decodes the bit-packed frames to the mask, with strict value checks', async () => {
    const labels = lesionLabels(geometry);
    const reference = fakeReference(5);
    const file = join(root, 'lesions.seg.dcm');
    await writeDicomSeg(file, labels, {
      reference,
      segments: LESION_SEG_SEGMENTS,
      contentLabel: 'LESIONS',
    });
    const view = readWithPydicom(file);
    expect(view.sopClassUid).toBe(SEG_SOP_CLASS_UID);
    expect(view.modality).toBe('SEG');
    expect(view.studyInstanceUid).toBe(reference.StudyInstanceUID);
    expect(view.frameOfReferenceUid).toBe(reference.FrameOfReferenceUID);
    expect(view.referencedSeriesUid).toBe(reference.SeriesInstanceUID);
    expect(view.shape).toEqual([11, 7, 9]);
    expect(view.orientation).toEqual([1, 0, 0, 0, 1, 0]);
    expect(view.pixelSpacing).toEqual([0.7, 0.75]);
    expect(view.segments).toEqual([
      {
        number: 1,
        label: 'Ground-glass opacity',
        category: '49755003',
        type: '112120',
        scheme: 'DCM',
      },
      { number: 2, label: 'Consolidation', category: '49755003', type: '95436008', scheme: 'SCT' },
      {
        number: 3,
        label: 'Pleural effusion',
        category: '49755003',
        type: '60046008',
        scheme: 'SCT',
      },
    ]);
    for (const frame of view.frames) {
      const k = Math.round((frame.position[2]! - 33) / 2.5);
      expect(frame.source).toBe(reference.slices[k]!.SOPInstanceUID);
    }
    expectPydicomAgrees(view, labels, [1, 2, 3]);
  });
});

const dataDir = process.env.LESIONENC_DATA_DIR;

describe.skipIf(!dataDir)('SEG of the real GE series (LESIONENC_DATA_DIR)', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'lesionenc-seg-real-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('references the three GE images and round-trips an HU-threshold mask', async () => {
    const folder = join(dataDir!, 'dicom', 'ge-3slice');
    const { volume } = await readDicomSeries(folder);
    const reference = dicomSeriesReferenceOf(volume)!;
    const headers = await Promise.all(
      (await readdir(folder)).map(async (f) =>
        parseDicomHeader(new Uint8Array(await readFile(join(folder, f)))),
      ),
    );
    expect(new Set(reference.instances.map((i) => i.SOPInstanceUID))).toEqual(
      new Set(headers.map((h) => h.SOPInstanceUID)),
    );
    expect(reference.FrameOfReferenceUID).toBe(headers[0]!.FrameOfReferenceUID);

    // Air-like voxels (lung) as 1, bone-like as 2.
    const data = Uint8Array.from(volume.data, (hu) =>
      hu < -400 && hu > -1000 ? 1 : hu > 300 ? 2 : 0,
    );
    const labels = createLabelMap(data, volume.geometry, LUNG_CLASSES);
    const file = join(root, 'ge.seg.dcm');
    const written = await writeDicomSeg(file, labels, {
      reference,
      segments: LUNG_SEG_SEGMENTS,
      contentLabel: 'LUNGS',
    });
    expect(written.frameCount).toBe(6);
    const seg = await readDicomSeg(file);
    expect(seg.StudyInstanceUID).toBe(headers[0]!.StudyInstanceUID);
    expect(seg.ReferencedSeriesInstanceUID).toBe(headers[0]!.SeriesInstanceUID);
    for (const frame of seg.frames) {
      const source = headers.find((h) => h.SOPInstanceUID === frame.ReferencedSOPInstanceUID)!;
      frame.ImagePositionPatient.forEach((v, r) =>
        expect(v).toBeCloseTo(source.ImagePositionPatient![r]!, 4),
      );
    }
    expect(Array.from(dicomSegToLabelMap(seg, volume.geometry).data)).toEqual(Array.from(data));
    if (HAVE_PYDICOM) expectPydicomAgrees(readWithPydicom(file), labels, [1, 2]);
    if (HAVE_DCMDUMP) {
      const run = spawnSync('dcmdump', ['-dc', file], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stderr).toBe('');
    }
  });
});
