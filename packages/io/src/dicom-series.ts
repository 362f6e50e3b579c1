// Assembles a CT volume from the image files of a DICOM series: grouping, sorting along the slice
// normal, spacing from positions, rescaling to HU, and the checks that keep geometry honest.
import {
  type CtVolume,
  type ErrorCode,
  type LongTaskOptions,
  type VolumeGeometry,
  LesionEncError,
  createCtVolume,
  createLogger,
  createStageReporter,
  throwIfAborted,
} from '@lesionenc/base';

import {
  type DicomImageHeader,
  TRANSFER_SYNTAX,
  decodeDicomImage,
  nativeStoredPixels,
  parseDicomHeader,
  pixelLayout,
} from './dicom';
import { DICOM_REFERENCE_METADATA_KEY, buildDicomSeriesReference } from './dicom-reference';
import { HOST_LITTLE_ENDIAN, fileOption } from './internal/bytes';
import { mapConcurrent } from './internal/concurrent';
import { isCompressedTransferSyntax } from './internal/dicom-codecs';
import { shiftIntoInt16 } from './internal/int16-shift';
import {
  type AxisMapping,
  type NumericArray,
  canonicalGeometry,
  chooseAxisMapping,
  geometryOrientation,
  orientationCode,
  reorderToCanonical,
} from './orientation';

const log = createLogger('lesionenc.io.dicom');

/** One series found among the files. */
export interface DicomSeriesSummary {
  readonly seriesInstanceUid: string;
  readonly modality: string | undefined;
  readonly description: string | undefined;
  readonly seriesNumber: number | undefined;
  /** Image files of the series (before duplicates are dropped). */
  readonly imageCount: number;
  readonly rows: number | undefined;
  readonly columns: number | undefined;
  /** Transfer syntax of the series' first file. */
  readonly transferSyntaxUid: string;
  /** The files, in the order they were given. */
  readonly files: readonly string[];
}

/** A file left out, and why. */
export interface DicomSkippedFile {
  readonly file: string;
  readonly code: ErrorCode;
  readonly reason: string;
}

/** Options of {@link decodeDicomSeries} and `readDicomSeries`. */
export interface DicomSeriesOptions extends LongTaskOptions {
  /** The series to load; by default the CT series with the most images. */
  seriesInstanceUid?: string;
  /** HU given to voxels equal to PixelPaddingValue. @defaultValue -1024 (air) */
  paddingHu?: number;
  /**
   * Largest departure of a slice step from the median step, as a fraction of it, before the
   * series counts as unevenly spaced. @defaultValue 0.01
   */
  spacingTolerance?: number;
  /**
   * Largest in-plane drift of the slice positions across the stack, in pixels, before the series
   * counts as tilted. @defaultValue 0.25
   */
  tiltTolerancePixels?: number;
}

/** Frozen defaults of {@link DicomSeriesOptions}. */
export const DEFAULT_DICOM_SERIES_OPTIONS = Object.freeze({
  paddingHu: -1024,
  spacingTolerance: 0.01,
  tiltTolerancePixels: 0.25,
});

/** What reading a series gives. */
export interface DicomSeriesResult {
  /** The volume in the canonical `[slices, rows, columns]` LPS layout, in HU. */
  readonly volume: CtVolume;
  /** Every series found, largest first. */
  readonly series: readonly DicomSeriesSummary[];
  /** The series loaded. */
  readonly selected: DicomSeriesSummary;
  /** Files that were not used: unreadable, not images, or duplicate positions. */
  readonly skipped: readonly DicomSkippedFile[];
  /** Fallbacks taken (missing tags and the like), also sent to the logger. */
  readonly warnings: readonly string[];
}

/** What the series reader needs from a file: its name, a header, and later its bytes. */
export interface DicomSource {
  readonly name: string;
  /** Bytes that contain at least every attribute before Pixel Data (the whole file is fine). */
  headerBytes(): Promise<Uint8Array>;
  /** The whole file. */
  bytes(): Promise<Uint8Array>;
  /**
   * Reads the file from byte `position` into `target`, as far as the file goes; lets native
   * pixel data go straight into the volume without reading the whole file.
   *
   * @returns How many bytes were read (fewer than `target.length` at the end of the file).
   */
  readAt?(position: number, target: Uint8Array): Promise<number>;
  /** The file's size when known without reading it, to detect truncated pixel data early. */
  readonly size?: number;
}

