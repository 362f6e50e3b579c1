// DICOM Segmentation objects: label maps out as BINARY SEG (PS3.3 A.51, C.8.20), and back in.
// Frames are the label map's axial slices; bits are packed as PS3.5 section 8.1.1 says.
import {
  type LabelClass,
  type LabelMap,
  type VolumeGeometry,
  LesionEncError,
  createLabelMap,
  voxelToWorldMm,
  worldMmToVoxel,
} from '@lesionenc/base';
import type { DataSet } from 'dicom-parser';

import { parseDicomDataSet } from './dicom';
import type { DicomInstanceReference, DicomSeriesReference } from './dicom-reference';
import { fileOption } from './internal/bytes';
import {
  type WriterElement,
  type WriterItem,
  encodePart10,
  formatDecimalString,
} from './internal/dicom-writer';

/** SOP Class UID of the Segmentation Storage IOD (PS3.4 B.5). */
export const SEG_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.66.4';

/** A coded concept, spelled as DICOM's Code Sequence Macro (PS3.3 table 8.8-1). */
export interface DicomCode {
  readonly CodeValue: string;
  readonly CodingSchemeDesignator: string;
  readonly CodeMeaning: string;
}

/**
 * The codes the project's segments use. `SCT` is SNOMED CT, `DCM` DICOM's own terminology
 * (PS3.16 annex D). Sources: the categories are from CID 7150 (Segmentation Property
 * Categories); right and left lung are the SNOMED CT body structures 3341006 and 44029006;
 * pleural effusion is SNOMED CT 60046008 as PS3.16 lists it; lung consolidation is the SNOMED CT
 * disorder 95436008. PS3.16 has no SNOMED CT concept for ground-glass opacity: it codes it as
 * DCM 112120 in CID 6102 and 6104 (chest findings), and that code is used here.
 */
export const SEG_CODES = Object.freeze({
  anatomicalStructure: code('123037004', 'SCT', 'Anatomical Structure'),
  morphologicallyAbnormalStructure: code('49755003', 'SCT', 'Morphologically Abnormal Structure'),
  rightLung: code('3341006', 'SCT', 'Right lung'),
  leftLung: code('44029006', 'SCT', 'Left lung'),
  groundGlassOpacity: code('112120', 'DCM', 'Ground glass opacity'),
  lungConsolidation: code('95436008', 'SCT', 'Lung consolidation'),
  pleuralEffusion: code('60046008', 'SCT', 'Pleural effusion'),
});

function code(value: string, scheme: string, meaning: string): DicomCode {
  return Object.freeze({ CodeValue: value, CodingSchemeDesignator: scheme, CodeMeaning: meaning });
}

/** One segment to write: which label value it marks and how it is described. */
export interface DicomSegmentDefinition {
  /** The label map value whose voxels form the segment (1-255). */
  readonly labelValue: number;
  /** Printable ASCII, at most 64 characters. */
  readonly SegmentLabel: string;
  readonly SegmentedPropertyCategory: DicomCode;
  readonly SegmentedPropertyType: DicomCode;
  /** Display colour, 0-255 sRGB; written as RecommendedDisplayCIELabValue. */
  readonly colorRgb?: readonly [number, number, number];
}

/** Segments of a lesion label map (`LESION_CLASSES`): ground-glass, consolidation, effusion. */
export const LESION_SEG_SEGMENTS: readonly DicomSegmentDefinition[] = Object.freeze([
  {
    labelValue: 1,
    SegmentLabel: 'Ground-glass opacity',
    SegmentedPropertyCategory: SEG_CODES.morphologicallyAbnormalStructure,
    SegmentedPropertyType: SEG_CODES.groundGlassOpacity,
    colorRgb: [240, 228, 66],
  },
  {
    labelValue: 2,
    SegmentLabel: 'Consolidation',
    SegmentedPropertyCategory: SEG_CODES.morphologicallyAbnormalStructure,
    SegmentedPropertyType: SEG_CODES.lungConsolidation,
    colorRgb: [213, 94, 0],
  },
  {
    labelValue: 3,
    SegmentLabel: 'Pleural effusion',
    SegmentedPropertyCategory: SEG_CODES.morphologicallyAbnormalStructure,
    SegmentedPropertyType: SEG_CODES.pleuralEffusion,
    colorRgb: [0, 114, 178],
  },
]);

/** Segments of a lung label map (`LUNG_CLASSES`): right and left lung. */
export const LUNG_SEG_SEGMENTS: readonly DicomSegmentDefinition[] = Object.freeze([
  {
    labelValue: 1,
    SegmentLabel: 'Right lung',
    SegmentedPropertyCategory: SEG_CODES.anatomicalStructure,
    SegmentedPropertyType: SEG_CODES.rightLung,
    colorRgb: [230, 159, 0],
  },
  {
    labelValue: 2,
    SegmentLabel: 'Left lung',
    SegmentedPropertyCategory: SEG_CODES.anatomicalStructure,
    SegmentedPropertyType: SEG_CODES.leftLung,
    colorRgb: [86, 180, 233],
  },
]);

