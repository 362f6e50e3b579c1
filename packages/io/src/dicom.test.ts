// Tests of the DICOM series reader on synthetic series (own writer and dcmtk) and the real files.
import { execFileSync } from 'node:child_process';
import {
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AXIAL_LPS_DIRECTION, isLesionEncError } from '@lesionenc/base';

import { decodeDicomImage, parseDicomHeader } from './dicom';
import { listDicomSeries, readDicomSeries } from './dicom-node';
import { decodeDicomSeries } from './dicom-series';
import * as jpegModule from 'jpeg-js';

import {
  type TestElement,
  type TestSeriesOptions,
  encapsulatedPixelData,
  encodeTestDicom,
  syntheticChest,
  writeTestSeries,
} from './testing/dicom-writer';

// Largest grey-level error of a quality-95 baseline JPEG of a smooth ramp.
const JPEG_TOLERANCE = 3;
// Geometry parsed from decimal strings written with 4 decimals.
const POSITION_TOLERANCE_MM = 1e-4;

function onPath(tool: string): boolean {
  try {
    execFileSync('which', [tool], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const HAVE_DCMTK = onPath('dcmcjpeg') && onPath('dcmconv');
if (!HAVE_DCMTK) {
  // Printed once so a skipped case is never mistaken for a passing one.
  console.info('dcmtk (dcmcjpeg, dcmconv) not on PATH: compressed-series cases are skipped');
}

async function expectCode(run: () => Promise<unknown>, code: string, message?: RegExp) {
  try {
    await run();
    expect.unreachable('should have thrown');
  } catch (error) {
    expect(isLesionEncError(error), String(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    if (message !== undefined) expect((error as Error).message).toMatch(message);
  }
}

const chest = syntheticChest({ slices: 6, rows: 48, columns: 40 }, 3);
let root: string;
let counter = 0;

async function series(options: TestSeriesOptions = {}): Promise<string> {
  const folder = join(root, `s${counter++}`);
  await writeTestSeries(folder, chest, options);
  return folder;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lesionenc-dicom-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('readDicomSeries on synthetic series', () => {
  it('sorts by position (not file name or InstanceNumber) and keeps every voxel and the geometry', async () => {
    const folder = await series({ fileOrder: [3, 0, 5, 1, 4, 2] });
    const { volume, skipped, warnings, selected } = await readDicomSeries(folder);
    expect(skipped).toEqual([]);
    expect(warnings).toEqual([]);
    expect(selected.imageCount).toBe(6);
    expect(volume.data).toBeInstanceOf(Int16Array);
    expect(Array.from(volume.data)).toEqual(Array.from(chest.data));
    const g = volume.geometry;
    expect(g.shape).toEqual([6, 48, 40]);
    expect(g.spacingMm[0]).toBeCloseTo(1.25, 6);
    expect(g.spacingMm[1]).toBeCloseTo(0.7, 9);
    expect(g.spacingMm[2]).toBeCloseTo(0.75, 9);
    g.originMm.forEach((o, r) =>
      expect(Math.abs(o - chest.originMm[r]!)).toBeLessThan(POSITION_TOLERANCE_MM),
    );
    expect(g.direction).toEqual(AXIAL_LPS_DIRECTION);
    expect(volume.metadata.modality).toBe('CT');
    expect(volume.metadata.orientation).toBe('LPS');
  });

  it.each(['implicit-le', 'explicit-be', 'deflate'] as const)(
    'reads %s voxel-identical',
    async (syntax) => {
      const { volume } = await readDicomSeries(await series({ syntax }));
      expect(Array.from(volume.data)).toEqual(Array.from(chest.data));
    },
  );

  it('applies unsigned storage, 12 stored bits, fractional slopes and padding', async () => {
    const unsigned = await readDicomSeries(await series({ unsigned: true, bitsStored: 12 }));
    expect(Array.from(unsigned.volume.data)).toEqual(Array.from(chest.data));

    // Stored = (HU + 1024) / 0.5 keeps every HU exact; the volume becomes float32.
    const scaled = await readDicomSeries(
      await series({ rescaleSlope: 0.5, rescaleIntercept: -1024 }),
    );
    expect(scaled.volume.data).toBeInstanceOf(Float32Array);
    expect(Array.from(scaled.volume.data)).toEqual(Array.from(chest.data));

    const padded = await readDicomSeries(
      await series({ paddingValue: 0, rescaleIntercept: -1000 }),
      {
        paddingHu: -2000,
      },
    );
    const expected = Array.from(chest.data).map((v) => (v === -1024 ? -2000 : v));
    expect(Array.from(padded.volume.data)).toEqual(expected);
  });

  it('promotes to float32 when rescaled values leave the int16 range', async () => {
    const stored = new Uint16Array([0, 1, 40000, 65535]);
    const bytes = encodeTestDicom(
      [
        { tag: [0x0008, 0x0060], vr: 'CS', value: 'CT' },
        { tag: [0x0020, 0x000e], vr: 'UI', value: '1.2.3' },
        { tag: [0x0028, 0x0010], vr: 'US', value: 2 },
        { tag: [0x0028, 0x0011], vr: 'US', value: 2 },
        { tag: [0x0028, 0x0100], vr: 'US', value: 16 },
        { tag: [0x0028, 0x0101], vr: 'US', value: 16 },
        { tag: [0x0028, 0x0103], vr: 'US', value: 0 },
        { tag: [0x0028, 0x1052], vr: 'DS', value: '-1024' },
        { tag: [0x0028, 0x1053], vr: 'DS', value: '1' },
        { tag: [0x7fe0, 0x0010], vr: 'OW', value: stored },
      ],
      'explicit-le',
      '1.2.3.1',
    );
    const { volume } = await decodeDicomSeries([{ name: 'wide.dcm', bytes }]);
    expect(volume.data).toBeInstanceOf(Float32Array);
    expect(Array.from(volume.data)).toEqual([-1024, -1023, 40000 - 1024, 65535 - 1024]);
  });

  it('promotes to float32 at a middle slice while later slices are still being read', async () => {
    // Slices after the wide one were read into the int16 volume before it was promoted.
    const slices = [
      [0, 1, 2, 3],
      [4, 65535, 6, 7],
      [8, 9, 10, 11],
      [12, 13, 14, 15],
    ];
    const files = slices.map((values, k) => ({
      name: `wide-${k}.dcm`,
      bytes: encodeTestDicom(
        [
          { tag: [0x0008, 0x0060], vr: 'CS', value: 'CT' },
          { tag: [0x0020, 0x000e], vr: 'UI', value: '1.2.3' },
          { tag: [0x0020, 0x0032], vr: 'DS', value: `0\\0\\${k}` },
          { tag: [0x0020, 0x0037], vr: 'DS', value: '1\\0\\0\\0\\1\\0' },
          { tag: [0x0028, 0x0010], vr: 'US', value: 2 },
          { tag: [0x0028, 0x0011], vr: 'US', value: 2 },
          { tag: [0x0028, 0x0100], vr: 'US', value: 16 },
          { tag: [0x0028, 0x0101], vr: 'US', value: 16 },
          { tag: [0x0028, 0x0103], vr: 'US', value: 0 },
          { tag: [0x0028, 0x1052], vr: 'DS', value: '-1024' },
          { tag: [0x0028, 0x1053], vr: 'DS', value: '1' },
          { tag: [0x7fe0, 0x0010], vr: 'OW', value: new Uint16Array(values) },
        ],
        'explicit-le',
        `1.2.3.${k + 1}`,
      ),
    }));
    const { volume } = await decodeDicomSeries(files);
    expect(volume.data).toBeInstanceOf(Float32Array);
    expect(Array.from(volume.data)).toEqual(slices.flat().map((v) => v - 1024));
  });

  it('reports gantry tilt, uneven spacing and mixed sizes with their codes', async () => {
    await expectCode(
      async () => readDicomSeries(await series({ tiltShiftMm: 0.5 })),
      'GANTRY_TILT',
      /drift/,
    );
    await expectCode(
      async () => readDicomSeries(await series({ omitSlices: [2] })),
      'UNEVEN_SPACING',
      /2\.500 mm/,
    );
    await expectCode(
      async () => readDicomSeries(await series({ mixSizeAt: 4 })),
      'MIXED_SERIES',
      /48x40, 48x39/,
    );
  });

  it('drops duplicate positions and reports them', async () => {
    const folder = await series();
    await copyFile(join(folder, 'img-0002.dcm'), join(folder, 'img-0002-copy.dcm'));
    const { volume, skipped } = await readDicomSeries(folder);
    expect(volume.geometry.shape[0]).toBe(6);
    expect(skipped.map((s) => s.reason)).toEqual(['duplicate slice position']);
    expect(Array.from(volume.data)).toEqual(Array.from(chest.data));
  });

  it('falls back with warnings when Modality, positions or spacing are missing', async () => {
    const noModality = await readDicomSeries(
      await series({ omitTags: ['Modality', 'PixelSpacing'] }),
    );
    expect(noModality.warnings.join('\n')).toMatch(/no Modality/);
    expect(noModality.warnings.join('\n')).toMatch(/no PixelSpacing/);
    expect(noModality.volume.geometry.spacingMm[1]).toBe(1);

    // Without positions the only order left is InstanceNumber, which the writer runs backwards.
    const noPosition = await readDicomSeries(await series({ omitTags: ['ImagePositionPatient'] }));
    expect(noPosition.warnings.join('\n')).toMatch(/InstanceNumber/);
    const size = 48 * 40;
    expect(Array.from(noPosition.volume.data.subarray(0, size))).toEqual(
      Array.from(chest.data.subarray(5 * size, 6 * size)),
    );
    expect(noPosition.volume.geometry.spacingMm[0]).toBeCloseTo(1.25, 9);

    const one = await readDicomSeries(join(await series(), 'img-0003.dcm'));
    expect(one.volume.geometry.shape).toEqual([1, 48, 40]);
    expect(one.volume.geometry.spacingMm[0]).toBeCloseTo(1.25, 9);
    expect(one.warnings.join('\n')).toMatch(/SliceThickness/);
  });

  it('loads the good series among bad files and names them', async () => {
    const folder = await series();
    await writeFile(join(folder, 'empty.dcm'), new Uint8Array(0));
    await writeFile(join(folder, 'notes.txt'), 'not an image\n');
    await copyFile(join(folder, 'img-0000.dcm'), join(folder, 'truncated.dcm'));
    await truncate(join(folder, 'truncated.dcm'), 3000);
    await copyFile(join(folder, 'img-0001.dcm'), join(folder, 'header-only.dcm'));
    await truncate(join(folder, 'header-only.dcm'), 200);
    const { volume, skipped } = await readDicomSeries(folder);
    expect(Array.from(volume.data)).toEqual(Array.from(chest.data));
    const byName = Object.fromEntries(skipped.map((s) => [s.file.split('/').pop(), s.code]));
    expect(byName).toEqual({
      'empty.dcm': 'CORRUPT_FILE',
      'notes.txt': 'UNSUPPORTED_FORMAT',
      'truncated.dcm': 'CORRUPT_FILE',
      'header-only.dcm': 'CORRUPT_FILE',
    });
  });

  it('fails clearly on a folder without images and on a missing path', async () => {
    const folder = join(root, 'junk');
    await mkdir(folder);
    await writeFile(join(folder, 'a.txt'), 'hello');
    await expectCode(() => readDicomSeries(folder), 'UNSUPPORTED_FORMAT', /a\.txt/);
    await expectCode(() => readDicomSeries(join(root, 'nothing-here')), 'FILE_NOT_FOUND');
  });

  it('lists every series and loads the one asked for', async () => {
    const folder = join(root, 'two-series');
    await writeTestSeries(join(folder, 'a'), chest, { seriesInstanceUid: '1.2.3.4' });
    await writeTestSeries(join(folder, 'b'), chest, {
      seriesInstanceUid: '1.2.3.5',
      omitSlices: [4, 5],
    });
    const listed = await listDicomSeries(folder);
    expect(listed.series.map((s) => [s.seriesInstanceUid, s.imageCount])).toEqual([
      ['1.2.3.4', 6],
      ['1.2.3.5', 4],
    ]);
    const largest = await readDicomSeries(folder);
    expect(largest.selected.seriesInstanceUid).toBe('1.2.3.4');
    const chosen = await readDicomSeries(folder, { seriesInstanceUid: '1.2.3.5' });
    expect(chosen.volume.geometry.shape[0]).toBe(4);
    await expectCode(
      () => readDicomSeries(folder, { seriesInstanceUid: '9.9' }),
      'INVALID_ARGUMENT',
      /1\.2\.3\.4/,
    );
  });

  it('decodes from bytes without touching the file system', async () => {
    const folder = await series();
    const names = (await readdir(folder)).sort();
    const files = await Promise.all(
      names.map(async (name) => ({
        name,
        bytes: new Uint8Array(await readFile(join(folder, name))),
      })),
    );
    const { volume } = await decodeDicomSeries(files);
    expect(Array.from(volume.data)).toEqual(Array.from(chest.data));
  });

  it('reports Pixel Data shorter than Rows x Columns, read from a file or from bytes', async () => {
    // The series reader reads native pixels on their own, by the element's offset and length.
    const elements: TestElement[] = [
      { tag: [0x0008, 0x0016], vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
      { tag: [0x0008, 0x0060], vr: 'CS', value: 'CT' },
      { tag: [0x0028, 0x0002], vr: 'US', value: 1 },
      { tag: [0x0028, 0x0004], vr: 'CS', value: 'MONOCHROME2' },
      { tag: [0x0028, 0x0010], vr: 'US', value: 4 },
      { tag: [0x0028, 0x0011], vr: 'US', value: 4 },
      { tag: [0x0028, 0x0100], vr: 'US', value: 16 },
      { tag: [0x0028, 0x0101], vr: 'US', value: 16 },
      { tag: [0x0028, 0x0103], vr: 'US', value: 0 },
      { tag: [0x7fe0, 0x0010], vr: 'OW', value: new Uint16Array(10) },
    ];
    const bytes = encodeTestDicom(elements, 'explicit-le', '1.2.3.9');
    const folder = join(root, `short-${counter++}`);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'short.dcm'), bytes);
    await expectCode(() => readDicomSeries(folder), 'CORRUPT_FILE', /expected 32 bytes.*got 20/);
    await expectCode(
      () => decodeDicomSeries([{ name: 'short.dcm', bytes }]),
      'CORRUPT_FILE',
      /expected 32 bytes.*got 20/,
    );
  });

  it('honours an abort signal', async () => {
    const folder = await series();
    const controller = new AbortController();
    controller.abort();
    await expectCode(() => readDicomSeries(folder, { signal: controller.signal }), 'ABORTED');
  });
});

describe('encapsulated frames made in-process', () => {
  const rows = 48;
  const columns = 64;

  function frameFile(
    pixels: TestElement,
    syntaxUid: string,
    bits: 8 | 16,
    signed: boolean,
  ): Uint8Array {
    return encodeTestDicom(
      [
        { tag: [0x0008, 0x0060], vr: 'CS', value: 'CT' },
        { tag: [0x0020, 0x000e], vr: 'UI', value: '1.2.3.9' },
        { tag: [0x0028, 0x0002], vr: 'US', value: 1 },
        { tag: [0x0028, 0x0004], vr: 'CS', value: 'MONOCHROME2' },
        { tag: [0x0028, 0x0010], vr: 'US', value: rows },
        { tag: [0x0028, 0x0011], vr: 'US', value: columns },
        { tag: [0x0028, 0x0100], vr: 'US', value: bits },
        { tag: [0x0028, 0x0101], vr: 'US', value: bits },
        { tag: [0x0028, 0x0103], vr: 'US', value: signed ? 1 : 0 },
        pixels,
      ],
      { uid: syntaxUid },
      '1.2.3.9.1',
    );
  }

  it('decodes a lossless JPEG 2000 frame exactly', async () => {
    const openjpeg = (await (
      await import('@cornerstonejs/codec-openjpeg')
    ).default({
      print: () => undefined,
      printErr: () => undefined,
    })) as Record<
      string,
      new () => {
        getDecodedBuffer(info: Record<string, unknown>): Uint8Array;
        setDecompositions(n: number): void;
        setQuality(lossless: boolean, quality: number): void;
        encode(): void;
        getEncodedBuffer(): Uint8Array;
      }
    >;
    const encoder = new openjpeg.J2KEncoder!();
    const input = encoder.getDecodedBuffer({
      width: columns,
      height: rows,
      bitsPerSample: 16,
      componentCount: 1,
      isSigned: true,
      isUsingColorTransform: false,
    });
    const values = new Int16Array(rows * columns).map((_, n) => ((n * 97) % 3000) - 1024);
    new Int16Array(input.buffer, input.byteOffset, values.length).set(values);
    encoder.setDecompositions(2);
    encoder.setQuality(true, 0);
    encoder.encode();
    const codestream = encoder.getEncodedBuffer().slice();
    const bytes = frameFile(encapsulatedPixelData(codestream), '1.2.840.10008.1.2.4.90', 16, true);
    const image = await decodeDicomImage(bytes, { file: 'j2k.dcm' });
    expect(Array.from(image.stored)).toEqual(Array.from(values));
  });

  it('decodes an 8-bit baseline JPEG frame within the codec loss', async () => {
    const grey = new Uint8Array(rows * columns).map((_, n) => 60 + (n % columns));
    const rgba = new Uint8Array(rows * columns * 4);
    grey.forEach((g, n) => rgba.set([g, g, g, 255], 4 * n));
    const jpeg = jpegModule.encode({ width: columns, height: rows, data: rgba }, 95).data;
    const bytes = frameFile(
      encapsulatedPixelData(new Uint8Array(jpeg)),
      '1.2.840.10008.1.2.4.50',
      8,
      false,
    );
    const image = await decodeDicomImage(bytes);
    let worst = 0;
    for (let n = 0; n < grey.length; n++)
      worst = Math.max(worst, Math.abs(image.stored[n]! - grey[n]!));
    expect(worst).toBeLessThanOrEqual(JPEG_TOLERANCE);
  });

  it('reports an unknown transfer syntax and a broken codestream with their codes', async () => {
    const junk = encapsulatedPixelData(new Uint8Array([1, 2, 3, 4, 5, 6]));
    await expectCode(
      () =>
        decodeDicomImage(frameFile(junk, '1.2.840.10008.1.2.4.100', 16, true), {
          file: 'mpeg.dcm',
        }),
      'UNSUPPORTED_FORMAT',
      /^mpeg\.dcm: .*transfer syntax/,
    );
    await expectCode(
      () =>
        decodeDicomImage(frameFile(junk, '1.2.840.10008.1.2.4.70', 16, true), { file: 'bad.dcm' }),
      'CORRUPT_FILE',
      /^bad\.dcm: JPEG Lossless/,
    );
  });
});

describe.skipIf(!HAVE_DCMTK)('readDicomSeries on series transcoded by dcmtk', () => {
  const cases: [string, string, string[]][] = [
    ['JPEG Lossless SV1', 'dcmcjpeg', ['+e1']],
    ['JPEG Lossless process 14', 'dcmcjpeg', ['+el']],
    ['explicit big endian', 'dcmconv', ['+tb']],
    ['deflated', 'dcmconv', ['+td']],
    ['implicit little endian', 'dcmconv', ['+ti']],
    ['JPEG-LS lossless', 'dcmcjpls', []],
    ['RLE', 'dcmcrle', []],
  ];

  it.each(cases)(
    '%s loads voxel-identical to the uncompressed series',
    async (_name, tool, args) => {
      if (!onPath(tool)) return;
      const source = await series({ fileOrder: [2, 4, 0, 1, 5, 3] });
      const target = join(root, `t${counter++}`);
      await mkdir(target);
      for (const name of await readdir(source)) {
        execFileSync(tool, [...args, join(source, name), join(target, name)], { stdio: 'pipe' });
      }
      const { volume } = await readDicomSeries(target);
      const reference = await readDicomSeries(source);
      expect(Array.from(volume.data)).toEqual(Array.from(reference.volume.data));
      expect(volume.geometry).toEqual(reference.volume.geometry);
      const syntax = parseDicomHeader(
        new Uint8Array(await readFile(join(target, 'img-0000.dcm'))),
      ).TransferSyntaxUID;
      expect(volume.metadata.transferSyntaxUid).toBe(syntax);
    },
  );

  it('reads a 12-bit unsigned JPEG Lossless series', async () => {
    const source = await series({ unsigned: true, bitsStored: 12 });
    const target = join(root, `t${counter++}`);
    await mkdir(target);
    for (const name of await readdir(source)) {
      execFileSync('dcmcjpeg', ['+e1', join(source, name), join(target, name)], { stdio: 'pipe' });
    }
    const { volume } = await readDicomSeries(target);
    expect(Array.from(volume.data)).toEqual(Array.from(chest.data));
  });
});

const dataDir = process.env.LESIONENC_DATA_DIR;

describe.skipIf(!dataDir)('real DICOM files (LESIONENC_DATA_DIR)', () => {
  it('loads the GE 3-slice series with the geometry its headers state', async () => {
    const folder = join(dataDir!, 'dicom', 'ge-3slice');
    const { volume, warnings } = await readDicomSeries(folder);
    expect(warnings).toEqual([]);
    const g = volume.geometry;
    expect(g.shape).toEqual([3, 512, 512]);
    expect(g.spacingMm[0]).toBeCloseTo(1, 4);
    expect(g.spacingMm[1]).toBeCloseTo(0.810547, 6);
    expect(g.spacingMm[2]).toBeCloseTo(0.810547, 6);
    const headers = await Promise.all(
      ['01.dcm', '02.dcm', '03.dcm'].map(async (f) =>
        parseDicomHeader(new Uint8Array(await readFile(join(folder, f)))),
      ),
    );
    const lowest = headers.reduce((a, b) =>
      a.ImagePositionPatient![2] < b.ImagePositionPatient![2] ? a : b,
    );
    g.originMm.forEach((o, r) => expect(o).toBeCloseTo(lowest.ImagePositionPatient![r]!, 5));
    expect(volume.metadata.transferSyntaxUid).toBe('1.2.840.10008.1.2');

    // Slice 0 of the volume is the file at the lowest position, rescaled to HU.
    const image = await decodeDicomImage(
      new Uint8Array(
        await readFile(join(folder, ['01.dcm', '02.dcm', '03.dcm'][headers.indexOf(lowest)]!)),
      ),
    );
    const pad = image.header.PixelPaddingValue;
    const n = 512 * 256 + 256;
    const expected =
      image.stored[n] === pad
        ? -1024
        : image.stored[n]! * (image.header.RescaleSlope ?? 1) +
          (image.header.RescaleIntercept ?? 0);
    expect(volume.data[n]).toBe(expected);
  });

  it('loads the LIDC slice pair with a warning for the missing Modality', async () => {
    const { volume, warnings } = await readDicomSeries(join(dataDir!, 'dicom', 'lidc-slice'));
    expect(volume.geometry.shape).toEqual([2, 512, 512]);
    expect(volume.geometry.spacingMm[0]).toBeCloseTo(1, 6);
    expect(volume.geometry.spacingMm[1]).toBeCloseTo(0.625, 6);
    expect(warnings.join('\n')).toMatch(/no Modality/);
  });
});
