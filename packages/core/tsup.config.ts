import { defineConfig } from 'tsup';

import { packageBuild } from '../../scripts/tsup-shared';

// The pool's worker thread is a script of its own beside the modules.
export default defineConfig(
  packageBuild({ index: 'src/index.ts', 'encode-worker': 'src/workers/encode-worker.ts' }),
);
