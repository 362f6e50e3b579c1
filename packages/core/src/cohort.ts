// Cohort encoding (Node): a manifest of scans in; one feature sequence (.npy) and one volumetrics
// record per scan out, then a volumetrics table (CSV) and an index of everything written.
// Resumable: scans whose outputs exist are skipped.
import {
  LesionEncError,
  type LongTaskOptions,
  createLogger,
  isLesionEncError,
  throwIfAborted,
} from '@lesionenc/base';
import { readVolume, writeNpy } from '@lesionenc/io';

import { type ScanVolumetrics, sliceLesionShares, sliceLungAreasMm2 } from './analyse';
import type { LesionEncoder } from './assess';

const log = createLogger('lesionenc.core.cohort');

/** One scan of a cohort manifest. Extra columns (labels, hospital, ...) are kept as they are. */
export interface CohortScanEntry {
  readonly patient: string;
  readonly scan: string;
  /** The scan (NIfTI file or DICOM folder), relative to the manifest's folder or absolute. */
  readonly file: string;
  readonly [column: string]: string | number;
}

/** A manifest read by {@link readCohortManifest}. */
export interface CohortManifest {
  /** The folder relative paths start from. */
  readonly root: string;
  readonly scans: readonly CohortScanEntry[];
}

/** Options of {@link encodeCohort}. */
export interface EncodeCohortOptions extends LongTaskOptions {
  /** The pipeline whose lesion encoder makes the features (its classifiers are not used). */
  encoder: LesionEncoder;
  /** Output folder: `features/`, `scans/`, `volumetrics.csv`, `index.json`. */
  outDir: string;
  /** Skip scans whose outputs exist. @defaultValue true */
  resume?: boolean;
}

/** One scan in the index {@link encodeCohort} writes. */
export interface EncodedScanRecord {
  readonly patient: string;
  readonly scan: string;
  /** The features, `[keptSlices, featureSize]` float32, relative to the output folder. */
  readonly features: string;
  readonly keptSlices: readonly number[];
  /**
   * Distance between neighbouring slices of the scan, in mm (absent in indexes written before
   * it was recorded): the sequence classifiers bring sequences to one spacing with it.
   */
  readonly sliceSpacingMm?: number;
  /**
   * Per kept slice, the voxels of each lesion class (ground-glass, consolidation, pleural
   * effusion) over the slice's lung voxels, as the lesion encoder labelled them: `[class][slice]`
   * aligned with `keptSlices` (absent in older indexes and for features-only encoders).
   */
  readonly sliceLesionShares?: readonly (readonly number[])[];
  /**
   * Per kept slice, the area of its lung in mm², aligned with `keptSlices` (absent in older
   * indexes): weights that turn the per-slice lesion shares into shares of the whole lung.
   */
  readonly sliceLungAreaMm2?: readonly number[];
  readonly featureSize: number;
  readonly volumetrics: ScanVolumetrics;
  readonly volumetricFeatures: readonly number[];
  /** The manifest's other columns. */
  readonly columns: Readonly<Record<string, string | number>>;
}

/** What {@link encodeCohort} did. */
export interface EncodeCohortResult {
  readonly encoded: number;
  readonly skipped: number;
  /** Scans that could not be encoded, with the reason; the others are complete. */
  readonly failed: readonly { patient: string; scan: string; code: string; message: string }[];
  readonly records: readonly EncodedScanRecord[];
  /** The volumetrics table, or null for a features-only encoder (it has no lesion labels). */
  readonly volumetricsCsv: string | null;
  readonly index: string;
}

const FIXED_COLUMNS = new Set(['patient', 'scan', 'file']);

function parseCsv(text: string, file: string): Record<string, string>[] {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const header = lines[0]?.split(',').map((h) => h.trim());
  if (header === undefined || !['patient', 'scan', 'file'].every((c) => header.includes(c))) {
    throw new LesionEncError(
      'CORRUPT_FILE',
      `cohort manifest: expected a CSV header with patient, scan and file, got ${JSON.stringify(header ?? [])}`,
      { file },
    );
  }
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    if (cells.length !== header.length) {
      throw new LesionEncError(
        'CORRUPT_FILE',
        `cohort manifest row ${i + 1}: expected ${header.length} cells, got ${cells.length}`,
        { file },
      );
    }
    return Object.fromEntries(header.map((h, k) => [h, cells[k]!.trim()]));
  });
}

/**
 * Reads a cohort manifest: JSON (an array of rows, or an object with a `scans` array, as the
 * phantom's cohort writer makes) or CSV with a header. Every row needs `patient`, `scan` and
 * `file`; numeric cells become numbers.
 *
 * @param path - The manifest file.
 * @returns The rows and the folder their paths are relative to.
 * @throws {@link LesionEncError} `FILE_NOT_FOUND`, `CORRUPT_FILE` for a malformed manifest or a
 * repeated patient/scan pair.
 */
