import { defineConfig } from 'tsup';

import { packageBuild, packageBuilds } from '../../scripts/tsup-shared';

// Browsers get the whole API, with the browser twin of the file access.
export default defineConfig(packageBuilds(packageBuild(), 'src/index.ts'));
