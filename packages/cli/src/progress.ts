// A progress bar on stderr for long commands: redrawn in place on a terminal, a line per tenth
// otherwise (logs, CI).
import type { ProgressEvent } from '@lesionenc/core';

import type { CliIo } from './index';

const WIDTH = 30;

/**
 * Makes an `onProgress` callback that draws a bar.
 *
 * @param io - Where the text goes (`err`).
 * @param tty - Redraw in place; otherwise print at every tenth.
 * @returns The callback and `finish()`, which ends the line.
 */
export function createProgressBar(
  io: CliIo,
  tty: boolean,
): { onProgress: (event: ProgressEvent) => void; finish: () => void } {
  let lastTenth = -1;
  let drawn = false;
  return {
    onProgress: (event) => {
      const fraction = Math.min(1, Math.max(0, event.fraction));
      const filled = Math.round(fraction * WIDTH);
      const count =
        event.completed !== undefined && event.total !== undefined
          ? ` ${event.completed}/${event.total}`
          : '';
      const line = `${event.stage} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${Math.floor(fraction * 100)}%${count}${event.message === undefined ? '' : ` ${event.message}`}`;
      if (tty) {
        io.err(`\r${line}\u001b[K`);
        drawn = true;
        return;
      }
      const tenth = Math.floor(fraction * 10);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        io.err(`${line}\n`);
      }
    },
    finish: () => {
      if (drawn) io.err('\n');
      drawn = false;
    },
  };
}