/** Options of {@link encodeDicomSeg}. */
export interface EncodeDicomSegOptions {
  /** The source series: study, patient, frame of reference and images (`dicomSeriesReferenceOf`). */
  reference: DicomSeriesReference;
  /** One per segment, in SegmentNumber order (1, 2, ...). */
  segments: readonly DicomSegmentDefinition[];
  /** ContentLabel: upper-case letters, digits, space and underscore, at most 16. */
  contentLabel: string;
  /** ContentDescription. @defaultValue none */
  contentDescription?: string;
  /** SeriesDescription. @defaultValue `LesionEncoder segmentation` */
  seriesDescription?: string;
  /** A new series by default; pass one UID to put several SEG objects in one series. */
  seriesInstanceUid?: string;
  /** @defaultValue 900 */
  seriesNumber?: number;
  /** @defaultValue 1 */
  instanceNumber?: number;
  /** A new UID by default. */
  sopInstanceUid?: string;
  /** SegmentAlgorithmName of every segment. @defaultValue `LesionEncoder` */
  algorithmName?: string;
  /**
   * Write frames only where a segment has voxels (a segment with none gets one empty frame, so
   * every segment has a frame); `false` writes every slice for every segment. @defaultValue true
   */
  omitEmptyFrames?: boolean;
  /** SoftwareVersions. @defaultValue the package version */
  softwareVersions?: string;
  /** Content and instance creation date and time. @defaultValue now */
  now?: Date;
}

/** Frozen defaults of {@link EncodeDicomSegOptions}. */
export const DEFAULT_ENCODE_DICOM_SEG = Object.freeze({
  seriesDescription: 'LesionEncoder segmentation',
  seriesNumber: 900,
  instanceNumber: 1,
  algorithmName: 'LesionEncoder',
  omitEmptyFrames: true,
  softwareVersions: '0.1.0',
  manufacturer: 'LesionEncoder for TypeScript',
  manufacturerModelName: 'lesionenc',
  deviceSerialNumber: 'none',
});

/** What {@link encodeDicomSeg} made. */
export interface EncodedDicomSeg {
  /** The Part 10 file. */
  readonly bytes: Uint8Array;
  readonly sopInstanceUid: string;
  readonly seriesInstanceUid: string;
  /** Frames written, over all segments. */
  readonly frameCount: number;
  /** Voxels of each segment, in SegmentNumber order. */
  readonly segmentVoxels: readonly number[];
  /** What had to be made up (a frame of reference the source lacked, ...). */
  readonly warnings: readonly string[];
}

// The root under which UIDs made of a UUID live (PS3.5 B.2).
const UUID_ROOT = '2.25.';
// This writer's ImplementationClassUID: a UUID-derived UID fixed for this implementation.
const IMPLEMENTATION_CLASS_UID = '2.25.244437961359616357416738929716335011573';
const IMPLEMENTATION_VERSION_NAME = 'LESIONENC_0_1';
const CONTENT_LABEL = /^[A-Z0-9_ ]{1,16}$/;
const UID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * Makes a new globally unique DICOM UID from a random (version 4) UUID: `2.25.` followed by the
 * UUID as one decimal integer (PS3.5 B.2).
 *
 * @returns A UID of at most 44 characters.
 */
export function createDicomUid(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  // RFC 4122 version 4, variant 1.
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return UUID_ROOT + BigInt(`0x${hex}`).toString(10);
}

function invalid(message: string, details?: Record<string, unknown>): LesionEncError {
  return new LesionEncError('INVALID_ARGUMENT', message, details === undefined ? {} : { details });
}

function checkUid(what: string, uid: string | undefined): string {
  if (uid === undefined || uid.length === 0)
    throw invalid(`DICOM SEG ${what}: expected a UID, got none (the source series lacks it)`);
  if (uid.length > 64 || !UID.test(uid))
    throw invalid(`DICOM SEG ${what}: expected a UID of digits and dots, got '${uid}'`);
  return uid;
}

/**
 * Converts a display colour to DICOM's scaled CIELab (PS3.3 C.10.7.1.1), as
 * RecommendedDisplayCIELabValue holds it: D50 white as in the ICC profile connection space.
 *
 * @param rgb - sRGB, 0-255 per channel.
 * @returns L*, a*, b* scaled to 0-65535 (L* 0-100, a* and b* -128-127).
 */
export function rgbToDicomLab(rgb: readonly [number, number, number]): [number, number, number] {
  const linear = rgb.map((c) => {
    const v = Math.min(255, Math.max(0, c)) / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  // sRGB to XYZ, Bradford-adapted to D50.
  const [r, g, b] = linear;
  const x = 0.4360747 * r + 0.3850649 * g + 0.1430804 * b;
  const y = 0.2225045 * r + 0.7168786 * g + 0.0606169 * b;
  const z = 0.0139322 * r + 0.0971045 * g + 0.7141733 * b;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 / 116) * t + 16 / 116);
  const [fx, fy, fz] = [f(x / 0.96422), f(y), f(z / 0.82521)];
  const lightness = 116 * fy - 16;
  const a = 500 * (fx - fy);
  const bb = 200 * (fy - fz);
  const scale = (v: number, lo: number, hi: number) =>
    Math.round((Math.min(hi, Math.max(lo, v)) - lo) * (0xffff / (hi - lo)));
  return [scale(lightness, 0, 100), scale(a, -128, 127), scale(bb, -128, 127)];
}

