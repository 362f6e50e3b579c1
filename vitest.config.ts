// One vitest run over every package; workspace packages resolve to their sources.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));
const alias = Object.fromEntries(
  readdirSync(packagesDir).map((dir) => [`@lesionenc/${dir}`, `${packagesDir}${dir}/src/index.ts`]),
);

export default defineConfig({
  resolve: { alias },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'examples/notebooks/*.test.ts',
      'examples/severity-study/*.test.ts',
      'examples/custom-lesion-task/*.test.ts',
    ],
    passWithNoTests: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    env: { LESIONENC_LOG_LEVEL: 'silent' },
  },
});
