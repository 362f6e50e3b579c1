import { defineConfig } from 'tsup';

import { packageBuild, packageBuilds } from '../../scripts/tsup-shared';

// The pool's worker thread is a script of its own beside the modules. Browsers get browser.ts,
// without the pool and the cohort and experiment files.
export default defineConfig(
  packageBuilds(
    packageBuild({ index: 'src/index.ts', 'encode-worker': 'src/workers/encode-worker.ts' }),
    'src/browser.ts',
  ),
);
