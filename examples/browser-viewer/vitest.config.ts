// The browser test: the built page in Debian's Chromium, compared with the same pipeline in Node.
// Run through `npm run test:browser` (which builds the packages and the page first).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    env: { LESIONENC_LOG_LEVEL: 'silent' },
  },
});
