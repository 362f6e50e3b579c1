// Where the models' files come from under Node: paths on the file system, or http(s) URLs read
// with fetch. Browser builds use resources.browser.ts instead.
import type { ShippedModels } from './models';

const URL_PATTERN = /^https?:\/\//i;

/**
 * The location of a file in a model folder.
 *
 * @param folder - A folder path or URL.
 * @param name - A file name.
 * @returns The file's path or URL.
 */
export async function locateResource(folder: string, name: string): Promise<string> {
  if (URL_PATTERN.test(folder)) return `${folder.replace(/\/+$/, '')}/${name}`;
  const { join } = await import('node:path');
  return join(folder, name);
}

/**
 * Reads a model file whole.
 *
 * @param location - A path or an http(s) URL.
 * @returns The bytes.
 * @throws The file system's or fetch's own error (callers turn it into a typed one).
 */
export async function readResource(location: string): Promise<Uint8Array> {
  if (URL_PATTERN.test(location)) {
    const response = await fetch(location);
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    return new Uint8Array(await response.arrayBuffer());
  }
  const { readFile } = await import('node:fs/promises');
  return new Uint8Array(await readFile(location));
}

/**
 * Where installed packages ship default weights: `weights/default` inside the lesion encoder's
 * package folder, when it holds a `weights.json`.
 *
 * @returns The folder, or undefined when none is shipped.
 */
export async function findShippedWeightsFolder(): Promise<string | undefined> {
  const { createRequire } = await import('node:module');
  const { dirname, join } = await import('node:path');
  const { access } = await import('node:fs/promises');
  const { fileURLToPath } = await import('node:url');
  // Resolve from this module first (an installed @lesionenc/core finds its own dependency from
  // any working directory), then from the working directory.
  const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
  for (const base of [here, join(process.cwd(), 'index.js')]) {
    try {
      const require = createRequire(base);
      const root = dirname(require.resolve('@lesionenc/lesion-encoder/package.json'));
      const folder = join(root, 'weights', 'default');
      await access(join(folder, 'weights.json'));
      return folder;
    } catch {
      // not reachable from this base; try the next
    }
  }
  return undefined;
}

/**
 * The default ICA and classifiers in `models/synthetic` of `@lesionenc/core`'s package folder.
 *
 * @returns Their files (null for each one not shipped), or undefined when none is there.
 */
export async function findShippedModelFiles(): Promise<ShippedModels | undefined> {
  const { createRequire } = await import('node:module');
  const { dirname, join } = await import('node:path');
  const { access } = await import('node:fs/promises');
  const { fileURLToPath } = await import('node:url');
  const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
  try {
    const root = dirname(createRequire(here).resolve('@lesionenc/core/package.json'));
    const folder = join(root, 'models', 'synthetic');
    const present = async (path: string, probe = path) => {
      try {
        await access(probe);
        return path;
      } catch {
        return null;
      }
    };
    const classifier = (task: string) =>
      present(join(folder, task), join(folder, task, 'classifier.json'));
    const [ica, severity, progression] = await Promise.all([
      present(join(folder, 'ica.json')),
      classifier('severity'),
      classifier('progression'),
    ]);
    if (ica === null && severity === null && progression === null) return undefined;
    return { folder, ica, severity, progression };
  } catch {
    return undefined;
  }
}
