import { defineConfig } from 'tsup';

import { packageBuild } from '../../scripts/tsup-shared';

export default defineConfig(packageBuild());
