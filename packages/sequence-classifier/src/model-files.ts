// Saving and loading classifiers as a directory: tfjs `model.json` + `weights.bin` and a
// versioned `classifier.json` (configuration, training log); the volumetric model is JSON only.
import { LesionEncError } from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import { classifierFiles } from './internal/files';
import { type LogisticRegressionModel } from './logistic';
import {
  type ResolvedSequenceClassifierConfig,
  type SequenceClassifier,
  resolveSequenceClassifierConfig,
  wrapModel,
} from './models';
import type { EpochLog } from './train';

/** The `format` of `classifier.json`. */
export const CLASSIFIER_FORMAT = 'lesionenc-classifier';
/** The version written and read. */
export const CLASSIFIER_VERSION = 1;

/** The document in `classifier.json`. */
export type ClassifierJson =
  | {
      format: typeof CLASSIFIER_FORMAT;
      version: typeof CLASSIFIER_VERSION;
      kind: 'rnn' | 'pooling';
      config: ResolvedSequenceClassifierConfig;
      trainingLog?: EpochLog[];
    }
  | {
      format: typeof CLASSIFIER_FORMAT;
      version: typeof CLASSIFIER_VERSION;
      kind: 'volumetric';
      model: {
        mean: number[];
        scale: number[];
        weights: number[];
        intercept: number;
        iterations: number;
      };
    };

/** What {@link loadClassifier} returns. */
export type LoadedClassifier =
  | { kind: 'rnn' | 'pooling'; classifier: SequenceClassifier; trainingLog: EpochLog[] }
  | { kind: 'volumetric'; model: LogisticRegressionModel };

/**
 * Saves a sequence classifier to a directory (created when missing): `model.json` and
 * `weights.bin` in the tfjs layers format, and `classifier.json`.
 *
 * @param classifier - The classifier (not disposed).
 * @param directory - Target directory.
 * @param trainingLog - Optional training log to keep beside the configuration.
 */
