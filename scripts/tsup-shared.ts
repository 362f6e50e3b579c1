// The one tsup configuration every package builds with: ESM + CJS + .d.ts, tfjs kept external;
// and, for packages that run in browsers, a second build of the `browser` export condition.
import { existsSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

import type { Options } from 'tsup';

type EsbuildPlugin = NonNullable<Options['esbuildPlugins']>[number];

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

/**
 * The browser twin of a source module: `x.browser.ts` beside `x.ts`, when there is one. Modules
 * that need Node (file system, worker threads) keep that code in a file with such a twin.
 *
 * @param modulePath - The module's path, with or without its `.ts` extension.
 * @returns The twin's path, or undefined.
 */
export function browserTwin(modulePath: string): string | undefined {
  const twin = `${modulePath.replace(/\.[cm]?[jt]s$/, '')}.browser.ts`;
  return existsSync(twin) ? twin : undefined;
}

// Resolves every relative import that has a browser twin to the twin, and fails the build on an
// import of a Node built-in, static or dynamic, that is still reachable.
function browserAdapters(): EsbuildPlugin {
  const builtins = new Set(builtinModules);
  return {
    name: 'lesionenc-browser-adapters',
    setup(build) {
      build.onResolve({ filter: /^\.\.?\// }, (args) => {
        const twin = browserTwin(path.resolve(args.resolveDir, args.path));
        return twin === undefined ? undefined : { path: twin };
      });
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        const bare = args.path.replace(/^node:/, '');
        if (bare === args.path && !builtins.has(bare) && !builtins.has(bare.split('/')[0]!)) {
          return undefined;
        }
        const importer = path.relative(process.cwd(), args.importer);
        return {
          errors: [
            {
              text: `${args.path} (imported by ${importer}) is a Node built-in in a browser build: move that code into a module with a .browser.ts twin`,
            },
          ],
        };
      });
    },
  };
}

/**
 * The build of a package for browsers and web workers, `dist/browser.js` (ESM), which the
 * package's `browser` export condition points at. Its modules' browser twins replace them, and it
 * is built for the browser platform with no Node built-in marked external, so a Node import that
 * reaches it fails the build instead of a user's bundle.
 *
 * @param entry - The browser entry; `src/index.ts` when browsers get the whole API (its types
 * are then the Node entry's, and no second `.d.ts` is made).
 */
export function browserBuild(entry: string): Options {
  return {
    entry: { browser: entry },
    format: ['esm'],
    dts: entry !== 'src/index.ts',
    clean: false,
    sourcemap: true,
    target: 'es2022',
    platform: 'browser',
    splitting: false,
    // Kept as written, so that the check above sees `node:` imports.
    removeNodeProtocol: false,
    external: [/^@tensorflow\//, /^@lesionenc\//],
    esbuildPlugins: [browserAdapters()],
  };
}

/**
 * The Node build and the browser build of one package, into one `dist`.
 *
 * @param node - The Node build ({@link packageBuild}).
 * @param browserEntry - As {@link browserBuild}.
 */
export function packageBuilds(node: Options, browserEntry: string): Options[] {
  // The two builds run at once into one folder, so neither cleans it: it is emptied here first.
  rmSync('dist', { recursive: true, force: true });
  return [{ ...node, clean: false }, browserBuild(browserEntry)];
}