interface ReadHeader {
  source: DicomSource;
  header: DicomImageHeader;
}

// Two slices whose positions along the normal are closer than this are the same slice, mm.
const DUPLICATE_POSITION_MM = 1e-3;
// Slice steps may differ by this much in absolute terms whatever the relative tolerance, mm.
const SPACING_FLOOR_MM = 0.01;
// Orientation cosines of two images of one stack may differ by this much.
const ORIENTATION_TOLERANCE = 1e-4;
// File reads in flight at once.
const IO_CONCURRENCY = 8;

/**
 * Reads the headers of a set of DICOM files and lists the series they hold, without decoding
 * pixels.
 *
 * @param sources - The files.
 * @returns The series (largest first), the usable headers and the files left out.
 */
export async function scanDicomSources(
  sources: readonly DicomSource[],
  options: LongTaskOptions = {},
): Promise<{ series: DicomSeriesSummary[]; headers: ReadHeader[]; skipped: DicomSkippedFile[] }> {
  const headers: ReadHeader[] = [];
  const skipped: DicomSkippedFile[] = [];
  const progress = createStageReporter('dicom-headers', sources.length, options.onProgress);
  progress.start();
  // Headers are small and independent: several reads in flight hide the file system's latency.
  const outcomes = await mapConcurrent(sources, IO_CONCURRENCY, async (source) => {
    throwIfAborted(options.signal, 'DICOM series');
    try {
      return { source, header: await readSourceHeader(source), error: undefined };
    } catch (error) {
      if (!(error instanceof LesionEncError)) throw error;
      return { source, header: undefined, error };
    } finally {
      progress.step(source.name);
    }
  });
  for (const outcome of outcomes) {
    const { source } = outcome;
    if (outcome.error !== undefined) {
      skipped.push({ file: source.name, code: outcome.error.code, reason: outcome.error.message });
      continue;
    }
    const header = outcome.header!;
    if (!header.hasPixelData) {
      skipped.push({
        file: source.name,
        code: 'UNSUPPORTED_FORMAT',
        reason: 'no Pixel Data (not an image)',
      });
    } else if (
      source.size !== undefined &&
      header.pixelDataEnd !== undefined &&
      header.pixelDataEnd > source.size
    ) {
      skipped.push({
        file: source.name,
        code: 'CORRUPT_FILE',
        reason: `Pixel Data: expected ${header.pixelDataEnd} bytes, got ${source.size} (file truncated)`,
      });
    } else {
      headers.push({ source, header });
    }
  }
  progress.done();
  return { series: summarise(headers), headers, skipped };
}

async function readSourceHeader(source: DicomSource): Promise<DicomImageHeader> {
  const prefix = await source.headerBytes();
  let header: DicomImageHeader;
  try {
    header = parseDicomHeader(prefix, { file: source.name });
  } catch (error) {
    // A header larger than the prefix: read the whole file before judging it.
    if (!(error instanceof LesionEncError) || error.code !== 'CORRUPT_FILE') throw error;
    const whole = await source.bytes();
    if (whole.length === prefix.length) throw error;
    header = parseDicomHeader(whole, { file: source.name });
  }
  return header;
}

function summarise(headers: readonly ReadHeader[]): DicomSeriesSummary[] {
  const groups = new Map<string, ReadHeader[]>();
  for (const h of headers) {
    const uid = h.header.SeriesInstanceUID ?? '';
    const group = groups.get(uid);
    if (group === undefined) groups.set(uid, [h]);
    else group.push(h);
  }
  const out: DicomSeriesSummary[] = [];
  for (const [uid, group] of groups) {
    const first = group[0]!.header;
    out.push(
      Object.freeze({
        seriesInstanceUid: uid,
        modality: first.Modality,
        description: first.SeriesDescription,
        seriesNumber: first.SeriesNumber,
        imageCount: group.length,
        rows: first.Rows,
        columns: first.Columns,
        transferSyntaxUid: first.TransferSyntaxUID,
        files: Object.freeze(group.map((h) => h.source.name)),
      }),
    );
  }
  return out.sort((a, b) => b.imageCount - a.imageCount);
}