function checkSegments(labels: LabelMap, segments: readonly DicomSegmentDefinition[]): void {
  if (segments.length === 0 || segments.length > 0xffff)
    throw invalid(`DICOM SEG segments: expected 1 to 65535, got ${segments.length}`);
  const known = new Set(labels.classes.map((c) => c.value));
  const seen = new Set<number>();
  for (const s of segments) {
    const v = s.labelValue;
    if (!Number.isInteger(v) || v < 1 || v > 255 || seen.has(v)) {
      throw invalid(`DICOM SEG segment labelValue: expected distinct values in 1..255, got ${v}`);
    }
    seen.add(v);
    if (!known.has(v)) {
      throw invalid(
        `DICOM SEG segment labelValue: expected a value of the label map's classes ` +
          `(${[...known].join(', ')}), got ${v}`,
      );
    }
    if (
      s.SegmentLabel.length === 0 ||
      s.SegmentLabel.length > 64 ||
      !PRINTABLE_ASCII.test(s.SegmentLabel)
    )
      throw invalid(
        `DICOM SEG SegmentLabel: expected 1 to 64 printable ASCII characters, got '${s.SegmentLabel}'`,
      );
    for (const c of [s.SegmentedPropertyCategory, s.SegmentedPropertyType]) {
      if (
        c.CodeValue.length === 0 ||
        c.CodeValue.length > 16 ||
        c.CodingSchemeDesignator.length === 0 ||
        c.CodingSchemeDesignator.length > 16 ||
        c.CodeMeaning.length === 0 ||
        c.CodeMeaning.length > 64
      ) {
        throw invalid(
          `DICOM SEG code of '${s.SegmentLabel}': expected CodeValue and CodingSchemeDesignator ` +
            `of 1-16 and CodeMeaning of 1-64 characters, got ${JSON.stringify(c)}`,
        );
      }
    }
  }
}

function checkReference(
  labels: LabelMap,
  reference: DicomSeriesReference,
): { slices: readonly DicomInstanceReference[] | undefined } {
  checkUid('StudyInstanceUID', reference.StudyInstanceUID);
  checkUid('referenced SeriesInstanceUID', reference.SeriesInstanceUID);
  if (reference.instances.length === 0)
    throw invalid('DICOM SEG reference: expected the source images, got none');
  reference.instances.forEach((instance, n) => {
    checkUid(`referenced image ${n} SOPClassUID`, instance.SOPClassUID);
    checkUid(`referenced image ${n} SOPInstanceUID`, instance.SOPInstanceUID);
  });
  const slices = reference.slices;
  slices?.forEach((instance, k) => {
    checkUid(`source image of slice ${k} SOPClassUID`, instance.SOPClassUID);
    checkUid(`source image of slice ${k} SOPInstanceUID`, instance.SOPInstanceUID);
  });
  if (slices !== undefined && slices.length !== labels.geometry.shape[0]) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `DICOM SEG reference: expected one source image per slice (${labels.geometry.shape[0]}), ` +
        `got ${slices.length}`,
    );
  }
  return { slices };
}

function dateText(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getFullYear(), 4)}${p(d.getMonth() + 1)}${p(d.getDate())}`;
}

function timeText(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

function codeItem(c: DicomCode): WriterItem {
  return [
    { tag: 0x00080100, vr: 'SH', value: c.CodeValue },
    { tag: 0x00080102, vr: 'SH', value: c.CodingSchemeDesignator },
    { tag: 0x00080104, vr: 'LO', value: c.CodeMeaning },
  ];
}

/** Voxels per (slice, label value): `counts[k * 256 + value]`. */
function countPerSlice(labels: LabelMap): Float64Array {
  const [slices, rows, columns] = labels.geometry.shape;
  const size = rows * columns;
  const counts = new Float64Array(slices * 256);
  for (let k = 0; k < slices; k++) {
    const base = k * 256;
    for (let n = k * size, end = n + size; n < end; n++) counts[base + labels.data[n]!]! += 1;
  }
  return counts;
}

/**
 * Encodes a label map as a DICOM Segmentation object (BINARY, one segment per definition),
 * referencing the series the label map was computed from.
 *
 * Frames are axial slices of the label map's grid, segment by segment: each carries its
 * ImagePositionPatient, its segment number and (when the slices are the source's images) the
 * image it was derived from; pixel spacing, slice thickness and orientation are shared. Frames
 * are written only where a segment has voxels unless `omitEmptyFrames` is false.
 *
 * @param labels - A label map on the source volume's grid (`[slices, rows, columns]`, LPS).
 * @param options - Source reference, segments, labels and UIDs.
 * @returns The file and what it holds.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` for a reference without study, series or
 * image UIDs, a segment whose value is not a class of the map, or text DICOM cannot hold;
 * `SHAPE_MISMATCH` when the reference has another number of slices than the map.
 * @example
 * ```ts
 * const { volume } = await readVolume('/data/patient-001');
 * const result = await encoder.assess(volume);
 * const seg = encodeDicomSeg(result.lesions, {
 *   reference: dicomSeriesReferenceOf(volume)!,
 *   segments: LESION_SEG_SEGMENTS,
 *   contentLabel: 'LESIONS',
 * });
 * ```
 */
