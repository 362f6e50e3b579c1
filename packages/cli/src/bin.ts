// Entry point of the `lesionenc` executable.
import { runCli } from './index';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`lesionenc: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