/**
 * Loads one series from a set of DICOM files (the byte-level entry point; Node code uses
 * `readDicomSeries` with a folder).
 *
 * Files are grouped by SeriesInstanceUID; the requested series, else the CT series with the most
 * images, is loaded. Slices are sorted by ImagePositionPatient projected on the slice normal
 * (never by file name or InstanceNumber while positions exist), duplicate positions are dropped,
 * the slice spacing comes from the positions, and stored values are rescaled with
 * RescaleSlope/RescaleIntercept. Unreadable files are reported in `skipped`, not fatal.
 *
 * @param files - Names and bytes.
 * @param options - Series choice, padding, tolerances, progress and abort.
 * @returns The volume, the series found, and what was skipped.
 * @throws {@link LesionEncError} `GANTRY_TILT` when positions drift in-plane across the stack,
 * `UNEVEN_SPACING` for uneven or missing slices, `MIXED_SERIES` for mixed image sizes or
 * orientations, `UNSUPPORTED_FORMAT` when no file is a readable image, `INVALID_ARGUMENT` for an
 * unknown series UID, and the per-file errors of `decodeDicomImage` for the chosen series.
 */
export async function decodeDicomSeries(
  files: readonly { name: string; bytes: Uint8Array }[],
  options: DicomSeriesOptions = {},
): Promise<DicomSeriesResult> {
  const sources: DicomSource[] = files.map((f) => ({
    name: f.name,
    size: f.bytes.length,
    headerBytes: async () => f.bytes,
    bytes: async () => f.bytes,
    readAt: async (position, target) => {
      const part = f.bytes.subarray(position, position + target.length);
      target.set(part);
      return part.length;
    },
  }));
  return loadDicomSeries(sources, options);
}

/**
 * Loads one series from sources that read their bytes on demand (see {@link decodeDicomSeries}
 * for what is checked). Headers are read first; pixels are then decoded one file at a time, so
 * peak memory stays near the size of the volume.
 *
 * @param sources - The files.
 * @param options - As {@link decodeDicomSeries}.
 * @param where - Names the folder in errors.
 * @returns As {@link decodeDicomSeries}.
 */
export async function loadDicomSeries(
  sources: readonly DicomSource[],
  options: DicomSeriesOptions = {},
  where?: string,
): Promise<DicomSeriesResult> {
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    log.warn(message, fileOption(where));
  };
  const scan = await scanDicomSources(sources, {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const skipped = [...scan.skipped];
  for (const s of skipped) warn(`skipped ${s.file}: ${s.reason}`);
  if (scan.series.length === 0) {
    const reasons = skipped.slice(0, 3).map((s) => `${s.file}: ${s.reason}`);
    throw new LesionEncError(
      'UNSUPPORTED_FORMAT',
      `DICOM series: expected at least one readable image among ${sources.length} files, got none` +
        (reasons.length > 0 ? ` (${reasons.join('; ')})` : ''),
      { ...fileOption(where), details: { skipped } },
    );
  }

  const selected = selectSeries(scan.series, options.seriesInstanceUid, warn, where);
  const members = scan.headers.filter(
    (h) => (h.header.SeriesInstanceUID ?? '') === selected.seriesInstanceUid,
  );
  if (selected.seriesInstanceUid === '')
    warn('images have no SeriesInstanceUID; treating them as one series');
  if (selected.modality === undefined) warn('series has no Modality tag; assuming CT');

  const plan = planStack(members, options, warn, where);
  for (const d of plan.duplicates) {
    skipped.push({ file: d, code: 'INVALID_VOLUME', reason: 'duplicate slice position' });
  }
  const volume = await assemble(plan, selected, options, where);
  return Object.freeze({
    volume,
    series: scan.series,
    selected,
    skipped: Object.freeze(skipped),
    warnings: Object.freeze(warnings),
  });
}

function selectSeries(
  series: readonly DicomSeriesSummary[],
  uid: string | undefined,
  warn: (m: string) => void,
  where: string | undefined,
): DicomSeriesSummary {
  if (uid !== undefined) {
    const found = series.find((s) => s.seriesInstanceUid === uid);
    if (found === undefined) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `seriesInstanceUid: expected one of ${series.map((s) => s.seriesInstanceUid).join(', ')}, got '${uid}'`,
        fileOption(where),
      );
    }
    return found;
  }
  const ct = series.filter((s) => s.modality === 'CT' || s.modality === undefined);
  if (ct.length === 0) {
    warn(`no CT series; loading the largest, modality ${series[0]!.modality}`);
    return series[0]!;
  }
  if (series.length > 1) {
    warn(
      `${series.length} series found; loading the largest CT series (${ct[0]!.imageCount} images)`,
    );
  }
  return ct[0]!;
}

