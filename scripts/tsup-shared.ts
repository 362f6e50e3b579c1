// The one tsup configuration every package builds with: ESM + CJS + .d.ts, tfjs kept external.
import type { Options } from 'tsup';

export function packageBuild(entry: Record<string, string> | string[] = ['src/index.ts']): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'es2022',
    platform: 'neutral',
    splitting: false,
    external: [/^@tensorflow\//, /^@lesionenc\//, /^node:/],
  };
}
