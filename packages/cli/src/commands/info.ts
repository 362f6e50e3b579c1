// `lesionenc info`: the tfjs backend this machine gets, or, given a path, what a scan file or
// DICOM folder holds (shape, spacing, orientation, series).
import os from 'node:os';
import { parseArgs } from 'node:util';

import { type BackendName, initBackend } from '@lesionenc/core';
import { geometryOrientation, readVolume } from '@lesionenc/io';

import type { CliIo } from '../index';

/** What `lesionenc info <path> --json` prints. */
export interface ScanFacts {
  file: string;
  format: string;
  /** `[slices, rows, columns]`. */
  shape: number[];
  /** `[slice, row, column]` spacing, mm. */
  spacingMm: number[];
  /** LPS position of voxel (0, 0, 0), mm. */
  originMm: number[];
  /** 3x3 row-major; column a is array axis a in LPS. */
  direction: number[];
  /** Letters for columns, rows, slices of the volume as returned (`LPS` for the canonical layout). */
  orientation: string;
  /** Letters for the file's own axes before reordering, when known. */
  sourceOrientation: string | null;
  unit: string;
  dataType: string;
  modality: string | null;
  transferSyntax: string | null;
  series: {
    seriesInstanceUid: string;
    modality: string | null;
    description: string | null;
    imageCount: number;
    rows: number | null;
    columns: number | null;
    transferSyntaxUid: string;
  }[];
  skipped: { file: string; code: string; reason: string }[];
  warnings: string[];
}

/**
 * Reads a scan and gathers the facts `info` prints.
 *
 * @param path - A DICOM folder or a DICOM, NIfTI, PNG or JPEG file.
 * @returns The facts.
 * @throws LesionEncError when the path cannot be read.
 */
export async function describeScan(path: string): Promise<ScanFacts> {
  const { volume, format, dicom, nifti } = await readVolume(path);
  const g = volume.geometry;
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    file: path,
    format,
    shape: [...g.shape],
    spacingMm: [...g.spacingMm],
    originMm: [...g.originMm],
    direction: [...g.direction],
    orientation: geometryOrientation(g),
    sourceOrientation: nifti?.sourceOrientation ?? text(volume.metadata.sourceOrientation),
    unit: volume.unit,
    dataType: volume.data instanceof Int16Array ? 'int16' : 'float32',
    modality: dicom === undefined ? null : text(volume.metadata.modality),
    transferSyntax: dicom === undefined ? null : text(volume.metadata.transferSyntaxUid),
    series: (dicom?.series ?? []).map((s) => ({
      seriesInstanceUid: s.seriesInstanceUid,
      modality: s.modality ?? null,
      description: s.description ?? null,
      imageCount: s.imageCount,
      rows: s.rows ?? null,
      columns: s.columns ?? null,
      transferSyntaxUid: s.transferSyntaxUid,
    })),
    skipped: (dicom?.skipped ?? []).map((s) => ({ file: s.file, code: s.code, reason: s.reason })),
    warnings: [...(dicom?.warnings ?? [])],
  };
}

function formatNumbers(values: readonly number[], digits: number): string {
  return `[${values.map((v) => Number(v.toFixed(digits))).join(', ')}]`;
}

function printScan(facts: ScanFacts, io: CliIo): void {
  io.out(`file          ${facts.file} (${facts.format})`);
  io.out(
    `shape         ${formatNumbers(facts.shape, 0)} [slices, rows, columns], ${facts.dataType}, ${facts.unit}`,
  );
  io.out(`spacing       ${formatNumbers(facts.spacingMm, 4)} mm`);
  io.out(`origin        ${formatNumbers(facts.originMm, 3)} mm (LPS)`);
  io.out(
    `orientation   ${facts.orientation}` +
      (facts.sourceOrientation === null ? '' : ` (stored as ${facts.sourceOrientation})`),
  );
  if (facts.modality !== null) io.out(`modality      ${facts.modality}`);
  if (facts.transferSyntax !== null) io.out(`transfer      ${facts.transferSyntax}`);
  for (const s of facts.series) {
    io.out(
      `series        ${s.seriesInstanceUid || '(no UID)'}: ${s.imageCount} images, ${s.modality ?? '?'}` +
        (s.description === null ? '' : `, ${s.description}`),
    );
  }
  for (const s of facts.skipped) io.out(`skipped       ${s.file}: ${s.reason} [${s.code}]`);
  for (const w of facts.warnings) io.out(`warning       ${w}`);
}

/**
 * Runs `lesionenc info [path] [--json] [--backend name]`.
 *
 * @param args - Arguments after `info`.
 * @param io - Where output goes.
 * @returns 0 on success; a failure to read the path throws, and the command line turns that into
 * exit 1 with one line on stderr.
 */
export async function runInfo(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      backend: { type: 'string', default: 'auto' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  if (positionals.length > 1) {
    throw new TypeError(`info: expected at most one path argument, got ${positionals.length}`);
  }
  const path = positionals[0];
  if (path !== undefined) {
    const facts = await describeScan(path);
    if (values.json === true) io.out(JSON.stringify(facts, null, 2));
    else printScan(facts, io);
    return 0;
  }

  const backend = await initBackend({ backend: values.backend as BackendName });
  const facts = {
    backend,
    node: process.versions.node,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  };
  if (values.json === true) {
    io.out(JSON.stringify(facts, null, 2));
    return 0;
  }
  io.out(`backend   ${backend.name}${backend.simd === true ? ' (SIMD)' : ''}`);
  for (const s of backend.skipped) io.out(`  passed over ${s.name}: ${s.reason}`);
  io.out(`node      ${facts.node}`);
  io.out(`machine   ${facts.cpus} x ${facts.cpuModel}, ${facts.memoryGiB} GiB`);
  return 0;
}