interface StackPlan {
  /** Files in slice order. */
  ordered: ReadHeader[];
  duplicates: string[];
  rows: number;
  columns: number;
  /** LPS step vectors of file axes columns, rows, slices. */
  axes: number[][];
  origin: number[];
  mapping: AxisMapping;
  geometry: VolumeGeometry;
  /** Whether every slice rescales to integers that fit int16. */
  int16: boolean;
}

function planStack(
  members: ReadHeader[],
  options: DicomSeriesOptions,
  warn: (m: string) => void,
  where: string | undefined,
): StackPlan {
  const first = members[0]!;
  const layout = pixelLayout(first.header, first.source.name);
  const sizes = new Set(members.map((m) => `${m.header.Rows}x${m.header.Columns}`));
  if (sizes.size > 1) {
    throw new LesionEncError(
      'MIXED_SERIES',
      `DICOM series image size: expected one size, got ${[...sizes].join(', ')} (rows x columns)`,
      { ...fileOption(where), details: { sizes: [...sizes] } },
    );
  }

  // Orientation: one for the whole stack.
  let orientation = first.header.ImageOrientationPatient;
  if (orientation === undefined) {
    warn('images have no ImageOrientationPatient; assuming axial [1, 0, 0, 0, 1, 0]');
    orientation = [1, 0, 0, 0, 1, 0];
  }
  for (const m of members) {
    const o = m.header.ImageOrientationPatient ?? orientation;
    if (o.some((v, n) => Math.abs(v - orientation[n]!) > ORIENTATION_TOLERANCE)) {
      throw new LesionEncError(
        'MIXED_SERIES',
        `ImageOrientationPatient: expected one orientation for the series, got [${orientation.join(', ')}] and [${o.join(', ')}] (${m.source.name})`,
        fileOption(where),
      );
    }
  }
  const rowDir = unit(orientation.slice(0, 3));
  const colDir = unit(orientation.slice(3, 6));
  const normal = unit(cross(rowDir, colDir));

  let spacing = first.header.PixelSpacing;
  if (spacing === undefined) {
    spacing = first.header.ImagerPixelSpacing;
    warn(
      spacing === undefined
        ? 'images have no PixelSpacing; assuming 1 mm pixels'
        : 'images have no PixelSpacing; using ImagerPixelSpacing',
    );
    spacing ??= [1, 1];
  }
  const [rowSpacing, columnSpacing] = spacing;

  // Order and slice step.
  const duplicates: string[] = [];
  let ordered: ReadHeader[];
  let step: number;
  let origin: number[];
  const withPosition = members.filter((m) => m.header.ImagePositionPatient !== undefined);
  if (withPosition.length === members.length) {
    const along = (m: ReadHeader) => dot(m.header.ImagePositionPatient!, normal);
    const sorted = [...members].sort((a, b) => along(a) - along(b));
    ordered = [sorted[0]!];
    for (const m of sorted.slice(1)) {
      if (along(m) - along(ordered[ordered.length - 1]!) < DUPLICATE_POSITION_MM)
        duplicates.push(m.source.name);
      else ordered.push(m);
    }
    if (duplicates.length > 0) warn(`dropped ${duplicates.length} images at duplicate positions`);
    origin = [...ordered[0]!.header.ImagePositionPatient!];
    if (ordered.length > 1) {
      const gaps = ordered.slice(1).map((m, n) => along(m) - along(ordered[n]!));
      step = checkEvenSpacing(
        gaps,
        options.spacingTolerance ?? DEFAULT_DICOM_SERIES_OPTIONS.spacingTolerance,
        where,
      );
      checkTilt(
        ordered,
        normal,
        Math.min(rowSpacing, columnSpacing),
        options,
        first.header.GantryDetectorTilt,
        where,
      );
    } else {
      step = sliceStepFallback(first.header, warn, 'one image');
    }
  } else {
    warn(
      `${members.length - withPosition.length} of ${members.length} images have no ImagePositionPatient; ` +
        'ordering by InstanceNumber',
    );
    ordered = [...members].sort(
      (a, b) =>
        (a.header.InstanceNumber ?? 0) - (b.header.InstanceNumber ?? 0) ||
        a.source.name.localeCompare(b.source.name),
    );
    step = sliceStepFallback(first.header, warn, 'no positions');
    origin = [...(ordered[0]!.header.ImagePositionPatient ?? [0, 0, 0])];
  }

  const axes = [
    rowDir.map((v) => v * columnSpacing),
    colDir.map((v) => v * rowSpacing),
    normal.map((v) => v * step),
  ];
  const mapping = chooseAxisMapping(axes);
  const fileShape = [layout.columns, layout.rows, ordered.length];
  const geometry = canonicalGeometry(fileShape, axes, origin, mapping);
  return {
    ordered,
    duplicates,
    rows: layout.rows,
    columns: layout.columns,
    axes,
    origin,
    mapping,
    geometry,
    int16: ordered.every((m) => fitsInt16(m.header)),
  };
}