export async function saveSequenceClassifier(
  classifier: SequenceClassifier,
  directory: string,
  trainingLog?: EpochLog[],
): Promise<void> {
  const { join, makeDirectory, writeAtomic } = await classifierFiles();
  await makeDirectory(directory);
  await classifier.model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = new Uint8Array(artifacts.weightData as ArrayBuffer);
      await writeAtomic(join(directory, 'weights.bin'), weights);
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      await writeAtomic(join(directory, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const doc: ClassifierJson = {
    format: CLASSIFIER_FORMAT,
    version: CLASSIFIER_VERSION,
    kind: classifier.config.kind,
    config: classifier.config,
    ...(trainingLog === undefined ? {} : { trainingLog }),
  };
  await writeAtomic(join(directory, 'classifier.json'), JSON.stringify(doc, null, 1));
}

/**
 * Saves the volumetric logistic regression to `classifier.json` in a directory.
 *
 * @param model - The fitted model.
 * @param directory - Target directory (created when missing).
 */
export async function saveLogisticRegression(
  model: LogisticRegressionModel,
  directory: string,
): Promise<void> {
  const { join, makeDirectory, writeAtomic } = await classifierFiles();
  await makeDirectory(directory);
  const doc: ClassifierJson = {
    format: CLASSIFIER_FORMAT,
    version: CLASSIFIER_VERSION,
    kind: 'volumetric',
    model: {
      mean: Array.from(model.mean),
      scale: Array.from(model.scale),
      weights: Array.from(model.weights),
      intercept: model.intercept,
      iterations: model.iterations,
    },
  };
  await writeAtomic(join(directory, 'classifier.json'), JSON.stringify(doc, null, 1));
}

/**
 * Loads a classifier saved by {@link saveSequenceClassifier} or {@link saveLogisticRegression}.
 * Under Node it reads a folder; in a browser build the folder is a URL, read with `fetch`.
 *
 * @param directory - The directory, or in a browser the folder's URL.
 * @returns The classifier and its kind.
 * @throws {@link LesionEncError} `FILE_NOT_FOUND`, `CORRUPT_FILE` (unparsable JSON) or
 *   `MODEL_FORMAT` (valid JSON that is not a classifier of a supported version).
 */
export async function loadClassifier(directory: string): Promise<LoadedClassifier> {
  const { join, read } = await classifierFiles();
  const configPath = join(directory, 'classifier.json');
  const readJson = async (path: string): Promise<unknown> => {
    let text: string;
    try {
      text = new TextDecoder().decode(await read(path));
    } catch (cause) {
      throw new LesionEncError('FILE_NOT_FOUND', 'classifier file: expected a readable file', {
        file: path,
        cause,
      });
    }
    try {
      return JSON.parse(text);
    } catch (cause) {
      throw new LesionEncError('CORRUPT_FILE', 'classifier file: expected JSON', {
        file: path,
        cause,
      });
    }
  };
  const fail = (message: string): never => {
    throw new LesionEncError('MODEL_FORMAT', message, { file: configPath });
  };
  const doc = (await readJson(configPath)) as Record<string, unknown> | null;
  if (doc === null || typeof doc !== 'object') return fail('classifier: expected an object');
  if (doc.format !== CLASSIFIER_FORMAT) {
    fail(`classifier format: expected '${CLASSIFIER_FORMAT}', got ${JSON.stringify(doc.format)}`);
  }
  if (doc.version !== CLASSIFIER_VERSION) {
    fail(`classifier version: expected ${CLASSIFIER_VERSION}, got ${JSON.stringify(doc.version)}`);
  }

  if (doc.kind === 'volumetric') {
    const m = doc.model as Record<string, unknown> | undefined;
    const numbers = (name: string): Float64Array => {
      const v = m?.[name];
      if (!Array.isArray(v) || v.length === 0 || !v.every((x) => Number.isFinite(x))) {
        return fail(`classifier model.${name}: expected an array of finite numbers`);
      }
      return Float64Array.from(v as number[]);
    };
    const mean = numbers('mean');
    const scale = numbers('scale');
    const weights = numbers('weights');
    if (scale.length !== mean.length || weights.length !== mean.length) {
      fail('classifier model: expected mean, scale and weights of one length');
    }
    if (!Number.isFinite(m?.intercept)) fail('classifier model.intercept: expected a number');
    return {
      kind: 'volumetric',
      model: Object.freeze({
        featureCount: mean.length,
        mean,
        scale,
        weights,
        intercept: m?.intercept as number,
        iterations: Number(m?.iterations ?? 0),
      }),
    };
  }
  if (doc.kind !== 'rnn' && doc.kind !== 'pooling') {
    return fail(
      `classifier kind: expected rnn, pooling or volumetric, got ${JSON.stringify(doc.kind)}`,
    );
  }
  let config: ResolvedSequenceClassifierConfig;
  try {
    config = resolveSequenceClassifierConfig(doc.config as ResolvedSequenceClassifierConfig);
  } catch (cause) {
    throw new LesionEncError('MODEL_FORMAT', `classifier config: ${(cause as Error).message}`, {
      file: configPath,
      cause,
    });
  }
  const modelPath = join(directory, 'model.json');
  const modelJson = (await readJson(modelPath)) as {
    modelTopology?: object;
    weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const manifest = modelJson.weightsManifest?.[0];
  if (modelJson.modelTopology === undefined || manifest === undefined) {
    throw new LesionEncError(
      'MODEL_FORMAT',
      'model.json: expected modelTopology and weightsManifest',
      {
        file: modelPath,
      },
    );
  }
  const buffers: Uint8Array[] = [];
  for (const p of manifest.paths) {
    try {
      buffers.push(await read(join(directory, p)));
    } catch (cause) {
      throw new LesionEncError('FILE_NOT_FOUND', 'weights file: expected a readable file', {
        file: join(directory, p),
        cause,
      });
    }
  }
  const total = buffers.reduce((sum, b) => sum + b.byteLength, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    weightData.set(b, offset);
    offset += b.byteLength;
  }
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs: manifest.weights,
        weightData: weightData.buffer,
      }),
    );
  } catch (cause) {
    throw new LesionEncError('MODEL_FORMAT', `model.json: ${(cause as Error).message}`, {
      file: modelPath,
      cause,
    });
  }
  const trainingLog = Array.isArray(doc.trainingLog) ? (doc.trainingLog as EpochLog[]) : [];
  return { kind: doc.kind, classifier: wrapModel(config, model), trainingLog };
}
