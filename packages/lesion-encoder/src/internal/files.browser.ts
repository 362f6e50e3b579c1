// The browser stand-in for the trainer's file access: training runs in a browser, but without
// checkpoints or a log file, which need a file system.
import { LesionEncError } from '@lesionenc/base';

import type { TrainerFiles } from './files';

export type { TrainerFiles } from './files';

/**
 * @throws {@link LesionEncError} `INVALID_ARGUMENT`: checkpoints and the log need Node.js.
 */
export async function trainerFiles(): Promise<TrainerFiles> {
  throw new LesionEncError(
    'INVALID_ARGUMENT',
    'trainLesionUnet checkpointDir and logPath: expected Node.js (a file system), got a browser; leave them unset',
  );
}