function sliceStepFallback(
  header: DicomImageHeader,
  warn: (m: string) => void,
  why: string,
): number {
  const step = header.SpacingBetweenSlices ?? header.SliceThickness;
  if (step !== undefined && step > 0) {
    warn(
      `slice spacing from ${header.SpacingBetweenSlices !== undefined ? 'SpacingBetweenSlices' : 'SliceThickness'} (${why})`,
    );
    return step;
  }
  warn(`no slice spacing known (${why}); assuming 1 mm`);
  return 1;
}

function checkEvenSpacing(gaps: number[], tolerance: number, where: string | undefined): number {
  const sorted = [...gaps].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const allowed = Math.max(SPACING_FLOOR_MM, tolerance * median);
  const worst = gaps.reduce(
    (w, g, n) => (Math.abs(g - median) > Math.abs(gaps[w]! - median) ? n : w),
    0,
  );
  if (Math.abs(gaps[worst]! - median) > allowed) {
    throw new LesionEncError(
      'UNEVEN_SPACING',
      `slice spacing: expected even steps of ${median.toFixed(3)} mm (within ${allowed.toFixed(3)}), ` +
        `got ${gaps[worst]!.toFixed(3)} mm between slices ${worst} and ${worst + 1} ` +
        `(steps from ${sorted[0]!.toFixed(3)} to ${sorted[sorted.length - 1]!.toFixed(3)} mm; a missing slice?)`,
      { ...fileOption(where), details: { gapsMm: gaps, medianMm: median } },
    );
  }
  // The mean step places the first and last slices exactly where their positions say.
  return gaps.reduce((s, g) => s + g, 0) / gaps.length;
}

function checkTilt(
  ordered: ReadHeader[],
  normal: number[],
  pixelMm: number,
  options: DicomSeriesOptions,
  tiltTag: number | undefined,
  where: string | undefined,
): void {
  const p0 = ordered[0]!.header.ImagePositionPatient!;
  const p1 = ordered[ordered.length - 1]!.header.ImagePositionPatient!;
  const v = [0, 1, 2].map((r) => p1[r]! - p0[r]!);
  const along = dot(v, normal);
  const drift = Math.hypot(...v.map((x, r) => x - along * normal[r]!));
  const allowed =
    (options.tiltTolerancePixels ?? DEFAULT_DICOM_SERIES_OPTIONS.tiltTolerancePixels) * pixelMm;
  if (drift > allowed) {
    const degrees = (Math.atan2(drift, Math.abs(along)) * 180) / Math.PI;
    throw new LesionEncError(
      'GANTRY_TILT',
      `slice positions: expected a stack along the slice normal, got an in-plane drift of ` +
        `${drift.toFixed(2)} mm over ${ordered.length} slices (${degrees.toFixed(2)} degrees` +
        `${tiltTag === undefined ? '' : `, GantryDetectorTilt ${tiltTag}`}); resample the series first`,
      { ...fileOption(where), details: { driftMm: drift, tiltDegrees: degrees } },
    );
  }
}

/** Whether a slice rescales to integers; values that overflow int16 promote the volume later. */
function fitsInt16(header: DicomImageHeader): boolean {
  return (
    Number.isInteger(header.RescaleSlope ?? 1) && Number.isInteger(header.RescaleIntercept ?? 0)
  );
}

/** One slice's bytes: its native pixel data alone, or the whole file to decode. */
type Fetched = { pixels: Uint8Array; file: undefined } | { pixels: undefined; file: Uint8Array };

/**
 * Where a file's native pixel data lies, when it can be read on its own (uncompressed, not
 * deflated, and a source that reads ranges); undefined when the whole file must be decoded.
 */