export function encodeDicomSeg(labels: LabelMap, options: EncodeDicomSegOptions): EncodedDicomSeg {
  const d = DEFAULT_ENCODE_DICOM_SEG;
  const { reference, segments } = options;
  checkSegments(labels, segments);
  const { slices: sliceImages } = checkReference(labels, reference);
  if (!CONTENT_LABEL.test(options.contentLabel)) {
    throw invalid(
      `DICOM SEG ContentLabel: expected 1-16 upper-case letters, digits, spaces or underscores, ` +
        `got '${options.contentLabel}'`,
    );
  }
  const warnings: string[] = [];
  const sopInstanceUid = checkUid('SOPInstanceUID', options.sopInstanceUid ?? createDicomUid());
  const seriesInstanceUid = checkUid(
    'SeriesInstanceUID',
    options.seriesInstanceUid ?? createDicomUid(),
  );
  let frameOfReferenceUid = reference.FrameOfReferenceUID;
  if (frameOfReferenceUid === undefined || frameOfReferenceUid.length === 0) {
    frameOfReferenceUid = createDicomUid();
    warnings.push(
      'the source series has no FrameOfReferenceUID; the segmentation got a new frame of reference',
    );
  } else {
    checkUid('FrameOfReferenceUID', frameOfReferenceUid);
  }

  // Which frames: per segment, the slices that hold it (or all of them).
  const g = labels.geometry;
  const [sliceCount, rows, columns] = g.shape;
  const counts = countPerSlice(labels);
  const omitEmpty = options.omitEmptyFrames ?? d.omitEmptyFrames;
  const frames: { segment: number; slice: number }[] = [];
  const segmentVoxels = segments.map((s, n) => {
    let total = 0;
    const before = frames.length;
    for (let k = 0; k < sliceCount; k++) {
      const c = counts[k * 256 + s.labelValue]!;
      total += c;
      if (c > 0 || !omitEmpty) frames.push({ segment: n + 1, slice: k });
    }
    if (frames.length === before) frames.push({ segment: n + 1, slice: 0 });
    return total;
  });

  // Bits of consecutive frames follow each other without padding (PS3.5 8.1.1).
  const frameSize = rows * columns;
  const pixelBytes = new Uint8Array(Math.ceil((frames.length * frameSize) / 8));
  frames.forEach(({ segment, slice }, f) => {
    const value = segments[segment - 1]!.labelValue;
    const source = slice * frameSize;
    let bit = f * frameSize;
    for (let n = 0; n < frameSize; n++, bit++) {
      if (labels.data[source + n] === value) pixelBytes[bit >>> 3]! |= 1 << (bit & 7);
    }
  });

  // Geometry: the label map's grid, rows and columns as in the volume (PS3.3 C.7.6.2).
  const dir = g.direction;
  const rowDirection = [dir[2], dir[5], dir[8]]; // along a row: the column axis
  const columnDirection = [dir[1], dir[4], dir[7]]; // down a column: the row axis
  const ds = (values: readonly number[]) => values.map(formatDecimalString);
  const perFrame: WriterItem[] = frames.map(({ segment, slice }) => {
    const item: WriterElement[] = [
      {
        tag: 0x00209111,
        vr: 'SQ',
        value: [[{ tag: 0x00209157, vr: 'UL', value: [segment, slice + 1] }]],
      },
      {
        tag: 0x00209113,
        vr: 'SQ',
        value: [[{ tag: 0x00200032, vr: 'DS', value: ds(voxelToWorldMm(g, [slice, 0, 0])) }]],
      },
      { tag: 0x0062000a, vr: 'SQ', value: [[{ tag: 0x0062000b, vr: 'US', value: segment }]] },
    ];
    const image = sliceImages?.[slice];
    if (image !== undefined) {
      item.push({
        tag: 0x00089124,
        vr: 'SQ',
        value: [
          [
            {
              tag: 0x00082112,
              vr: 'SQ',
              value: [
                [
                  { tag: 0x00081150, vr: 'UI', value: image.SOPClassUID! },
                  { tag: 0x00081155, vr: 'UI', value: image.SOPInstanceUID! },
                  {
                    tag: 0x0040a170,
                    vr: 'SQ',
                    value: [
                      codeItem(
                        code('121322', 'DCM', 'Source image for image processing operation'),
                      ),
                    ],
                  },
                ],
              ],
            },
            { tag: 0x00089215, vr: 'SQ', value: [codeItem(code('113076', 'DCM', 'Segmentation'))] },
          ],
        ],
      });
    }
    return item;
  });
  const shared: WriterItem = [
    {
      tag: 0x00289110,
      vr: 'SQ',
      value: [
        [
          { tag: 0x00180050, vr: 'DS', value: formatDecimalString(g.spacingMm[0]) },
          { tag: 0x00180088, vr: 'DS', value: formatDecimalString(g.spacingMm[0]) },
          { tag: 0x00280030, vr: 'DS', value: ds([g.spacingMm[1], g.spacingMm[2]]) },
        ],
      ],
    },
    {
      tag: 0x00209116,
      vr: 'SQ',
      value: [
        [
          {
            tag: 0x00200037,
            vr: 'DS',
            value: ds([...rowDirection, ...columnDirection] as number[]),
          },
        ],
      ],
    },
  ];

  const segmentItems: WriterItem[] = segments.map((s, n) => {
    const item: WriterElement[] = [
      { tag: 0x00620003, vr: 'SQ', value: [codeItem(s.SegmentedPropertyCategory)] },
      { tag: 0x00620004, vr: 'US', value: n + 1 },
      { tag: 0x00620005, vr: 'LO', value: s.SegmentLabel },
      { tag: 0x00620008, vr: 'CS', value: 'AUTOMATIC' },
      { tag: 0x00620009, vr: 'LO', value: options.algorithmName ?? d.algorithmName },
      { tag: 0x0062000f, vr: 'SQ', value: [codeItem(s.SegmentedPropertyType)] },
    ];
    if (s.colorRgb !== undefined)
      item.push({ tag: 0x0062000d, vr: 'US', value: rgbToDicomLab(s.colorRgb) });
    return item;
  });

  const dimensionUid = createDicomUid();
  const now = options.now ?? new Date();
  const text = (
    tag: number,
    vr: WriterElement['vr'],
    value: string | undefined,
  ): WriterElement => ({
    tag,
    vr,
    value: value ?? '',
  });
  const elements: WriterElement[] = [
    // SOP Common, Patient and General Study: copied from the source so the SEG joins its study.
    ...(reference.SpecificCharacterSet === undefined
      ? []
      : [text(0x00080005, 'CS', reference.SpecificCharacterSet)]),
    { tag: 0x00080008, vr: 'CS', value: ['DERIVED', 'PRIMARY'] },
    { tag: 0x00080012, vr: 'DA', value: dateText(now) },
    { tag: 0x00080013, vr: 'TM', value: timeText(now) },
    { tag: 0x00080016, vr: 'UI', value: SEG_SOP_CLASS_UID },
    { tag: 0x00080018, vr: 'UI', value: sopInstanceUid },
    text(0x00080020, 'DA', reference.StudyDate),
    { tag: 0x00080023, vr: 'DA', value: dateText(now) },
    text(0x00080030, 'TM', reference.StudyTime),
    { tag: 0x00080033, vr: 'TM', value: timeText(now) },
    text(0x00080050, 'SH', reference.AccessionNumber),
    { tag: 0x00080060, vr: 'CS', value: 'SEG' },
    { tag: 0x00080070, vr: 'LO', value: d.manufacturer },
    text(0x00080090, 'PN', reference.ReferringPhysicianName),
    { tag: 0x0008103e, vr: 'LO', value: options.seriesDescription ?? d.seriesDescription },
    { tag: 0x00081090, vr: 'LO', value: d.manufacturerModelName },
    {
      tag: 0x00081115,
      vr: 'SQ',
      value: [
        [
          {
            tag: 0x0008114a,
            vr: 'SQ',
            value: reference.instances.map((i): WriterItem => [
              { tag: 0x00081150, vr: 'UI', value: i.SOPClassUID! },
              { tag: 0x00081155, vr: 'UI', value: i.SOPInstanceUID! },
            ]),
          },
          { tag: 0x0020000e, vr: 'UI', value: reference.SeriesInstanceUID! },
        ],
      ],
    },
    text(0x00100010, 'PN', reference.PatientName),
    text(0x00100020, 'LO', reference.PatientID),
    text(0x00100030, 'DA', reference.PatientBirthDate),
    text(0x00100040, 'CS', reference.PatientSex),
    { tag: 0x00181000, vr: 'LO', value: d.deviceSerialNumber },
    { tag: 0x00181020, vr: 'LO', value: options.softwareVersions ?? d.softwareVersions },
    { tag: 0x0020000d, vr: 'UI', value: reference.StudyInstanceUID! },
    { tag: 0x0020000e, vr: 'UI', value: seriesInstanceUid },
    text(0x00200010, 'SH', reference.StudyID),
    { tag: 0x00200011, vr: 'IS', value: String(options.seriesNumber ?? d.seriesNumber) },
    { tag: 0x00200013, vr: 'IS', value: String(options.instanceNumber ?? d.instanceNumber) },
    { tag: 0x00200052, vr: 'UI', value: frameOfReferenceUid },
    { tag: 0x00201040, vr: 'LO', value: '' },
    // Multi-frame Dimension: frames are indexed by segment, then by position.
    { tag: 0x00209221, vr: 'SQ', value: [[{ tag: 0x00209164, vr: 'UI', value: dimensionUid }]] },
    {
      tag: 0x00209222,
      vr: 'SQ',
      value: [
        [
          { tag: 0x00209164, vr: 'UI', value: dimensionUid },
          { tag: 0x00209165, vr: 'AT', value: 0x0062000b },
          { tag: 0x00209167, vr: 'AT', value: 0x0062000a },
          { tag: 0x00209421, vr: 'LO', value: 'Segment number' },
        ],
        [
          { tag: 0x00209164, vr: 'UI', value: dimensionUid },
          { tag: 0x00209165, vr: 'AT', value: 0x00200032 },
          { tag: 0x00209167, vr: 'AT', value: 0x00209113 },
          { tag: 0x00209421, vr: 'LO', value: 'Image position' },
        ],
      ],
    },
    // Image Pixel and Segmentation Image.
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280008, vr: 'IS', value: String(frames.length) },
    { tag: 0x00280010, vr: 'US', value: rows },
    { tag: 0x00280011, vr: 'US', value: columns },
    { tag: 0x00280100, vr: 'US', value: 1 },
    { tag: 0x00280101, vr: 'US', value: 1 },
    { tag: 0x00280102, vr: 'US', value: 0 },
    { tag: 0x00280103, vr: 'US', value: 0 },
    { tag: 0x00282110, vr: 'CS', value: '00' },
    { tag: 0x00620001, vr: 'CS', value: 'BINARY' },
    { tag: 0x00620002, vr: 'SQ', value: segmentItems },
    // One label per voxel: segments of a label map never overlap.
    { tag: 0x00620013, vr: 'CS', value: 'NO' },
    { tag: 0x00700080, vr: 'CS', value: options.contentLabel },
    text(0x00700081, 'LO', options.contentDescription),
    { tag: 0x00700084, vr: 'PN', value: '' },
    { tag: 0x52009229, vr: 'SQ', value: [shared] },
    { tag: 0x52009230, vr: 'SQ', value: perFrame },
    { tag: 0x7fe00010, vr: 'OB', value: pixelBytes },
  ];
  const bytes = encodePart10(
    {
      sopClassUid: SEG_SOP_CLASS_UID,
      sopInstanceUid,
      implementationClassUid: IMPLEMENTATION_CLASS_UID,
      implementationVersionName: IMPLEMENTATION_VERSION_NAME,
    },
    elements,
  );
  return Object.freeze({
    bytes,
    sopInstanceUid,
    seriesInstanceUid,
    frameCount: frames.length,
    segmentVoxels: Object.freeze(segmentVoxels),
    warnings: Object.freeze(warnings),
  });
}

