// `lesionenc assess`: one CT scan end to end, with a readable report and its files.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import {
  type Assessment,
  type BackendName,
  type ClassVolume,
  type CtVolume,
  type EncodedDicomSeg,
  LESION_SEG_SEGMENTS,
  LUNG_SEG_SEGMENTS,
  createDicomUid,
  createLesionEncoder,
  dicomSeriesReferenceOf,
  encodeDicomSeg,
  encodeOverlayMontagePng,
  initBackend,
  isLesionEncError,
  readVolume,
  writeNifti,
} from '@lesionenc/core';

import { writeFileAtomic } from '../files';
import type { CliIo } from '../index';

const USAGE = `Usage:
  lesionenc assess <dicom-folder|scan.nii[.gz]> [--out dir] [--weights dir] [--ica ica.json]
                   [--severity dir] [--progression dir] [--workers N]
                   [--backend auto|wasm|cpu|tensorflow] [--json]

Segments the lungs and lesions, measures lesion volumes per class and per lung, and gives the
severity and progression probabilities of the classifiers it has: with the shipped lesion weights,
the shipped severity model (volumetric, trained on synthetic cohorts, research use only) unless
--severity names another; sequence classifiers need --ica too. Writes lungs.nii.gz,
lesions.nii.gz, overlay.png, report.json and report.md into --out (default: assessment); for a
DICOM series also lungs.seg.dcm and lesions.seg.dcm, two DICOM SEG objects of one new series in
the scan's study.`;

class UsageError extends Error {}

/** The two DICOM SEG objects of an assessment of a DICOM series, one new series. */
interface AssessmentSegs {
  seriesInstanceUid: string;
  lungs: EncodedDicomSeg;
  lesions: EncodedDicomSeg;
}

/**
 * Encodes the lung and lesion masks as DICOM SEG when the scan came from a DICOM series. A series
 * whose files lack what a SEG must reference gives a note, not a failure: the other outputs
 * stand.
 */
function encodeSegs(
  volume: CtVolume,
  result: Assessment,
): { segs: AssessmentSegs | null; notes: string[] } {
  let reference = dicomSeriesReferenceOf(volume);
  if (reference === undefined) return { segs: null, notes: [] };
  const notes: string[] = [];
  // Both objects must share one frame of reference, even one made up here.
  if (reference.FrameOfReferenceUID === undefined) {
    reference = { ...reference, FrameOfReferenceUID: createDicomUid() };
    notes.push(
      'DICOM SEG: the source series has no FrameOfReferenceUID; the segmentations got a new one',
    );
  }
  const seriesInstanceUid = createDicomUid();
  const common = {
    reference,
    seriesInstanceUid,
    seriesDescription: 'LesionEncoder lungs and lesions',
  };
  try {
    const lungs = encodeDicomSeg(result.lungs.labels, {
      ...common,
      segments: LUNG_SEG_SEGMENTS,
      contentLabel: 'LUNGS',
      contentDescription: 'Right and left lung (lesionenc lung mask)',
      algorithmName: 'lesionenc lung mask',
      instanceNumber: 1,
    });
    const lesions = encodeDicomSeg(result.lesions, {
      ...common,
      segments: LESION_SEG_SEGMENTS,
      contentLabel: 'LESIONS',
      contentDescription: 'Lesions by class (LesionEncoder U-Net)',
      algorithmName: 'LesionEncoder U-Net',
      instanceNumber: 2,
    });
    for (const w of new Set([...lungs.warnings, ...lesions.warnings]))
      notes.push(`DICOM SEG: ${w}`);
    return { segs: { seriesInstanceUid, lungs, lesions }, notes };
  } catch (error) {
    if (!isLesionEncError(error)) throw error;
    return { segs: null, notes: [`DICOM SEG not written: ${error.message}`] };
  }
}

function parse(args: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        out: { type: 'string', default: 'assessment' },
        weights: { type: 'string' },
        ica: { type: 'string' },
        severity: { type: 'string' },
        progression: { type: 'string' },
        workers: { type: 'string', default: '1' },
        backend: { type: 'string', default: 'auto' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return undefined;
  if (positionals.length !== 1)
    throw new UsageError(`expected one scan, got ${positionals.length}`);
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) {
    throw new UsageError(`--workers: expected a positive integer, got ${values.workers}`);
  }
  return { ...values, workers, input: positionals[0]! };
}

