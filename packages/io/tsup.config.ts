import { defineConfig } from 'tsup';

import { packageBuild, packageBuilds } from '../../scripts/tsup-shared';

// Browsers get the entry without the file-system functions.
export default defineConfig(packageBuilds(packageBuild(), 'src/browser.ts'));
