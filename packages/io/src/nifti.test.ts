// Tests of the NIfTI codec: nibabel-made references, round trips in all 48 orientations, bad input.
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  AXIAL_LPS_DIRECTION,
  type CtVolume,
  LUNG_CLASSES,
  createCtVolume,
  createLabelMap,
  isLesionEncError,
  voxelToWorldMm,
  worldMmToVoxel,
} from '@lesionenc/base';

import { decodeNifti, encodeNifti, niftiImageToVolume, type NiftiDatatype } from './nifti';
import { readNifti, readNiftiLabels, writeNifti } from './nifti-node';

const FIXTURES = new URL('../fixtures/nifti/', import.meta.url);
// World positions agree to float32 precision of header fields of order 100 mm.
const POSITION_TOLERANCE_MM = 1e-3;
// A sample's world position maps back to a voxel centre within this fraction of a voxel.
const VOXEL_TOLERANCE = 1e-3;
// Values stored as float32 in the file and compared as float64.
const VALUE_TOLERANCE = 1e-6;

interface Case {
  file: string;
  shape: number[];
  dtype: string;
  axcodes: string;
  sum: number;
  samples: { ijk: number[]; ras: number[]; value: number }[];
}

async function fixture(name: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(new URL(name, FIXTURES)));
}

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