/** One segment as read from a SEG. */
export interface DicomSegSegment {
  readonly SegmentNumber: number;
  readonly SegmentLabel: string;
  readonly SegmentedPropertyCategory: DicomCode | undefined;
  readonly SegmentedPropertyType: DicomCode | undefined;
  readonly SegmentAlgorithmType: string | undefined;
  readonly SegmentAlgorithmName: string | undefined;
}

/** One frame as read from a SEG. */
export interface DicomSegFrame {
  readonly ReferencedSegmentNumber: number;
  readonly ImagePositionPatient: readonly [number, number, number];
  /** The source image it was derived from, when the SEG says. */
  readonly ReferencedSOPInstanceUID: string | undefined;
  /** `Rows * Columns` values, 1 inside the segment, 0 outside; row-major. */
  readonly pixels: Uint8Array;
}

/** A BINARY DICOM Segmentation object, decoded. */
export interface DicomSeg {
  readonly SOPInstanceUID: string | undefined;
  readonly SeriesInstanceUID: string | undefined;
  readonly StudyInstanceUID: string | undefined;
  readonly FrameOfReferenceUID: string | undefined;
  readonly ReferencedSeriesInstanceUID: string | undefined;
  readonly ContentLabel: string | undefined;
  readonly Rows: number;
  readonly Columns: number;
  /** Row direction cosines, then column direction cosines. */
  readonly ImageOrientationPatient: readonly number[];
  /** Between rows, then between columns, mm. */
  readonly PixelSpacing: readonly [number, number];
  readonly SliceThickness: number | undefined;
  readonly segments: readonly DicomSegSegment[];
  readonly frames: readonly DicomSegFrame[];
}