function nativePixelPlan(
  source: DicomSource,
  header: DicomImageHeader,
):
  | {
      offset: number;
      /** Bytes the samples take. */
      length: number;
      /** Bytes the Pixel Data element declares. */
      declared: number;
      bitsAllocated: number;
      inPlace: boolean;
      readAt: (position: number, target: Uint8Array) => Promise<number>;
    }
  | undefined {
  const offset = header.pixelDataOffset;
  const end = header.pixelDataEnd;
  if (
    offset === undefined ||
    end === undefined ||
    source.readAt === undefined ||
    isCompressedTransferSyntax(header.TransferSyntaxUID)
  ) {
    return undefined;
  }
  const layout = pixelLayout(header, source.name);
  const length = layout.rows * layout.columns * (layout.bitsAllocated / 8);
  const littleEndian = header.TransferSyntaxUID !== TRANSFER_SYNTAX.explicitBig;
  return {
    offset,
    length,
    declared: end - offset,
    bitsAllocated: layout.bitsAllocated,
    inPlace: layout.bitsAllocated === 16 && littleEndian === HOST_LITTLE_ENDIAN,
    readAt: source.readAt.bind(source),
  };
}

async function assemble(
  plan: StackPlan,
  selected: DicomSeriesSummary,
  options: DicomSeriesOptions,
  where: string | undefined,
): Promise<CtVolume> {
  const { rows, columns, ordered, mapping } = plan;
  const sliceSize = rows * columns;
  const count = sliceSize * ordered.length;
  const paddingHu = options.paddingHu ?? DEFAULT_DICOM_SERIES_OPTIONS.paddingHu;
  // Values go straight into the volume when the file layout is already canonical.
  const identity =
    mapping.axisOf[0] === 2 &&
    mapping.axisOf[1] === 1 &&
    mapping.axisOf[2] === 0 &&
    !mapping.flip.some((f) => f);
  let target: Int16Array | Float32Array =
    plan.int16 && Number.isInteger(paddingHu) ? new Int16Array(count) : new Float32Array(count);

  const progress = createStageReporter('dicom-pixels', ordered.length, options.onProgress);
  progress.start();
  let transferSyntax = selected.transferSyntaxUid;
  // Reading file s + 1 .. s + IO_CONCURRENCY overlaps with rescaling file s.
  const pending = new Map<number, Promise<Fetched>>();
  const fetch = (s: number) => {
    if (s < ordered.length && !pending.has(s)) pending.set(s, fetchSlice(ordered[s]!, s));
  };
  const fetchSlice = async ({ source, header }: ReadHeader, s: number): Promise<Fetched> => {
    const native = nativePixelPlan(source, header);
    if (native === undefined) return { pixels: undefined, file: await source.bytes() };
    // 16-bit samples in host order land in the int16 volume itself, where the rescale then
    // rewrites them, so they are neither copied nor held twice.
    const inPlace =
      target instanceof Int16Array && native.inPlace && native.length === sliceSize * 2;
    const pixels = inPlace
      ? new Uint8Array(target.buffer, target.byteOffset + s * sliceSize * 2, native.length)
      : new Uint8Array(native.length);
    // Bytes past the element's declared length belong to whatever follows it.
    const available = Math.min(native.declared, await native.readAt(native.offset, pixels));
    if (available < native.length) {
      throw new LesionEncError(
        'CORRUPT_FILE',
        `DICOM Pixel Data: expected ${native.length} bytes for ${rows} x ${columns} x ` +
          `${native.bitsAllocated} bit, got ${Math.max(0, available)} (file truncated)`,
        { file: source.name },
      );
    }
    return { pixels, file: undefined };
  };
  try {
    for (let s = 0; s < ordered.length; s++) {
      throwIfAborted(options.signal, 'DICOM series');
      for (let ahead = 0; ahead <= IO_CONCURRENCY; ahead++) fetch(s + ahead);
      const { source } = ordered[s]!;
      const fetched = await pending.get(s)!;
      pending.delete(s);
      const image =
        fetched.pixels === undefined
          ? await decodeDicomImage(fetched.file, { file: source.name })
          : {
              header: ordered[s]!.header,
              stored: nativeStoredPixels(fetched.pixels, ordered[s]!.header, source.name),
            };
      if (image.header.Rows !== rows || image.header.Columns !== columns) {
        throw new LesionEncError(
          'MIXED_SERIES',
          `image size: expected ${rows} x ${columns}, got ${image.header.Rows} x ${image.header.Columns}`,
          { file: source.name },
        );
      }
      transferSyntax = image.header.TransferSyntaxUID;
      target = rescaleInto(image.stored, image.header, target, s * sliceSize, paddingHu);
      progress.step(source.name);
    }
  } finally {
    // Reads still in flight after a failure must not surface as unhandled rejections.
    for (const p of pending.values()) p.catch(() => undefined);
  }
  progress.done();

  let data: Int16Array | Float32Array = target;
  if (!identity) {
    data = target instanceof Int16Array ? new Int16Array(count) : new Float32Array(count);
    reorderToCanonical(target, [columns, rows, ordered.length], mapping, data);
  }
  const first = ordered[0]!.header;
  // Canonical slices are whole images of the series when the stack axis stays the slice axis.
  const sliceOrder =
    mapping.axisOf[0] === 2
      ? ordered.map((_, k) => (mapping.flip[0] ? ordered.length - 1 - k : k))
      : undefined;
  const reference = buildDicomSeriesReference(
    ordered.map((m) => m.header),
    sliceOrder,
  );
  return createCtVolume(data, plan.geometry, {
    ...fileOption(where),
    metadata: {
      format: 'dicom',
      ...(where === undefined ? {} : { file: where }),
      seriesInstanceUid: selected.seriesInstanceUid,
      studyInstanceUid: first.StudyInstanceUID,
      frameOfReferenceUid: first.FrameOfReferenceUID,
      modality: first.Modality ?? 'CT',
      seriesDescription: first.SeriesDescription,
      transferSyntaxUid: transferSyntax,
      convolutionKernel: first.ConvolutionKernel,
      windowCenterHu: first.WindowCenter,
      windowWidthHu: first.WindowWidth,
      sourceOrientation: orientationCode(plan.axes),
      orientation: geometryOrientation(plan.geometry),
      sopInstanceUids: ordered.map((m) => m.header.SOPInstanceUID),
      files: ordered.map((m) => m.source.name),
      [DICOM_REFERENCE_METADATA_KEY]: reference,
    },
  });
}

