import { defineConfig } from 'tsup';

import { packageBuild } from '../../scripts/tsup-shared';

// The library and the executable build together; the shebang is harmless in the library files.
export default defineConfig({
  ...packageBuild({ index: 'src/index.ts', bin: 'src/bin.ts' }),
  dts: { entry: { index: 'src/index.ts' } },
  platform: 'node',
  banner: { js: '#!/usr/bin/env node' },
});
