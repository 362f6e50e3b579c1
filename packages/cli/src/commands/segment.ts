// `lesionenc segment` and `lesionenc encode`: the lesion encoder on one scan (DICOM folder, NIfTI)
// or one 2D slice image: lesion labels to NIfTI or PNG, or the feature sequence to .npy.
import { extname } from 'node:path';
import { parseArgs } from 'node:util';

import {
  type BackendName,
  type LesionEncoderPool,
  type LesionUnet,
  LesionEncError,
  analyseScan,
  analyseSliceImages,
  createLesionEncoderPool,
  encodeLabelPng,
  findShippedLesionWeights,
  initBackend,
  isLesionEncError,
  loadLesionUnet,
  readVolume,
  writeNifti,
  writeNpy,
} from '@lesionenc/core';

import { writeFileAtomic } from '../files';
import type { CliIo } from '../index';

const SEGMENT_USAGE = `Usage:
  lesionenc segment <dicom-folder|scan.nii[.gz]|slice.png|slice.jpg> --out labels.nii.gz|labels.png
                    [--weights dir] [--workers N] [--backend auto|wasm|cpu] [--json]

Writes the lesion label map (0 background, 1 ground-glass, 2 consolidation, 3 pleural effusion):
NIfTI on the scan's geometry, or for a 2D image a PNG of its width and height whose pixels hold
the class index. A CT scan is lung-masked first and its lesions kept to lungs and pleural space.`;

const ENCODE_USAGE = `Usage:
  lesionenc encode <dicom-folder|scan.nii[.gz]|slice.png> --out features.npy
                   [--weights dir] [--workers N] [--backend auto|wasm|cpu] [--json]

Writes one lesion-encoder feature vector per kept slice, [slices, features] float32, and prints
the indices of the kept slices.`;

/** The network input size when no weights folder fixes it. */
const DEFAULT_INPUT_SIZE_PX: [number, number] = [256, 256];

class UsageError extends Error {}

interface Encoder {
  unet?: LesionUnet;
  pool?: LesionEncoderPool;
  weightsPath: string | null;
  dispose(): Promise<void>;
}

async function openEncoder(weights: string | undefined, workers: number): Promise<Encoder> {
  const weightsPath = weights ?? (await findShippedLesionWeights()) ?? null;
  const unetConfig = { inputSizePx: DEFAULT_INPUT_SIZE_PX };
  if (workers > 1) {
    const pool = await createLesionEncoderPool({
      workers,
      unet: unetConfig,
      ...(weightsPath === null ? {} : { weightsPath }),
    });
    return { pool, weightsPath, dispose: () => pool.dispose() };
  }
  const { unet } = await loadLesionUnet(unetConfig, weightsPath ?? undefined);
  return {
    unet,
    weightsPath,
    dispose: async () => unet.dispose(),
  };
}

function parse(args: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        weights: { type: 'string' },
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
  if (values.help) return { help: true as const };
  if (positionals.length !== 1) {
    throw new UsageError(`expected one input, got ${positionals.length}`);
  }
  if (values.out === undefined) throw new UsageError('--out is required');
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) {
    throw new UsageError(`--workers: expected a positive integer, got ${values.workers}`);
  }
  return {
    help: false as const,
    input: positionals[0]!,
    out: values.out,
    weights: values.weights,
    workers,
    backend: values.backend as BackendName,
    json: values.json,
  };
}

