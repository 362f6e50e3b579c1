// Node file access for DICOM: a folder (searched recursively) or one file becomes a series.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { LesionEncError } from '@lesionenc/base';

import {
  type DicomSeriesOptions,
  type DicomSeriesResult,
  type DicomSeriesSummary,
  type DicomSkippedFile,
  type DicomSource,
  loadDicomSeries,
  scanDicomSources,
} from './dicom-series';
import { mapConcurrent } from './internal/concurrent';
import { readFileBytes, readFileRange } from './internal/node-fs';

// The attributes of a CT image file nearly always fit in this many bytes; larger headers are
// read whole.
const HEADER_PREFIX_BYTES = 64 * 1024;
// Files and folders looked at in one folder tree, so a wrong path (a home folder) fails fast.
const MAX_FILES = 100_000;
// File sizes asked for at once.
const STAT_CONCURRENCY = 16;

/**
 * Lists the files under a folder (recursively, hidden entries and DICOMDIR skipped), or the one
 * file given, as sources for the series reader.
 *
 * @param path - A folder or a file.
 * @returns The sources, in file-name order.
 * @throws {@link LesionEncError} `FILE_NOT_FOUND` when the path does not exist or holds no files.
 */
export async function dicomSourcesAt(path: string): Promise<DicomSource[]> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new LesionEncError(
      'FILE_NOT_FOUND',
      'DICOM path: expected a folder or a file, got nothing at this path',
      {
        file: path,
        cause: error,
      },
    );
  }
  const files: { name: string; size: number }[] = [];
  if (info.isFile()) {
    files.push({ name: path, size: info.size });
  } else {
    const names: string[] = [];
    const walk = async (folder: string) => {
      const entries = await readdir(folder, { withFileTypes: true });
      entries.sort((a, b) => a.name.localeCompare(b.name));
      for (const entry of entries) {
        if (entry.name.startsWith('.') || entry.name.toUpperCase() === 'DICOMDIR') continue;
        const full = join(folder, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile()) names.push(full);
        if (names.length > MAX_FILES) {
          throw new LesionEncError(
            'INVALID_ARGUMENT',
            `DICOM folder: expected at most ${MAX_FILES} files, got more (is this the right folder?)`,
            { file: path },
          );
        }
      }
    };
    await walk(path);
    const sizes = await mapConcurrent(
      names,
      STAT_CONCURRENCY,
      async (name) => (await stat(name)).size,
    );
    names.forEach((name, n) => files.push({ name, size: sizes[n]! }));
  }
  if (files.length === 0) {
    throw new LesionEncError(
      'FILE_NOT_FOUND',
      'DICOM folder: expected image files, got an empty folder',
      {
        file: path,
      },
    );
  }
  return files.map(({ name, size }) => ({
    name,
    size,
    headerBytes: () => readPrefix(name, Math.min(size, HEADER_PREFIX_BYTES)),
    bytes: () => readFileBytes(name),
    readAt: (position: number, target: Uint8Array) => readFileRange(name, position, target),
  }));
}

async function readPrefix(path: string, length: number): Promise<Uint8Array> {
  if (length === 0) return readFileBytes(path);
  const buffer = new Uint8Array(length);
  return buffer.subarray(0, await readFileRange(path, 0, buffer));
}

/**
 * Reads a DICOM series from a folder (or a single image file) into a CT volume in the canonical
 * `[slices, rows, columns]` LPS layout, in HU. See `decodeDicomSeries` for the rules; files that
 * are not readable DICOM images are listed in `skipped` rather than failing the read.
 *
 * @param path - A folder (searched recursively) or one file.
 * @param options - Series choice, padding, tolerances, progress and abort.
 * @returns The volume, every series found, and the files left out.
 * @throws {@link LesionEncError} as `decodeDicomSeries`, plus `FILE_NOT_FOUND`.
 * @example
 * ```ts
 * const { volume, series, skipped } = await readDicomSeries('/data/patient-001');
 * volume.geometry.spacingMm; // [slice, row, column] mm, slice spacing from the positions
 * ```
 */
export async function readDicomSeries(
  path: string,
  options: DicomSeriesOptions = {},
): Promise<DicomSeriesResult> {
  return loadDicomSeries(await dicomSourcesAt(path), options, path);
}

/**
 * Lists the series under a folder without decoding pixels.
 *
 * @param path - A folder or one file.
 * @returns The series (largest first) and the files that are not readable DICOM images.
 * @throws {@link LesionEncError} `FILE_NOT_FOUND` when the path does not exist or is empty.
 */
export async function listDicomSeries(
  path: string,
): Promise<{ series: DicomSeriesSummary[]; skipped: DicomSkippedFile[] }> {
  const { series, skipped } = await scanDicomSources(await dicomSourcesAt(path));
  return { series, skipped };
}
