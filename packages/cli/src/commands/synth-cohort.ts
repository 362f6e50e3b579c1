// `lesionenc synth-cohort`: a synthetic hospital cohort (phantom scans, masks, labels, manifest).
import { parseArgs } from 'node:util';

import { type HospitalName, isLesionEncError, simulateCohort, writeCohort } from '@lesionenc/core';

import type { CliIo } from '../index';
import { createProgressBar } from '../progress';

const USAGE = `Usage:
  lesionenc synth-cohort --out dir [--hospital A|B] [--patients 100] [--matrix 128] [--seed 0]
                         [--severe 0.07] [--converters 0.07] [--json]

Simulates the patients of one hospital (latent disease, severity and progression labels from
written rules, one to three scans each with that hospital's scanner settings) and writes every
scan with its lung and lesion masks as NIfTI, then manifest.csv and manifest.json, which
encode-cohort and experiment read. --severe and --converters are the shares of severe patients
and of patients who turn severe. The same options give the same cohort, byte for byte.`;

/** Reads a number option; a message for the usage error otherwise. */
function numberOf(value: string, name: string, integer: boolean): number | string {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    return `--${name}: expected ${integer ? 'an integer' : 'a number'}, got '${value}'`;
  }
  return n;
}

/**
 * `lesionenc synth-cohort`.
 *
 * @param args - Arguments after the command name.
 * @param io - Where text goes.
 * @param tty - Whether stderr is a terminal (the progress bar redraws in place).
 * @returns 0 written, 1 failure, 2 usage.
 */
export async function runSynthCohort(
  args: string[],
  io: CliIo,
  tty = process.stderr.isTTY === true,
): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        out: { type: 'string' },
        hospital: { type: 'string', default: 'A' },
        patients: { type: 'string', default: '100' },
        matrix: { type: 'string', default: '128' },
        seed: { type: 'string', default: '0' },
        severe: { type: 'string', default: '0.07' },
        converters: { type: 'string', default: '0.07' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    io.err(`lesionenc synth-cohort: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const numbers = {
    patients: numberOf(values.patients, 'patients', true),
    matrix: numberOf(values.matrix, 'matrix', true),
    seed: numberOf(values.seed, 'seed', true),
    severe: numberOf(values.severe, 'severe', false),
    converters: numberOf(values.converters, 'converters', false),
  };
  const problem =
    values.out === undefined
      ? '--out is required'
      : values.hospital !== 'A' && values.hospital !== 'B'
        ? `--hospital: expected A or B, got '${values.hospital}'`
        : Object.values(numbers).find((v): v is string => typeof v === 'string');
  if (problem !== undefined) {
    io.err(`lesionenc synth-cohort: ${problem}\n${USAGE}`);
    return 2;
  }
  const n = numbers as Record<keyof typeof numbers, number>;
  let cohort;
  try {
    // The simulator checks the ranges and names the bad setting: a usage error.
    cohort = simulateCohort({
      hospital: values.hospital as HospitalName,
      patients: n.patients,
      matrix: n.matrix,
      seed: n.seed,
      severePrevalence: n.severe,
      converterPrevalence: n.converters,
    });
  } catch (error) {
    if (!isLesionEncError(error)) throw error;
    io.err(`lesionenc synth-cohort: ${error.message}\n${USAGE}`);
    return 2;
  }
  const bar = createProgressBar(io, tty);
  try {
    const written = await writeCohort(cohort, values.out!, { onProgress: bar.onProgress });
    bar.finish();
    const severe = cohort.patients.filter((p) => p.severe).length;
    const converters = cohort.patients.filter((p) => p.converter).length;
    const summary = {
      out: values.out,
      hospital: values.hospital,
      patients: cohort.patients.length,
      scans: written.rows.length,
      severe,
      converters,
      manifestCsv: written.manifestCsv,
      manifestJson: written.manifestJson,
    };
    if (values.json) io.out(JSON.stringify(summary, null, 2));
    else {
      io.out(
        `hospital ${values.hospital}: ${summary.patients} patients (${severe} severe, ${converters} turn severe), ` +
          `${summary.scans} scans; wrote ${written.manifestCsv}`,
      );
    }
    return 0;
  } catch (error) {
    bar.finish();
    if (isLesionEncError(error)) {
      io.err(`lesionenc synth-cohort: ${error.message} [${error.code}]`);
      return 1;
    }
    throw error;
  }
}