function corrupt(message: string, file: string | undefined): LesionEncError {
  return new LesionEncError('CORRUPT_FILE', message, fileOption(file));
}

function firstItem(d: DataSet | undefined, tag: string): DataSet | undefined {
  return d?.elements[tag]?.items?.[0]?.dataSet;
}

function readCode(d: DataSet, tag: string): DicomCode | undefined {
  const item = firstItem(d, tag);
  if (item === undefined) return undefined;
  return code(
    item.string('x00080100') ?? '',
    item.string('x00080102') ?? '',
    item.string('x00080104') ?? '',
  );
}

function decimals(d: DataSet | undefined, tag: string, count: number): number[] | undefined {
  if (d?.elements[tag] === undefined) return undefined;
  const out: number[] = [];
  for (let n = 0; n < count; n++) {
    const v = d.floatString(tag, n);
    if (v === undefined || !Number.isFinite(v)) return undefined;
    out.push(v);
  }
  return out;
}

/**
 * Decodes a BINARY DICOM Segmentation object: its segments, and each frame's segment, position
 * and bits. Native transfer syntaxes (explicit or implicit VR little endian, deflated) are read.
 *
 * @param bytes - The whole file.
 * @param options - The file name, for errors.
 * @returns The segmentation.
 * @throws {@link LesionEncError} `UNSUPPORTED_FORMAT` for a file that is not a SEG or not a
 * BINARY one, `CORRUPT_FILE` for missing geometry, frame counts that disagree, or truncated
 * pixel data.
 */
