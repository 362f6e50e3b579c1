// The Part 10 writer against dicom-parser: every VR it writes reads back, and values a VR cannot
// hold are refused with the tag in the message.
import { describe, expect, it } from 'vitest';

import { isLesionEncError } from '@lesionenc/base';

import { dicomParser } from './dicom-parser';
import {
  type WriterElement,
  encodeDataSet,
  encodePart10,
  formatDecimalString,
} from './dicom-writer';

// 16 characters keep 14 significant digits in plain notation, 11 with an exponent.
const DS_RELATIVE_ERROR = 1e-10;

const META = {
  sopClassUid: '1.2.840.10008.5.1.4.1.1.66.4',
  sopInstanceUid: '2.25.1',
  implementationClassUid: '2.25.2',
  implementationVersionName: 'TEST',
};

function expectInvalid(elements: WriterElement[], message: RegExp): void {
  try {
    encodeDataSet(elements);
    expect.unreachable('should have thrown');
  } catch (error) {
    expect(isLesionEncError(error, 'INVALID_ARGUMENT'), String(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
  }
}

describe('encodePart10', () => {
  it('writes values dicom-parser reads back, sequences included', () => {
    const bytes = encodePart10(META, [
      { tag: 0x00080060, vr: 'CS', value: 'SEG' },
      { tag: 0x00080008, vr: 'CS', value: ['DERIVED', 'PRIMARY'] },
      { tag: 0x00100010, vr: 'PN', value: 'Doe^Jane' },
      { tag: 0x00200032, vr: 'DS', value: ['-12.5', '3', '1e-7'] },
      { tag: 0x00280010, vr: 'US', value: 513 },
      { tag: 0x00209157, vr: 'UL', value: [1, 70000] },
      { tag: 0x00209165, vr: 'AT', value: 0x0062000b },
      { tag: 0x00189089, vr: 'FD', value: [0.25, -1] },
      { tag: 0x00081030, vr: 'LO', value: '' },
      {
        tag: 0x00081115,
        vr: 'SQ',
        value: [
          [{ tag: 0x0020000e, vr: 'UI', value: '1.2.3' }],
          [{ tag: 0x0020000e, vr: 'UI', value: '1.2.34' }],
        ],
      },
      { tag: 0x7fe00010, vr: 'OB', value: new Uint8Array([1, 2, 3]) },
    ]);
    const d = dicomParser().parseDicom(bytes);
    expect(d.string('x00020010')).toBe('1.2.840.10008.1.2.1');
    expect(d.string('x00020002')).toBe(META.sopClassUid);
    expect(d.string('x00080060')).toBe('SEG');
    expect(d.string('x00080008', 1)).toBe('PRIMARY');
    expect(d.string('x00100010')).toBe('Doe^Jane');
    expect([0, 1, 2].map((n) => d.floatString('x00200032', n))).toEqual([-12.5, 3, 1e-7]);
    expect(d.uint16('x00280010')).toBe(513);
    expect(d.uint32('x00209157', 1)).toBe(70000);
    expect(d.attributeTag('x00209165')).toBe('x0062000b');
    expect(d.double('x00189089', 1)).toBe(-1);
    expect(d.elements['x00081030']!.length).toBe(0);
    const items = d.elements['x00081115']!.items!;
    expect(items.map((i) => i.dataSet!.string('x0020000e'))).toEqual(['1.2.3', '1.2.34']);
    const pixels = d.elements['x7fe00010']!;
    // Odd byte values are padded to an even length.
    expect(pixels.length).toBe(4);
    expect(Array.from(bytes.subarray(pixels.dataOffset, pixels.dataOffset + 4))).toEqual([
      1, 2, 3, 0,
    ]);
  });
});

describe('encodeDataSet on values a VR cannot hold', () => {
  it.each([
    [[{ tag: 0x00080060, vr: 'CS', value: 'X'.repeat(17) }], /\(0008,0060\).*at most 16/],
    [[{ tag: 0x00280010, vr: 'US', value: 1.5 }], /\(0028,0010\).*integers/],
    [[{ tag: 0x00280010, vr: 'US', value: 70000 }], /0\.\.65535/],
    [[{ tag: 0x00100010, vr: 'PN', value: 'a\\b' }], /one value for VR PN|backslash/],
    [[{ tag: 0x00081030, vr: 'LO', value: 'lung \u80ba' }], /single-byte/],
    [
      [
        { tag: 0x00080060, vr: 'CS', value: 'A' },
        { tag: 0x00080060, vr: 'CS', value: 'B' },
      ],
      /each tag once/,
    ],
  ] as [WriterElement[], RegExp][])('refuses %j', (elements, message) => {
    expectInvalid(elements, message);
  });
});

describe('formatDecimalString', () => {
  it.each([0, -0, 1, -120.25, 0.1 + 0.2, -123.45678901234567, 1e-20, 123456789012345680, Math.PI])(
    'writes %d in at most 16 characters that read back close to it',
    (value) => {
      const text = formatDecimalString(value);
      expect(text.length).toBeLessThanOrEqual(16);
      expect(text).toMatch(/^[-+0-9.eE]+$/);
      expect(Math.abs(Number(text) - value)).toBeLessThanOrEqual(
        Math.abs(value) * DS_RELATIVE_ERROR,
      );
    },
  );
});