async function run(kind: 'segment' | 'encode', args: string[], io: CliIo): Promise<number> {
  const usage = kind === 'segment' ? SEGMENT_USAGE : ENCODE_USAGE;
  let options;
  try {
    options = parse(args);
  } catch (error) {
    io.err(`lesionenc ${kind}: ${(error as Error).message}\n${usage}`);
    return 2;
  }
  if (options.help) {
    io.out(usage);
    return 0;
  }
  const outExt = options.out.toLowerCase();
  const wantsPng = outExt.endsWith('.png');
  const wantsNifti = outExt.endsWith('.nii') || outExt.endsWith('.nii.gz');
  if (kind === 'segment' && !wantsPng && !wantsNifti) {
    io.err(
      `lesionenc segment: --out expected a .nii, .nii.gz or .png file, got ${options.out}\n${usage}`,
    );
    return 2;
  }
  if (kind === 'encode' && extname(outExt) !== '.npy') {
    io.err(`lesionenc encode: --out expected a .npy file, got ${options.out}\n${usage}`);
    return 2;
  }

  try {
    const backend = await initBackend({ backend: options.backend });
    const { volume } = await readVolume(options.input);
    const twoD = volume.unit === 'windowed';
    if (kind === 'segment' && wantsPng && volume.geometry.shape[0] !== 1) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `--out ${options.out}: expected a one-slice input for a PNG, got ${volume.geometry.shape[0]} slices (write .nii.gz)`,
      );
    }
    const encoder = await openEncoder(options.weights, options.workers);
    if (encoder.weightsPath === null) {
      io.err(
        `lesionenc ${kind}: no trained lesion-encoder weights found (--weights or shipped); the network has its seeded initialisation and its output is not meaningful`,
      );
    }
    try {
      const net = encoder.unet !== undefined ? { unet: encoder.unet } : { pool: encoder.pool! };
      const scan = twoD ? undefined : await analyseScan(volume, net);
      const result = scan ?? (await analyseSliceImages(volume, net));
      const keptSlices =
        scan?.keptSlices ?? Array.from({ length: volume.geometry.shape[0] }, (_, k) => k);
      if (kind === 'segment') {
        if (wantsPng) await writeFileAtomic(options.out, await encodeLabelPng(result.lesions));
        else await writeNifti(options.out, result.lesions);
      } else {
        await writeNpy(options.out, {
          data: result.features,
          shape: [keptSlices.length, result.featureSize],
        });
      }
      const counts = [0, 0, 0, 0];
      for (const v of result.lesions.data) if (v < counts.length) counts[v]! += 1;
      const report = {
        input: options.input,
        output: options.out,
        backend: backend.name,
        weights: encoder.weightsPath,
        shape: volume.geometry.shape,
        windowed: twoD,
        keptSlices,
        featureShape: [keptSlices.length, result.featureSize],
        voxelsPerClass: Object.fromEntries(
          result.lesions.classes.map((c) => [c.name, counts[c.value] ?? 0]),
        ),
        ...(scan === undefined ? {} : { volumetrics: scan.volumetrics }),
        timingsMs: result.timingsMs,
      };
      if (options.json) {
        io.out(JSON.stringify(report, null, 2));
      } else {
        io.out(
          `${kind === 'segment' ? 'labels' : 'features'} written to ${options.out} ` +
            `(${keptSlices.length} slices, ${backend.name}, ${Math.round(result.timingsMs.encoder)} ms in the encoder)`,
        );
        if (scan !== undefined) {
          const v = scan.volumetrics;
          io.out(
            `lungs ${v.lungVolumeMl.toFixed(0)} ml; ground-glass ${v.groundGlass.volumeMl.toFixed(1)} ml, ` +
              `consolidation ${v.consolidation.volumeMl.toFixed(1)} ml, effusion ${v.pleuralEffusion.volumeMl.toFixed(1)} ml`,
          );
        }
      }
      return 0;
    } finally {
      await encoder.dispose();
    }
  } catch (error) {
    if (isLesionEncError(error)) {
      io.err(`lesionenc ${kind}: ${error.message} [${error.code}]`);
      return 1;
    }
    throw error;
  }
}

/**
 * `lesionenc segment`.
 *
 * @param args - Arguments after the command name.
 * @param io - Where text goes.
 * @returns 0 done, 1 failure, 2 usage.
 */
export function runSegment(args: string[], io: CliIo): Promise<number> {
  return run('segment', args, io);
}

/**
 * `lesionenc encode`.
 *
 * @param args - Arguments after the command name.
 * @param io - Where text goes.
 * @returns 0 done, 1 failure, 2 usage.
 */
export function runEncode(args: string[], io: CliIo): Promise<number> {
  return run('encode', args, io);
}