export function decodeDicomSeg(bytes: Uint8Array, options: { file?: string } = {}): DicomSeg {
  const file = options.file;
  const d = parseDicomDataSet(bytes, file);
  const sopClass = d.string('x00080016');
  if (sopClass !== SEG_SOP_CLASS_UID) {
    throw new LesionEncError(
      'UNSUPPORTED_FORMAT',
      `DICOM SOPClassUID: expected Segmentation Storage (${SEG_SOP_CLASS_UID}), got '${sopClass ?? 'none'}'`,
      fileOption(file),
    );
  }
  const type = d.string('x00620001');
  const bitsAllocated = d.uint16('x00280100');
  if (type !== 'BINARY' || bitsAllocated !== 1) {
    throw new LesionEncError(
      'UNSUPPORTED_FORMAT',
      `DICOM SEG: expected a BINARY segmentation with 1-bit pixels, got ${type ?? 'no type'} with ${bitsAllocated ?? '?'} bits`,
      fileOption(file),
    );
  }
  const rows = d.uint16('x00280010') ?? 0;
  const columns = d.uint16('x00280011') ?? 0;
  const frameTotal = d.intString('x00280008') ?? 1;
  if (rows < 1 || columns < 1)
    throw corrupt(
      `DICOM SEG Rows/Columns: expected positive sizes, got ${rows} x ${columns}`,
      file,
    );

  const segments: DicomSegSegment[] = (d.elements['x00620002']?.items ?? []).map((item) => {
    const s = item.dataSet!;
    return Object.freeze({
      SegmentNumber: s.uint16('x00620004') ?? 0,
      SegmentLabel: s.string('x00620005') ?? '',
      SegmentedPropertyCategory: readCode(s, 'x00620003'),
      SegmentedPropertyType: readCode(s, 'x0062000f'),
      SegmentAlgorithmType: s.string('x00620008'),
      SegmentAlgorithmName: s.string('x00620009'),
    });
  });

  const shared = firstItem(d, 'x52009229');
  const perFrame = (d.elements['x52009230']?.items ?? []).map((i) => i.dataSet!);
  if (perFrame.length !== frameTotal) {
    throw corrupt(
      `DICOM SEG PerFrameFunctionalGroupsSequence: expected ${frameTotal} items (NumberOfFrames), got ${perFrame.length}`,
      file,
    );
  }
  // A functional group sits in the frame's item or, when common to all, in the shared one.
  const group = (frame: DataSet, tag: string) => firstItem(frame, tag) ?? firstItem(shared, tag);
  const orientation =
    decimals(group(perFrame[0]!, 'x00209116'), 'x00200037', 6) ?? decimals(d, 'x00200037', 6);
  const measures = group(perFrame[0]!, 'x00289110');
  const spacing = decimals(measures, 'x00280030', 2);
  if (orientation === undefined || spacing === undefined)
    throw corrupt('DICOM SEG: expected ImageOrientationPatient and PixelSpacing, got none', file);

  const pixelElement = d.elements['x7fe00010'];
  const frameSize = rows * columns;
  const needed = Math.ceil((frameTotal * frameSize) / 8);
  if (pixelElement === undefined || pixelElement.length < needed) {
    throw corrupt(
      `DICOM SEG Pixel Data: expected ${needed} bytes for ${frameTotal} frames of ${rows} x ${columns} bits, ` +
        `got ${pixelElement?.length ?? 0}`,
      file,
    );
  }
  const packed = d.byteArray.subarray(pixelElement.dataOffset, pixelElement.dataOffset + needed);
  const frames: DicomSegFrame[] = perFrame.map((item, f) => {
    const position = decimals(firstItem(item, 'x00209113'), 'x00200032', 3);
    if (position === undefined)
      throw corrupt(`DICOM SEG frame ${f + 1}: expected an ImagePositionPatient, got none`, file);
    const segment =
      group(item, 'x0062000a')?.uint16('x0062000b') ??
      (segments.length === 1 ? segments[0]!.SegmentNumber : undefined);
    if (segment === undefined)
      throw corrupt(`DICOM SEG frame ${f + 1}: expected a ReferencedSegmentNumber, got none`, file);
    const source = firstItem(firstItem(item, 'x00089124'), 'x00082112');
    const pixels = new Uint8Array(frameSize);
    let bit = f * frameSize;
    for (let n = 0; n < frameSize; n++, bit++) pixels[n] = (packed[bit >>> 3]! >>> (bit & 7)) & 1;
    return Object.freeze({
      ReferencedSegmentNumber: segment,
      ImagePositionPatient: position as unknown as readonly [number, number, number],
      ReferencedSOPInstanceUID: source?.string('x00081155'),
      pixels,
    });
  });

  return Object.freeze({
    SOPInstanceUID: d.string('x00080018'),
    SeriesInstanceUID: d.string('x0020000e'),
    StudyInstanceUID: d.string('x0020000d'),
    FrameOfReferenceUID: d.string('x00200052'),
    ReferencedSeriesInstanceUID: firstItem(d, 'x00081115')?.string('x0020000e'),
    ContentLabel: d.string('x00700080'),
    Rows: rows,
    Columns: columns,
    ImageOrientationPatient: orientation,
    PixelSpacing: spacing as unknown as readonly [number, number],
    SliceThickness: decimals(measures, 'x00180050', 1)?.[0],
    segments: Object.freeze(segments),
    frames: Object.freeze(frames),
  });
}

