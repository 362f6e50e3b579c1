// Loads the models a pipeline runs: lesion U-Net weights (by layer name), a fitted ICA model and
// scan classifiers, from files or from objects the caller already holds.
import { LesionEncError, createLogger } from '@lesionenc/base';
import { type FastIcaModel, icaModelFromJson } from '@lesionenc/ica';
import {
  type LesionUnet,
  type LesionUnetConfig,
  type WeightSpec,
  applyNamedWeights,
  createLesionUnet,
  decodeEncodedWeights,
} from '@lesionenc/lesion-encoder';
import { type LoadedClassifier, loadClassifier } from '@lesionenc/sequence-classifier';
import * as tf from '@tensorflow/tfjs-core';

const log = createLogger('lesionenc.core.models');

/** The lesion U-Net and where its weights came from. */
export interface LoadedLesionUnet {
  unet: LesionUnet;
  /** The weights folder, or null for the seeded initialisation. */
  weightsPath: string | null;
}

async function readJsonFile(path: string, what: string): Promise<unknown> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new LesionEncError('FILE_NOT_FOUND', `${what}: expected a readable file`, {
      file: path,
      cause,
    });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new LesionEncError('CORRUPT_FILE', `${what}: expected JSON`, { file: path, cause });
  }
}

/**
 * Builds the lesion U-Net. With a weights folder (`weights.json` holding `{config, weights}`, the
 * weight specs, and `weights.bin`, as the lesion encoder's trainer writes its checkpoints), the
 * network takes the folder's configuration and every weight must load; without one it keeps its
 * seeded initialisation.
 *
 * @param config - Configuration overrides (ignored for the fields a weights folder fixes).
 * @param weightsPath - The folder, or undefined.
 * @returns The network and the folder it was loaded from.
 * @throws {@link LesionEncError} `FILE_NOT_FOUND`, `CORRUPT_FILE` or `MODEL_FORMAT`.
 */
export async function loadLesionUnet(
  config: Partial<LesionUnetConfig>,
  weightsPath: string | undefined,
): Promise<LoadedLesionUnet> {
  if (weightsPath === undefined) return { unet: createLesionUnet(config), weightsPath: null };
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const manifestPath = join(weightsPath, 'weights.json');
  const manifest = (await readJsonFile(manifestPath, 'lesion encoder weights')) as {
    config?: Partial<LesionUnetConfig>;
    weights?: WeightSpec[];
  } | null;
  if (manifest === null || typeof manifest !== 'object' || !Array.isArray(manifest.weights)) {
    throw new LesionEncError(
      'MODEL_FORMAT',
      'lesion encoder weights: expected {config, weights: [...]}, got another shape',
      { file: manifestPath },
    );
  }
  let data: Uint8Array;
  try {
    data = new Uint8Array(await readFile(join(weightsPath, 'weights.bin')));
  } catch (cause) {
    throw new LesionEncError('FILE_NOT_FOUND', 'lesion encoder weights: expected weights.bin', {
      file: join(weightsPath, 'weights.bin'),
      cause,
    });
  }
  const unet = createLesionUnet({ ...config, ...manifest.config });
  const weights = decodeEncodedWeights({ specs: manifest.weights, data });
  try {
    applyNamedWeights(unet.model, weights, { strict: true });
  } catch (error) {
    unet.dispose();
    throw error;
  } finally {
    tf.dispose(Object.values(weights));
  }
  log.info(`lesion encoder weights loaded from ${weightsPath}`);
  return { unet, weightsPath };
}

/**
 * Loads a fitted ICA model.
 *
 * @param source - A model, or the path of its JSON file.
 * @returns The model.
 * @throws {@link LesionEncError} as {@link icaModelFromJson}, plus `FILE_NOT_FOUND`.
 */
export async function loadIcaModel(source: FastIcaModel | string): Promise<FastIcaModel> {
  if (typeof source !== 'string') return source;
  return icaModelFromJson(await readJsonFile(source, 'ICA model'), source);
}

/**
 * Loads a scan classifier.
 *
 * @param source - A loaded classifier, or its folder.
 * @returns The classifier.
 */
export async function loadScanClassifier(
  source: LoadedClassifier | string,
): Promise<LoadedClassifier> {
  return typeof source === 'string' ? loadClassifier(source) : source;
}

/**
 * Where installed packages may ship default weights: `weights/default` inside the lesion
 * encoder's package folder. Returns the folder when it holds a `weights.json`.
 *
 * @returns The folder, or undefined when none is shipped (or outside Node).
 */
export async function findShippedLesionWeights(): Promise<string | undefined> {
  if (typeof process === 'undefined' || process.versions?.node === undefined) return undefined;
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