export async function readCohortManifest(path: string): Promise<CohortManifest> {
  const { readFile } = await import('node:fs/promises');
  const { dirname, resolve } = await import('node:path');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new LesionEncError('FILE_NOT_FOUND', 'cohort manifest: expected a readable file', {
      file: path,
      cause,
    });
  }
  let rows: Record<string, unknown>[];
  if (path.toLowerCase().endsWith('.csv')) {
    rows = parseCsv(text, path);
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new LesionEncError('CORRUPT_FILE', 'cohort manifest: expected JSON', {
        file: path,
        cause,
      });
    }
    const list = Array.isArray(parsed) ? parsed : (parsed as { scans?: unknown } | null)?.scans;
    if (!Array.isArray(list)) {
      throw new LesionEncError(
        'CORRUPT_FILE',
        'cohort manifest: expected an array of scans or an object with a scans array',
        { file: path },
      );
    }
    rows = list as Record<string, unknown>[];
  }
  const seen = new Set<string>();
  const scans = rows.map((row, i) => {
    const { patient, scan, file } = row as { patient?: unknown; scan?: unknown; file?: unknown };
    if (
      typeof file !== 'string' ||
      (typeof patient !== 'string' && typeof patient !== 'number') ||
      (typeof scan !== 'string' && typeof scan !== 'number')
    ) {
      throw new LesionEncError(
        'CORRUPT_FILE',
        `cohort manifest scan ${i}: expected patient, scan and file, got ${JSON.stringify(row).slice(0, 120)}`,
        { file: path },
      );
    }
    const key = `${patient}/${scan}`;
    if (seen.has(key)) {
      throw new LesionEncError('CORRUPT_FILE', `cohort manifest: scan ${key} appears twice`, {
        file: path,
      });
    }
    seen.add(key);
    const entry: Record<string, string | number> = {};
    for (const [column, value] of Object.entries(row)) {
      if (typeof value === 'number' || typeof value === 'string') {
        entry[column] =
          typeof value === 'string' &&
          value !== '' &&
          Number.isFinite(Number(value)) &&
          !FIXED_COLUMNS.has(column)
            ? Number(value)
            : value;
      }
    }
    return { ...entry, patient: String(patient), scan: String(scan), file } as CohortScanEntry;
  });
  return { root: dirname(resolve(path)), scans };
}

