// The lesionenc command line: parses arguments and dispatches to the commands.
import { parseArgs } from 'node:util';

import { isLesionEncError, setLogLevel } from '@lesionenc/core';
import type { LogLevel } from '@lesionenc/core';

import { runAssess } from './commands/assess';
import { runClassifier } from './commands/classifier';
import { runDemo } from './commands/demo';
import { runEncodeCohort } from './commands/encode-cohort';
import { runExperimentCommand } from './commands/experiment';
import { runIca } from './commands/ica';
import { runInfo } from './commands/info';
import { runMetrics } from './commands/metrics';
import { runEncode, runSegment } from './commands/segment';
import { runSynthCohort } from './commands/synth-cohort';

/** Where a command writes; tests pass their own. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** A sub-command: parses its own arguments and returns the process exit code. */
export type Command = (args: string[], io: CliIo) => Promise<number>;

const COMMANDS: Readonly<Record<string, { run: Command; summary: string }>> = Object.freeze({
  assess: {
    run: runAssess,
    summary: 'a CT scan end to end: lung and lesion masks, volumes, severity and progression',
  },
  demo: { run: runDemo, summary: 'run the pipeline on a built-in example and print what it finds' },
  info: { run: runInfo, summary: 'show the tfjs backend this machine gets, and the versions' },
  ica: {
    run: runIca,
    summary: 'fit FastICA on feature rows (.npy), or transform with a fitted model',
  },
  classifier: {
    run: runClassifier,
    summary: 'train a sequence or volumetric classifier, or predict',
  },
  segment: {
    run: runSegment,
    summary: 'lesion labels of a scan or slice image, to NIfTI or PNG',
  },
  encode: {
    run: runEncode,
    summary: 'lesion-encoder features of a scan, one vector per kept slice, to .npy',
  },
  'encode-cohort': {
    run: (args, io) => runEncodeCohort(args, io),
    summary: 'lesion-encoder features and volumetrics of every scan in a cohort manifest',
  },
  experiment: {
    run: (args, io) => runExperimentCommand(args, io),
    summary: "the paper's experiment: two cohorts, five methods, reports per task",
  },
  'synth-cohort': {
    run: (args, io) => runSynthCohort(args, io),
    summary: 'a synthetic hospital cohort: phantom scans, masks, labels and a manifest',
  },
  metrics: {
    run: runMetrics,
    summary: 'AUC, ROC, sensitivity/specificity and a bootstrap CI from labels and scores',
  },
});

const USAGE = `Usage: lesionenc <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(14)} ${c.summary}`)
  .join('\n')}

Global options:
  --log-level <level>   silent, error, warn (default), info or debug
  -h, --help            show this help
`;

const defaultIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/**
 * Runs the command line.
 *
 * @param argv - Arguments after the program name.
 * @param io - Where output goes.
 * @returns The exit code: 0 success, 1 a failure the tool reported, 2 bad usage.
 */
export async function runCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    io.out(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.err(`lesionenc: unknown command '${name}'. Commands: ${Object.keys(COMMANDS).join(', ')}`);
    return 2;
  }

  const globalArgs = parseArgs({
    args: rest,
    options: { 'log-level': { type: 'string' } },
    strict: false,
    allowPositionals: true,
  });
  const level = globalArgs.values['log-level'];
  try {
    if (typeof level === 'string') setLogLevel(level as LogLevel);
    return await command.run(
      rest.filter((a, i) => a !== '--log-level' && rest[i - 1] !== '--log-level'),
      io,
    );
  } catch (error) {
    if (isLesionEncError(error)) {
      io.err(`lesionenc ${name}: ${error.message} [${error.code}]`);
      return 1;
    }
    if (error instanceof TypeError && /parseArgs|Unknown option|argument/i.test(error.message)) {
      io.err(`lesionenc ${name}: ${error.message}`);
      return 2;
    }
    io.err(`lesionenc ${name}: ${(error as Error).message ?? String(error)}`);
    return 1;
  }
}