function percent(v: ClassVolume): string {
  return `${v.volumeMl.toFixed(1)} ml (${v.percentOfLung.toFixed(1)} % of lung; right ${v.rightPercentOfLung.toFixed(1)} %, left ${v.leftPercentOfLung.toFixed(1)} %)`;
}

function probability(p: number | null): string {
  return p === null ? 'not available' : p.toFixed(3);
}

/** The machine-readable report: every physical quantity names its unit. */
function reportJson(input: string, volume: CtVolume, result: Assessment, timings: object) {
  const v = result.volumetrics;
  const cls = (c: ClassVolume) => ({
    volumeMl: c.volumeMl,
    rightMl: c.rightMl,
    leftMl: c.leftMl,
    percentOfLung: c.percentOfLung,
    rightPercentOfLung: c.rightPercentOfLung,
    leftPercentOfLung: c.leftPercentOfLung,
  });
  return {
    input,
    shape: volume.geometry.shape,
    spacingMm: volume.geometry.spacingMm,
    lungs: {
      rightLungVolumeMl: v.rightLungVolumeMl,
      leftLungVolumeMl: v.leftLungVolumeMl,
      lungVolumeMl: v.lungVolumeMl,
    },
    lesions: {
      groundGlass: cls(v.groundGlass),
      consolidation: cls(v.consolidation),
      pleuralEffusion: cls(v.pleuralEffusion),
      total: cls(v.lesion),
    },
    severityProbability: result.severityProbability,
    progressionProbability: result.progressionProbability,
    slices: { total: volume.geometry.shape[0], kept: result.keptSlices.length },
    models: result.models,
    notes: result.notes,
    timingsMs: timings,
  };
}

function reportMarkdown(report: ReturnType<typeof reportJson>, result: Assessment): string {
  const v = result.volumetrics;
  const rows = [
    ['ground-glass opacity', v.groundGlass],
    ['consolidation', v.consolidation],
    ['pleural effusion', v.pleuralEffusion],
    ['all lesions (ground-glass + consolidation)', v.lesion],
  ] as const;
  return [
    '# LesionEncoder assessment',
    '',
    `Scan: \`${report.input}\`, ${report.shape.join(' x ')} voxels ([slices, rows, columns]), ` +
      `spacing ${report.spacingMm.map((s) => s.toFixed(2)).join(' x ')} mm. ` +
      `${report.slices.kept} of ${report.slices.total} slices hold lung and were analysed.`,
    '',
    'Research software, not a medical device: not for clinical use.',
    '',
    '| lung | volume (ml) |',
    '| --- | ---: |',
    `| right | ${v.rightLungVolumeMl.toFixed(0)} |`,
    `| left | ${v.leftLungVolumeMl.toFixed(0)} |`,
    `| both | ${v.lungVolumeMl.toFixed(0)} |`,
    '',
    '| lesion | volume (ml) | % of lung | % of right lung | % of left lung |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows.map(
      ([name, c]) =>
        `| ${name} | ${c.volumeMl.toFixed(1)} | ${c.percentOfLung.toFixed(1)} | ${c.rightPercentOfLung.toFixed(1)} | ${c.leftPercentOfLung.toFixed(1)} |`,
    ),
    '',
    `Severity (probability of severe disease): ${probability(result.severityProbability)}`,
    '',
    `Progression (probability that a mild case turns severe): ${probability(result.progressionProbability)}`,
    '',
    ...(result.notes.length > 0 ? ['Notes:', '', ...result.notes.map((n) => `- ${n}`), ''] : []),
    '![lesion overlay](overlay.png)',
    '',
  ].join('\n');
}

/**
 * `lesionenc assess`.
 *
 * @param args - Arguments after the command name.
 * @param io - Where text goes.
 * @returns 0 done, 1 failure, 2 usage.
 */
