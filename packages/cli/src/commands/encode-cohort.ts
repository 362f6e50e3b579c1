// `lesionenc encode-cohort`: every scan of a cohort manifest through the lesion encoder, with a
// progress bar; resumable.
import { parseArgs } from 'node:util';

import {
  type BackendName,
  createLesionEncoder,
  encodeCohort,
  initBackend,
  isLesionEncError,
} from '@lesionenc/core';

import type { CliIo } from '../index';
import { createProgressBar } from '../progress';

const USAGE = `Usage:
  lesionenc encode-cohort <manifest.json|manifest.csv> --out dir [--weights dir | --generic]
                          [--features-only] [--workers N] [--size 256] [--no-resume]
                          [--backend auto|wasm|cpu] [--json]

Writes features/<patient>__<scan>.npy ([kept slices, features], float32) and a record per scan,
then volumetrics.csv and index.json. Scans already encoded in --out are skipped unless
--no-resume. --size is the network's input side in pixels when no weights folder fixes it.
--generic uses an encoder that was never trained on lesions (the paper's generic baseline when
no converted ImageNet weights are given with --weights) and implies --features-only: the
encoder runs without its decoder, several times faster, and no lesion labels or volumetrics.csv
are made.`;

/**
 * `lesionenc encode-cohort`.
 *
 * @param args - Arguments after the command name.
 * @param io - Where text goes.
 * @param tty - Whether stderr is a terminal (the progress bar redraws in place).
 * @returns 0 all scans encoded, 1 failures, 2 usage.
 */
export async function runEncodeCohort(
  args: string[],
  io: CliIo,
  tty = process.stderr.isTTY === true,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        weights: { type: 'string' },
        generic: { type: 'boolean', default: false },
        'features-only': { type: 'boolean', default: false },
        workers: { type: 'string', default: '1' },
        size: { type: 'string', default: '256' },
        'no-resume': { type: 'boolean', default: false },
        backend: { type: 'string', default: 'auto' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    io.err(`lesionenc encode-cohort: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const workers = Number(values.workers);
  const size = Number(values.size);
  const problem =
    positionals.length !== 1
      ? `expected one manifest, got ${positionals.length}`
      : values.out === undefined
        ? '--out is required'
        : values.generic && values.weights !== undefined
          ? '--generic and --weights exclude each other'
          : !Number.isInteger(workers) || workers < 1
            ? `--workers: expected a positive integer, got ${values.workers}`
            : !Number.isInteger(size) || size < 32 || size % 32 !== 0
              ? `--size: expected a multiple of 32 (px), got ${values.size}`
              : undefined;
  if (problem !== undefined) {
    io.err(`lesionenc encode-cohort: ${problem}\n${USAGE}`);
    return 2;
  }

  const bar = createProgressBar(io, tty);
  try {
    const backend = await initBackend({ backend: values.backend as BackendName });
    const encoder = await createLesionEncoder({
      lesionWeights: values.generic ? null : (values.weights ?? 'shipped'),
      featuresOnly: values.generic || values['features-only'],
      workers,
      unet: { inputSizePx: [size, size] },
    });
    try {
      const result = await encodeCohort(positionals[0]!, {
        encoder,
        outDir: values.out!,
        resume: !values['no-resume'],
        onProgress: bar.onProgress,
      });
      bar.finish();
      const summary = {
        manifest: positionals[0],
        out: values.out,
        backend: backend.name,
        weights: encoder.models.lesionWeights,
        encoded: result.encoded,
        skipped: result.skipped,
        failed: result.failed,
        featuresOnly: encoder.models.featuresOnly,
        volumetricsCsv: result.volumetricsCsv,
        index: result.index,
      };
      if (values.json) io.out(JSON.stringify(summary, null, 2));
      else {
        io.out(
          `encoded ${result.encoded}, skipped ${result.skipped} (done before), failed ${result.failed.length}; ` +
            `wrote ${result.volumetricsCsv === null ? '' : `${result.volumetricsCsv} and `}${result.index}`,
        );
        for (const f of result.failed)
          io.err(`failed: ${f.patient}/${f.scan}: ${f.message} [${f.code}]`);
      }
      return result.failed.length === 0 ? 0 : 1;
    } finally {
      await encoder.dispose();
    }
  } catch (error) {
    bar.finish();
    if (isLesionEncError(error)) {
      io.err(`lesionenc encode-cohort: ${error.message} [${error.code}]`);
      return 1;
    }
    throw error;
  }
}