// File-name stem of a scan's outputs: patient and scan, with anything unsafe replaced.
function stem(entry: { patient: string; scan: string }): string {
  return `${entry.patient}__${entry.scan}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

async function writeAtomic(path: string, data: string): Promise<void> {
  const { rename, writeFile } = await import('node:fs/promises');
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, data);
  await rename(temp, path);
}

const CSV_CLASSES = ['groundGlass', 'consolidation', 'pleuralEffusion', 'lesion'] as const;

function volumetricsTable(records: readonly EncodedScanRecord[]): string {
  const extra = [...new Set(records.flatMap((r) => Object.keys(r.columns)))].sort();
  const header = [
    'patient',
    'scan',
    ...extra,
    'keptSlices',
    'rightLungVolumeMl',
    'leftLungVolumeMl',
    'lungVolumeMl',
    ...CSV_CLASSES.flatMap((c) => [
      `${c}Ml`,
      `${c}RightMl`,
      `${c}LeftMl`,
      `${c}PercentOfLung`,
      `${c}RightPercentOfLung`,
      `${c}LeftPercentOfLung`,
    ]),
  ];
  const rows = records.map((r) => {
    const v = r.volumetrics;
    return [
      r.patient,
      r.scan,
      ...extra.map((c) => r.columns[c] ?? ''),
      r.keptSlices.length,
      v.rightLungVolumeMl,
      v.leftLungVolumeMl,
      v.lungVolumeMl,
      ...CSV_CLASSES.flatMap((c) => [
        v[c].volumeMl,
        v[c].rightMl,
        v[c].leftMl,
        v[c].percentOfLung,
        v[c].rightPercentOfLung,
        v[c].leftPercentOfLung,
      ]),
    ].join(',');
  });
  return `${[header.join(','), ...rows].join('\n')}\n`;
}

/**
 * Encodes every scan of a cohort with the pipeline's lesion encoder: for each scan one feature
 * sequence `features/<patient>__<scan>.npy` (`[keptSlices, featureSize]`, float32) and one record
 * `scans/<patient>__<scan>.json` (kept slices, volumetrics, the manifest's columns); at the end
 * `volumetrics.csv` and `index.json` over every encoded scan. Each file is written whole (to a
 * temporary name, then renamed). With `resume`, scans whose record exists are skipped, so an
 * interrupted run continues where it stopped. A scan that cannot be read or encoded is reported
 * in `failed` and the others go on.
 *
 * @param manifestPath - The cohort manifest (see {@link readCohortManifest}).
 * @param options - Encoder, output folder, resume, progress (stage `encode-cohort`, with an ETA
 * in the message) and cancellation.
 * @returns Counts, failures, records and the paths of the table and the index.
 * @throws {@link LesionEncError} as {@link readCohortManifest}, `ABORTED` when the signal fires.
 */
export async function encodeCohort(
  manifestPath: string,
  options: EncodeCohortOptions,
): Promise<EncodeCohortResult> {
  const { mkdir, readFile, access } = await import('node:fs/promises');
  const { isAbsolute, join } = await import('node:path');
  const manifest = await readCohortManifest(manifestPath);
  const featuresDir = join(options.outDir, 'features');
  const scansDir = join(options.outDir, 'scans');
  await mkdir(featuresDir, { recursive: true });
  await mkdir(scansDir, { recursive: true });

  const records: EncodedScanRecord[] = [];
  const failed: { patient: string; scan: string; code: string; message: string }[] = [];
  let encoded = 0;
  let skipped = 0;
  const started = performance.now();
  const total = manifest.scans.length;

  for (const [index, entry] of manifest.scans.entries()) {
    throwIfAborted(options.signal, 'encodeCohort');
    const name = stem(entry);
    const recordPath = join(scansDir, `${name}.json`);
    const featurePath = join(featuresDir, `${name}.npy`);
    const columns = Object.fromEntries(
      Object.entries(entry).filter(([column]) => !FIXED_COLUMNS.has(column)),
    );

    let record: EncodedScanRecord | undefined;
    if (options.resume !== false) {
      try {
        await access(featurePath);
        record = JSON.parse(await readFile(recordPath, 'utf8')) as EncodedScanRecord;
        skipped++;
      } catch {
        record = undefined;
      }
    }
    if (record === undefined) {
      try {
        const file = isAbsolute(entry.file) ? entry.file : join(manifest.root, entry.file);
        const { volume } = await readVolume(file);
        const result = await options.encoder.assess(volume, { signal: options.signal });
        await writeNpy(featurePath, {
          data: result.features,
          shape: [result.keptSlices.length, result.featureSize],
        });
        record = {
          patient: entry.patient,
          scan: entry.scan,
          features: `features/${name}.npy`,
          keptSlices: result.keptSlices,
          sliceSpacingMm: volume.geometry.spacingMm[0],
          sliceLungAreaMm2: sliceLungAreasMm2(result),
          ...(options.encoder.models.featuresOnly
            ? {}
            : { sliceLesionShares: sliceLesionShares(result) }),
          featureSize: result.featureSize,
          volumetrics: result.volumetrics,
          volumetricFeatures: result.volumetricFeatures,
          columns,
        };
        // The record is written last: its presence marks the scan as done.
        await writeAtomic(recordPath, JSON.stringify(record));
        encoded++;
      } catch (error) {
        if (!isLesionEncError(error) || error.code === 'ABORTED') throw error;
        failed.push({
          patient: entry.patient,
          scan: entry.scan,
          code: error.code,
          message: error.message,
        });
        log.warn(`cohort scan ${entry.patient}/${entry.scan} failed: ${error.message}`);
      }
    }
    if (record !== undefined) records.push(record);

    const done = index + 1;
    const elapsedS = (performance.now() - started) / 1000;
    const work = encoded + failed.length;
    const etaS = work > 0 ? (elapsedS / work) * (total - done) : Number.NaN;
    options.onProgress?.({
      stage: 'encode-cohort',
      status: done === total ? 'done' : 'progress',
      fraction: done / total,
      completed: done,
      total,
      message: `${entry.patient}/${entry.scan}${Number.isFinite(etaS) ? `, about ${Math.ceil(etaS)} s left` : ''}`,
    });
  }

  const featuresOnly = options.encoder.models.featuresOnly;
  const volumetricsCsv = featuresOnly ? null : join(options.outDir, 'volumetrics.csv');
  const indexPath = join(options.outDir, 'index.json');
  if (volumetricsCsv !== null) await writeAtomic(volumetricsCsv, volumetricsTable(records));
  await writeAtomic(
    indexPath,
    `${JSON.stringify({ manifest: manifestPath, featuresOnly, scans: records }, null, 1)}\n`,
  );
  return { encoded, skipped, failed, records, volumetricsCsv, index: indexPath };
}
