// Loads the models a pipeline runs: lesion U-Net weights (by layer name), a fitted ICA model and
// scan classifiers, from files, URLs, or objects the caller already holds.
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

import {
  findShippedModelFiles,
  findShippedWeightsFolder,
  locateResource,
  readResource,
} from './resources';

const log = createLogger('lesionenc.core.models');

/** The lesion U-Net and where its weights came from. */
export interface LoadedLesionUnet {
  unet: LesionUnet;
  /** The weights folder, or null for the seeded initialisation. */
  weightsPath: string | null;
}

async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readResource(path);
  } catch (cause) {
    // A file system's error code (ENOENT) or the HTTP status fetch met.
    const got = (cause as { code?: string }).code ?? (cause as Error).message;
    throw new LesionEncError('FILE_NOT_FOUND', `${what}: expected a readable file, got ${got}`, {
      file: path,
      cause,
    });
  }
}

async function readJsonFile(path: string, what: string): Promise<unknown> {
  const text = new TextDecoder().decode(await readBytes(path, what));
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
 * seeded initialisation. The folder is a path, or an http(s) URL read with `fetch` (in a browser
 * always a URL, which may be relative to the page).
 *
 * @param config - Configuration overrides (ignored for the fields a weights folder fixes).
 * @param weightsPath - The folder or its URL, or undefined.
 * @returns The network and the folder it was loaded from.
 * @throws {@link LesionEncError} `FILE_NOT_FOUND`, `CORRUPT_FILE` or `MODEL_FORMAT`.
 */
export async function loadLesionUnet(
  config: Partial<LesionUnetConfig>,
  weightsPath: string | undefined,
): Promise<LoadedLesionUnet> {
  if (weightsPath === undefined) return { unet: createLesionUnet(config), weightsPath: null };
  const manifestPath = await locateResource(weightsPath, 'weights.json');
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
  const data = await readBytes(
    await locateResource(weightsPath, 'weights.bin'),
    'lesion encoder weights.bin',
  );
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
 * The default ICA and classifiers shipped in this package, and where they are: each is null when
 * none is shipped (`models.json` in the folder says why).
 */
export interface ShippedModels {
  readonly folder: string;
  readonly ica: string | null;
  readonly severity: string | null;
  readonly progression: string | null;
}

/**
 * Where this package ships its default ICA and severity/progression classifiers: the
 * `models/synthetic` folder of `@lesionenc/core`, trained on the synthetic two-hospital cohorts
 * with the shipped lesion-encoder weights (so they fit those weights only).
 *
 * @returns The files, or undefined when none are shipped (or outside Node).
 */
export async function findShippedModels(): Promise<ShippedModels | undefined> {
  if (typeof process === 'undefined' || process.versions?.node === undefined) return undefined;
  return findShippedModelFiles();
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
 * @returns The folder, or undefined when none is shipped (and always in a browser, where the
 * application names its weights' URL).
 */
export async function findShippedLesionWeights(): Promise<string | undefined> {
  if (typeof process === 'undefined' || process.versions?.node === undefined) return undefined;
  return findShippedWeightsFolder();
}