export async function runAssess(args: string[], io: CliIo): Promise<number> {
  let options;
  try {
    options = parse(args);
  } catch (error) {
    io.err(`lesionenc assess: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (options === undefined) {
    io.out(USAGE);
    return 0;
  }
  try {
    const backend = await initBackend({ backend: options.backend as BackendName });
    let started = performance.now();
    const { volume } = await readVolume(options.input);
    const readMs = performance.now() - started;
    const encoder = await createLesionEncoder({
      ...(options.weights === undefined ? {} : { lesionWeights: options.weights }),
      ...(options.ica === undefined ? {} : { ica: options.ica }),
      ...(options.severity === undefined ? {} : { severity: options.severity }),
      ...(options.progression === undefined ? {} : { progression: options.progression }),
      workers: options.workers,
    });
    let result: Assessment;
    try {
      result = await encoder.assess(volume);
    } finally {
      await encoder.dispose();
    }
    const { segs, notes: segNotes } = encodeSegs(volume, result);
    if (segNotes.length > 0) result = { ...result, notes: [...result.notes, ...segNotes] };

    // Files: masks on the scan's geometry, a montage of the lesion overlay, the reports.
    started = performance.now();
    const outDir = resolve(options.out);
    await mkdir(outDir, { recursive: true });
    const files = {
      lungs: join(outDir, 'lungs.nii.gz'),
      lesions: join(outDir, 'lesions.nii.gz'),
      overlay: join(outDir, 'overlay.png'),
      reportJson: join(outDir, 'report.json'),
      reportMarkdown: join(outDir, 'report.md'),
      ...(segs === null
        ? {}
        : {
            lungsSeg: join(outDir, 'lungs.seg.dcm'),
            lesionsSeg: join(outDir, 'lesions.seg.dcm'),
          }),
    };
    await writeNifti(files.lungs, result.lungs.labels);
    await writeNifti(files.lesions, result.lesions);
    if (segs !== null) {
      await writeFileAtomic(files.lungsSeg!, segs.lungs.bytes);
      await writeFileAtomic(files.lesionsSeg!, segs.lesions.bytes);
    }
    await writeFileAtomic(files.overlay, await encodeOverlayMontagePng(volume, result.lesions));
    const timings = {
      read: readMs,
      ...result.timingsMs,
      write: performance.now() - started,
    };
    const report = {
      ...reportJson(options.input, volume, result, timings),
      backend: backend.name,
      files,
      dicomSeg:
        segs === null
          ? null
          : {
              seriesInstanceUid: segs.seriesInstanceUid,
              lungs: { sopInstanceUid: segs.lungs.sopInstanceUid, frames: segs.lungs.frameCount },
              lesions: {
                sopInstanceUid: segs.lesions.sopInstanceUid,
                frames: segs.lesions.frameCount,
              },
            },
    };
    await writeFileAtomic(files.reportJson, `${JSON.stringify(report, null, 2)}\n`);
    await writeFileAtomic(files.reportMarkdown, reportMarkdown(report, result));

    if (options.json) {
      io.out(JSON.stringify(report, null, 2));
      return 0;
    }
    const v = result.volumetrics;
    io.out(
      [
        `LesionEncoder assessment of ${options.input} (${backend.name})`,
        `  slices kept: ${result.keptSlices.length} of ${volume.geometry.shape[0]}`,
        `  lungs: right ${v.rightLungVolumeMl.toFixed(0)} ml, left ${v.leftLungVolumeMl.toFixed(0)} ml`,
        `  ground-glass: ${percent(v.groundGlass)}`,
        `  consolidation: ${percent(v.consolidation)}`,
        `  pleural effusion: ${v.pleuralEffusion.volumeMl.toFixed(1)} ml`,
        `  severity probability: ${probability(result.severityProbability)}`,
        `  progression probability: ${probability(result.progressionProbability)}`,
        `  time: read ${(readMs / 1000).toFixed(1)} s, lung mask ${(result.timingsMs.lungmask / 1000).toFixed(1)} s, ` +
          `encoder ${(result.timingsMs.encoder / 1000).toFixed(1)} s`,
        ...result.notes.map((n) => `  note: ${n}`),
        `  files: ${Object.values(files).join(', ')}`,
      ].join('\n'),
    );
    return 0;
  } catch (error) {
    if (isLesionEncError(error)) {
      io.err(`lesionenc assess: ${error.message} [${error.code}]`);
      return 1;
    }
    throw error;
  }
}