/**
 * Writes one slice's HU values at `offset`; returns the target, or a Float32Array copy of it
 * when a value does not fit int16.
 */
function rescaleInto(
  stored: NumericArray,
  header: DicomImageHeader,
  target: Int16Array | Float32Array,
  offset: number,
  paddingHu: number,
): Int16Array | Float32Array {
  const slope = header.RescaleSlope ?? 1;
  const intercept = header.RescaleIntercept ?? 0;
  const pad = header.PixelPaddingValue;
  const padLimit = header.PixelPaddingRangeLimit ?? pad;
  const padLo = pad === undefined ? Infinity : Math.min(pad, padLimit!);
  const padHi = pad === undefined ? -Infinity : Math.max(pad, padLimit!);
  let out = target;
  const n = stored.length;

  // The common case, integer rescale into int16 without padding, runs in monomorphic loops.
  if (out instanceof Int16Array && slope === 1 && pad === undefined) {
    const fits =
      stored instanceof Int16Array || stored instanceof Uint16Array
        ? shiftIntoInt16(stored, intercept, out, offset)
        : undefined;
    if (fits === true) return out;
    if (fits === false)
      return rescaleInto(stored, header, Float32Array.from(out), offset, paddingHu);
  }
  for (let q = 0; q < n; q++) {
    const raw = stored[q]!;
    const v = raw >= padLo && raw <= padHi ? paddingHu : raw * slope + intercept;
    if (out instanceof Int16Array && (v < -32768 || v > 32767 || !Number.isInteger(v))) {
      out = Float32Array.from(out);
    }
    out[offset + q] = v;
  }
  return out;
}

function unit(v: readonly number[]): number[] {
  const n = Math.hypot(v[0]!, v[1]!, v[2]!);
  return [v[0]! / n, v[1]! / n, v[2]! / n];
}

function cross(a: readonly number[], b: readonly number[]): number[] {
  return [
    a[1]! * b[2]! - a[2]! * b[1]!,
    a[2]! * b[0]! - a[0]! * b[2]!,
    a[0]! * b[1]! - a[1]! * b[0]!,
  ];
}

function dot(a: readonly number[], b: readonly number[]): number {
  return a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;
}