async function expectCodeAsync(run: () => Promise<unknown>, code: string, message?: RegExp) {
  try {
    await run();
    expect.unreachable('should have thrown');
  } catch (error) {
    expect(isLesionEncError(error), String(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    if (message !== undefined) expect((error as Error).message).toMatch(message);
  }
}

function valueAt(volume: { data: ArrayLike<number>; geometry: CtVolume['geometry'] }, k: number[]) {
  const [, rows, columns] = volume.geometry.shape;
  return volume.data[(k[0]! * rows + k[1]!) * columns + k[2]!]!;
}

describe('decodeNifti against nibabel', async () => {
  const cases = JSON.parse(await readFile(new URL('cases.json', FIXTURES), 'utf8')) as Case[];

  it.each(cases.map((c) => [c.file, c] as const))('%s', async (_name, c) => {
    const image = decodeNifti(await fixture(c.file), { file: c.file });
    const { geometry } = image;

    // Canonical layout: every array axis points (nearly) along S, P, L.
    for (let a = 0; a < 3; a++) {
      const axis = [0, 1, 2].map((r) => geometry.direction[3 * r + a]!);
      const expected = [0, 1, 2].map((r) => AXIAL_LPS_DIRECTION[3 * r + a]!);
      const cosine = axis.reduce((s, v, r) => s + v * expected[r]!, 0);
      expect(cosine).toBeGreaterThan(Math.SQRT1_2);
    }
    expect([...geometry.shape].sort()).toEqual([...c.shape].sort());
    // Orientation letters are anatomical, so they match nibabel's aff2axcodes.
    expect(image.sourceOrientation).toBe(c.axcodes);

    // Each nibabel sample sits where nibabel says, with nibabel's value.
    for (const s of c.samples) {
      const lps = [-s.ras[0]!, -s.ras[1]!, s.ras[2]!];
      const voxel = worldMmToVoxel(geometry, lps);
      const rounded = voxel.map(Math.round);
      voxel.forEach((v, a) => expect(Math.abs(v - rounded[a]!)).toBeLessThan(VOXEL_TOLERANCE));
      const back = voxelToWorldMm(geometry, rounded);
      back.forEach((v, r) => expect(Math.abs(v - lps[r]!)).toBeLessThan(POSITION_TOLERANCE_MM));
      expect(Math.abs(valueAt(image, rounded) - s.value)).toBeLessThanOrEqual(
        VALUE_TOLERANCE * Math.max(1, Math.abs(s.value)),
      );
    }
    let sum = 0;
    for (let n = 0; n < image.data.length; n++) sum += image.data[n]!;
    expect(Math.abs(sum - c.sum)).toBeLessThan(1e-6 * Math.max(1, Math.abs(c.sum)) * 120);
  });

  it('reports the transform used and applies scl_slope/scl_inter', async () => {
    expect(decodeNifti(await fixture('qform-only-oblique.nii')).transform).toBe('qform');
    expect(decodeNifti(await fixture('ras-int16.nii')).transform).toBe('sform');
    const scaled = decodeNifti(await fixture('scaled-int16.nii'));
    expect(scaled.scaled).toBe(true);
    expect(scaled.data).toBeInstanceOf(Float32Array);
    expect(decodeNifti(await fixture('ras-int16.nii')).data).toBeInstanceOf(Int16Array);
    expect(decodeNifti(await fixture('big-endian-int16.nii')).header.littleEndian).toBe(false);
    expect(decodeNifti(await fixture('nifti2-float32.nii.gz')).header.version).toBe(2);
  });
});

/** A canonical volume with distinct values, on an off-centre, anisotropic grid. */
function testVolume(direction: readonly number[] = AXIAL_LPS_DIRECTION): CtVolume {
  const shape = [3, 4, 5];
  const data = new Int16Array(60).map((_, n) => n * 37 - 900);
  return createCtVolume(data, {
    shape,
    spacingMm: [2.5, 0.75, 0.625],
    originMm: [-101.5, 33.25, 7.5],
    direction,
  });
}

/** The 48 signed permutation matrices (row-major 3x3). */
function allOrientations(): number[][] {
  const perms = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
  ];
  const out: number[][] = [];
  for (const p of perms) {
    for (let signs = 0; signs < 8; signs++) {
      const m = new Array<number>(9).fill(0);
      // Column a (array axis a) points along world axis p[a], with a sign.
      for (let a = 0; a < 3; a++) m[3 * p[a]! + a] = (signs >> a) & 1 ? -1 : 1;
      out.push(m);
    }
  }
  return out;
}

describe('encodeNifti -> decodeNifti', () => {
  it('is the identity on a canonical volume for every datatype, NIfTI-1 and -2, gzip or not', () => {
    const volume = testVolume();
    const datatypes: Exclude<NiftiDatatype, 'uint32'>[] = [
      'int16',
      'int32',
      'float32',
      'float64',
      'uint16',
      'uint8',
      'int8',
    ];
    for (const datatype of datatypes) {
      // uint8 and int8 need values in range: shift and fold them.
      const data =
        datatype === 'uint8'
          ? new Int16Array(volume.data.length).map((_, n) => (n * 7) % 256)
          : datatype === 'int8'
            ? new Int16Array(volume.data.length).map((_, n) => ((n * 7) % 256) - 128)
            : datatype === 'uint16'
              ? new Int16Array(volume.data.length).map((_, n) => n * 501)
              : volume.data;
      const source = createCtVolume(data, volume.geometry);
      for (const version of [1, 2] as const) {
        for (const gzip of [false, true]) {
          const bytes = encodeNifti(source, { datatype, version, gzip });
          const back = niftiImageToVolume(decodeNifti(bytes));
          expect(Array.from(back.data), `${datatype} v${version}`).toEqual(Array.from(data));
          expect(back.geometry.shape).toEqual(source.geometry.shape);
          back.geometry.spacingMm.forEach((s, a) =>
            expect(s).toBeCloseTo(source.geometry.spacingMm[a]!, 5),
          );
          back.geometry.originMm.forEach((o, a) =>
            expect(o).toBeCloseTo(source.geometry.originMm[a]!, 4),
          );
          expect(back.geometry.direction).toEqual(AXIAL_LPS_DIRECTION);
        }
      }
    }
  });

  it('keeps float32 values bit-exact, including negative zero and subnormals', () => {
    const base = testVolume();
    const data = new Float32Array(60).map((_, n) => (n - 30) / 7);
    data[0] = -0;
    data[1] = 1e-42;
    const back = decodeNifti(encodeNifti(createCtVolume(data, base.geometry)));
    expect(new Uint8Array(back.data.buffer)).toEqual(new Uint8Array(data.buffer));
  });

  it.each(allOrientations().map((m, n) => [n, m] as const))(
    'orientation %i: every voxel keeps its value at its world position',
    (_n, direction) => {
      const source = testVolume(direction);
      for (const version of [1, 2] as const) {
        const image = decodeNifti(encodeNifti(source, { version }));
        expect(image.geometry.direction.map((v) => Math.round(v))).toEqual([
          ...AXIAL_LPS_DIRECTION,
        ]);
        const [slices, rows, columns] = source.geometry.shape;
        const hit = new Uint8Array(image.data.length);
        for (let k = 0; k < slices; k++) {
          for (let i = 0; i < rows; i++) {
            for (let j = 0; j < columns; j++) {
              const world = voxelToWorldMm(source.geometry, [k, i, j]);
              const target = worldMmToVoxel(image.geometry, world).map(Math.round);
              const [, r2, c2] = image.geometry.shape;
              const index = (target[0]! * r2 + target[1]!) * c2 + target[2]!;
              expect(image.data[index]).toBe(valueAt(source, [k, i, j]));
              hit[index] = 1;
            }
          }
        }
        expect(hit.every((h) => h === 1)).toBe(true);
      }
    },
  );

  it('writes label maps as uint8 with the source geometry', () => {
    const geometry = testVolume(allOrientations()[13]).geometry;
    const labels = createLabelMap(
      new Uint8Array(60).map((_, n) => n % 3),
      geometry,
      LUNG_CLASSES,
    );
    const image = decodeNifti(encodeNifti(labels));
    expect(image.datatype).toBe('uint8');
    const world = voxelToWorldMm(geometry, [2, 1, 3]);
    const at = worldMmToVoxel(image.geometry, world).map(Math.round);
    expect(valueAt(image, at)).toBe(labels.data[(2 * 4 + 1) * 5 + 3]);
  });

  it('refuses values the datatype cannot hold instead of rounding or clipping', () => {
    const geometry = testVolume().geometry;
    const fractional = createCtVolume(new Float32Array(60).fill(0.5), geometry);
    expectCode(() => encodeNifti(fractional, { datatype: 'int16' }), 'INVALID_ARGUMENT', /integer/);
    const large = createCtVolume(new Int16Array(60).fill(300), geometry);
    expectCode(() => encodeNifti(large, { datatype: 'uint8' }), 'INVALID_ARGUMENT', /\[0, 255\]/);
  });
});

describe('decodeNifti on bad input', () => {
  const good = encodeNifti(testVolume());

  it('names the file and the problem', () => {
    expectCode(
      () => decodeNifti(good.subarray(0, 100), { file: 'a.nii' }),
      'CORRUPT_FILE',
      /^a\.nii: .*348/,
    );
    expectCode(
      () => decodeNifti(good.subarray(0, good.length - 10), { file: 'b.nii' }),
      'CORRUPT_FILE',
      /^b\.nii: voxel data: .*truncated/,
    );
    expectCode(
      () => decodeNifti(new Uint8Array(400), { file: 'c.nii' }),
      'UNSUPPORTED_FORMAT',
      /sizeof_hdr/,
    );
  });

  it('rejects corrupt and truncated gzip', () => {
    const gz = gzipSync(good);
    expectCode(
      () => decodeNifti(gz.subarray(0, gz.length / 2), { file: 'd.nii.gz' }),
      'CORRUPT_FILE',
      /gzip/,
    );
    const flipped = gz.slice();
    flipped[20] = flipped[20]! ^ 0xff;
    flipped[21] = flipped[21]! ^ 0xff;
    expectCode(() => decodeNifti(flipped, { file: 'e.nii.gz' }), 'CORRUPT_FILE');
  });

  it('rejects absurd dimensions before allocating', () => {
    const bad = good.slice();
    const view = new DataView(bad.buffer);
    view.setInt16(42, 32767, true);
    view.setInt16(44, 32767, true);
    view.setInt16(46, 32767, true);
    expectCode(() => decodeNifti(bad), 'INVALID_VOLUME', /voxels/);
    view.setInt16(42, -5, true);
    expectCode(() => decodeNifti(bad), 'INVALID_VOLUME', /positive/);
  });

  it('rejects 4D series, unknown datatypes and .hdr/.img pairs', () => {
    const bad = good.slice();
    const view = new DataView(bad.buffer);
    view.setInt16(40, 4, true);
    view.setInt16(48, 2, true);
    expectCode(() => decodeNifti(bad), 'UNSUPPORTED_FORMAT', /one 3D volume/);
    const dt = good.slice();
    new DataView(dt.buffer).setInt16(70, 1792, true);
    expectCode(() => decodeNifti(dt), 'UNSUPPORTED_FORMAT', /datatype/);
    const pair = good.slice();
    pair[345] = 'i'.charCodeAt(0);
    expectCode(() => decodeNifti(pair), 'UNSUPPORTED_FORMAT', /hdr\/\.img/);
  });

  it('rejects NaN voxels in a CT volume and singular transforms', () => {
    const data = new Float32Array(60);
    data[17] = Number.NaN;
    const geometry = testVolume().geometry;
    const bytes = encodeNifti({ data, geometry, unit: 'HU', metadata: {} });
    expectCode(
      () => niftiImageToVolume(decodeNifti(bytes), 'n.nii'),
      'INVALID_VOLUME',
      /^n\.nii: .*NaN/,
    );
    const singular = good.slice();
    const view = new DataView(singular.buffer);
    for (let o = 280; o < 328; o += 4) view.setFloat32(o, 0, true);
    for (let o = 256; o < 268; o += 4) view.setFloat32(o, 0, true);
    view.setFloat32(80, 0, true);
    expectCode(() => decodeNifti(singular), 'INVALID_GEOMETRY');
  });
});

describe('NIfTI files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lesionenc-nifti-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes .nii.gz gzipped and atomically, and reads it back', async () => {
    const volume = testVolume(allOrientations()[29]);
    const path = join(dir, 'ct.nii.gz');
    await writeNifti(path, volume);
    const bytes = await readFile(path);
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    expect((await readdir(dir)).filter((f) => f.includes('.tmp'))).toEqual([]);
    const back = await readNifti(path);
    expect(back.metadata.file).toBe(path);
    expect(back.data.length).toBe(volume.data.length);
  });

  it('reads label maps with a class table, a threshold, or classes found', async () => {
    const geometry = testVolume().geometry;
    const labels = createLabelMap(
      new Uint8Array(60).map((_, n) => n % 3),
      geometry,
      LUNG_CLASSES,
    );
    const path = join(dir, 'mask.nii');
    await writeNifti(path, labels);
    const read = await readNiftiLabels(path, [...LUNG_CLASSES]);
    expect(Array.from(read.data)).toEqual(Array.from(labels.data));
    expect(read.classes).toEqual(LUNG_CLASSES);
    const found = await readNiftiLabels(path);
    expect(found.classes.map((c) => c.value)).toEqual([0, 1, 2]);
    const thresholded = await readNiftiLabels(path, undefined, { threshold: 2 });
    expect(Array.from(thresholded.data)).toEqual(
      Array.from(labels.data).map((v) => (v >= 2 ? 1 : 0)),
    );

    const floats = createCtVolume(new Float32Array(60).fill(0.25), geometry);
    const floatPath = join(dir, 'float-mask.nii');
    await writeNifti(floatPath, floats);
    await expectCodeAsync(
      () => readNiftiLabels(floatPath),
      'INVALID_VOLUME',
      /float-mask\.nii: .*threshold/,
    );
    await expectCodeAsync(
      () => readNiftiLabels(path, [{ value: 0, name: 'background' }]),
      'INVALID_VOLUME',
      /mask\.nii: .*not in the class table/,
    );
  });

  it('reports missing, empty and folder paths', async () => {
    await expectCodeAsync(() => readNifti(join(dir, 'none.nii')), 'FILE_NOT_FOUND', /none\.nii/);
    const empty = join(dir, 'empty.nii');
    await writeFile(empty, new Uint8Array(0));
    await expectCodeAsync(() => readNifti(empty), 'CORRUPT_FILE', /empty\.nii: .*0 bytes/);
    await expectCodeAsync(() => readNifti(dir), 'FILE_NOT_FOUND', /folder/);
  });
});