/** Options of {@link dicomSegToLabelMap}. */
export interface SegToLabelMapOptions {
  /** How far a frame may sit from a slice of the grid, mm. @defaultValue 0.01 */
  toleranceMm?: number;
}

/**
 * Places the frames of a SEG on a volume's grid: each voxel gets the number of the segment that
 * covers it (the highest number where segments overlap), 0 elsewhere.
 *
 * @param seg - From {@link decodeDicomSeg}.
 * @param geometry - The grid, normally the source volume's.
 * @param options - Position tolerance.
 * @returns A label map whose classes are the segments (value = SegmentNumber).
 * @throws {@link LesionEncError} `SHAPE_MISMATCH` when the frames have another size or
 * orientation than the grid's slices, `INVALID_GEOMETRY` for a frame that lies off the grid.
 */
export function dicomSegToLabelMap(
  seg: DicomSeg,
  geometry: VolumeGeometry,
  options: SegToLabelMapOptions = {},
): LabelMap {
  const [slices, rows, columns] = geometry.shape;
  if (seg.Rows !== rows || seg.Columns !== columns) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `DICOM SEG frames: expected ${rows} x ${columns} pixels (the grid's slices), got ${seg.Rows} x ${seg.Columns}`,
    );
  }
  const dir = geometry.direction;
  const expected = [dir[2], dir[5], dir[8], dir[1], dir[4], dir[7]];
  if (expected.some((v, n) => Math.abs(v - seg.ImageOrientationPatient[n]!) > 1e-4)) {
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `DICOM SEG ImageOrientationPatient: expected [${expected.join(', ')}] (the grid's), ` +
        `got [${seg.ImageOrientationPatient.join(', ')}]`,
    );
  }
  const numbers = seg.segments.map((s) => s.SegmentNumber);
  if (numbers.some((n) => !Number.isInteger(n) || n < 1 || n > 255)) {
    throw new LesionEncError(
      'UNSUPPORTED_FORMAT',
      `DICOM SEG SegmentNumber: expected 1..255 to fit a label map, got [${numbers.join(', ')}]`,
    );
  }
  const tolerance = options.toleranceMm ?? 0.01;
  const frameSize = rows * columns;
  const data = new Uint8Array(slices * frameSize);
  const ordered = [...seg.frames].sort(
    (a, b) => a.ReferencedSegmentNumber - b.ReferencedSegmentNumber,
  );
  for (const frame of ordered) {
    const [k, i, j] = worldMmToVoxel(geometry, frame.ImagePositionPatient);
    const slice = Math.round(k);
    const offMm = Math.hypot(
      (k - slice) * geometry.spacingMm[0],
      i * geometry.spacingMm[1],
      j * geometry.spacingMm[2],
    );
    if (slice < 0 || slice >= slices || offMm > tolerance) {
      throw new LesionEncError(
        'INVALID_GEOMETRY',
        `DICOM SEG frame at [${frame.ImagePositionPatient.join(', ')}] mm: expected a slice of the grid ` +
          `(within ${tolerance} mm), got voxel [${k.toFixed(3)}, ${i.toFixed(3)}, ${j.toFixed(3)}]`,
      );
    }
    const base = slice * frameSize;
    for (let n = 0; n < frameSize; n++) {
      if (frame.pixels[n] === 1) data[base + n] = frame.ReferencedSegmentNumber;
    }
  }
  const classes: LabelClass[] = [
    { value: 0, name: 'background' },
    ...seg.segments.map((s) => ({ value: s.SegmentNumber, name: s.SegmentLabel })),
  ];
  return createLabelMap(data, geometry, classes);
}