const dataDir = process.env.LESIONENC_DATA_DIR;

describe.skipIf(!dataDir)('real NIfTI volumes (LESIONENC_DATA_DIR)', () => {
  it('loads the lucanode CT and masks with the geometry their headers state', async () => {
    const folder = join(dataDir!, 'volumes', 'lucanode');
    const files = (await readdir(folder)).filter((f) => /^ct_scan_\d+_short\.nii\.gz$/.test(f));
    expect(files.length).toBe(3);
    for (const f of files) {
      const ct = await readNifti(join(folder, f));
      expect(ct.geometry.shape[0]).toBe(15);
      expect(ct.data).toBeInstanceOf(Int16Array);
      ct.geometry.spacingMm.forEach((s) => expect(s).toBeCloseTo(1, 3));
      const mask = await readNiftiLabels(join(folder, f.replace('.nii.gz', '_mask.nii.gz')));
      expect(mask.geometry.shape).toEqual(ct.geometry.shape);
    }
  });

  it('loads the imlab LAS volumes into the canonical layout', async () => {
    const folder = join(dataDir!, 'volumes', 'imlab');
    const files = (await readdir(folder)).filter((f) => /-128x128x64\.nii\.gz$/.test(f));
    expect(files.length).toBe(4);
    for (const f of files) {
      const image = decodeNifti(new Uint8Array(await readFile(join(folder, f))), { file: f });
      expect(image.sourceOrientation).toBe('LAS');
      expect(image.geometry.shape).toEqual([64, 128, 128]);
      expect(image.geometry.direction.map((v) => Math.round(v))).toEqual([...AXIAL_LPS_DIRECTION]);
    }
  });
});
