// The user-facing pipeline: one object that holds the models (lesion encoder, ICA, severity and
// progression classifiers) and assesses a scan end to end.
import {
  type CtVolume,
  LesionEncError,
  type LongTaskOptions,
  createLogger,
  subProgress,
} from '@lesionenc/base';
import { type FastIcaModel, transformIca } from '@lesionenc/ica';
import {
  type LesionUnet,
  type LesionUnetConfig,
  createInferenceUnet,
} from '@lesionenc/lesion-encoder';
import {
  type LoadedClassifier,
  predictLogisticRegression,
  resampleSequence,
} from '@lesionenc/sequence-classifier';

import { type ScanAnalysis, DEFAULT_ANALYSE_SCAN, analyseScan, sliceLesionShares } from './analyse';
import {
  findShippedLesionWeights,
  findShippedModels,
  loadIcaModel,
  loadLesionUnet,
  loadScanClassifier,
} from './internal/models';
import { type LesionEncoderPool, createLesionEncoderPool } from './pool';

const log = createLogger('lesionenc.core.assess');

/** Construction of {@link createLesionEncoder}. */
export interface LesionEncoderConfig {
  /**
   * Lesion U-Net weights folder (`weights.json` + `weights.bin`); `shipped` for the weights in
   * the lesion encoder's package when it has them; `null` for the seeded initialisation.
   * @defaultValue `shipped`
   */
  lesionWeights?: string | 'shipped' | null;
  /** Network configuration used when no weights folder fixes it. @defaultValue 256x256 B0 */
  unet?: Partial<LesionUnetConfig>;
  /**
   * A fitted ICA model (64 components in the paper) or its JSON file; `shipped` for the one in
   * this package (fitted on synthetic cohorts encoded with the shipped weights); `null` for none.
   * @defaultValue `shipped` with the shipped lesion weights, otherwise none
   */
  ica?: FastIcaModel | string | 'shipped' | null;
  /**
   * Severity classifier (mild vs severe): a loaded one or its folder; `shipped` or `null` as for
   * `ica`. @defaultValue `shipped` with the shipped lesion weights, otherwise none
   */
  severity?: LoadedClassifier | string | 'shipped' | null;
  /**
   * Progression classifier (mild patients who turn severe): a loaded one or its folder; `shipped`
   * or `null` as for `ica`. @defaultValue `shipped` with the shipped lesion weights, otherwise none
   */
  progression?: LoadedClassifier | string | 'shipped' | null;
  /** Worker threads for the encoder (Node); 1 runs it on this thread. @defaultValue 1 */
  workers?: number;
  /** Bytes the activations of one forward batch may take. @defaultValue 512 MiB */
  memoryBudgetBytes?: number;
  /**
   * Run the network's encoder only: feature sequences without lesion labels (all background,
   * lesion volumetrics zero), several times faster. For generic-encoder baselines, whose labels
   * mean nothing. @defaultValue false
   */
  featuresOnly?: boolean;
}

/** Where each model of a {@link LesionEncoder} came from. */
export interface ModelProvenance {
  /** The weights folder, or null for an untrained network. */
  lesionWeights: string | null;
  ica: boolean;
  severity: LoadedClassifier['kind'] | null;
  progression: LoadedClassifier['kind'] | null;
  /**
   * The folder of the shipped ICA and classifiers when any of them came from it (trained on
   * synthetic cohorts: for research, not for clinical use), else null.
   */
  shippedModels: string | null;
  /** The encoder ran without its decoder: features only, no lesion labels. */
  featuresOnly: boolean;
}

/** What {@link LesionEncoder.assess} returns. Plain data. */
export interface Assessment extends ScanAnalysis {
  /** Probability of severe disease, or null without a severity classifier. */
  readonly severityProbability: number | null;
  /**
   * Probability that a mild patient turns severe (paper: within 7 days), or null without a
   * progression classifier. Meaningful for mild cases only.
   */
  readonly progressionProbability: number | null;
  /** The ICA-reduced feature sequence, `[keptSlices.length, components]`, when ICA is loaded. */
  readonly icaFeatures: Float32Array | null;
  /** What could not be done and why, in plain words. */
  readonly notes: readonly string[];
  readonly models: ModelProvenance;
}

/** The pipeline, holding its models. Call `dispose()` to free them (and stop worker threads). */
export interface LesionEncoder {
  readonly models: ModelProvenance;
  /**
   * Assesses one CT volume in HU: lung mask, lesion encoder, volumetrics, ICA, classifiers.
   *
   * @throws {@link LesionEncError} as {@link analyseScan}, and `SHAPE_MISMATCH` when the ICA
   * model does not take the encoder's feature size.
   */
  assess(volume: CtVolume, options?: LongTaskOptions): Promise<Assessment>;
  dispose(): Promise<void>;
}

async function classifierProbability(
  classifier: LoadedClassifier,
  sequence: Float32Array | null,
  steps: number,
  volumetricFeatures: readonly number[],
  sliceSpacingMm: number,
  scan: Pick<ScanAnalysis, 'lungs' | 'lesions' | 'keptSlices'>,
): Promise<number | null> {
  if (classifier.kind === 'volumetric') {
    return predictLogisticRegression(classifier.model, {
      rows: 1,
      cols: volumetricFeatures.length,
      data: volumetricFeatures,
    })[0]!;
  }
  if (sequence === null || steps === 0) return null;
  const { lesionShares: scaling, sliceSpacingMm: trainedAt } = classifier.classifier.config;
  let withShares = sequence;
  if (scaling !== null) {
    // A classifier trained with the per-slice lesion shares appended gets them, standardised.
    const rows = sliceLesionShares(scan);
    const ica = sequence.length / steps;
    const size = ica + scaling.mean.length;
    withShares = new Float32Array(steps * size);
    for (let t = 0; t < steps; t++) {
      withShares.set(sequence.subarray(t * ica, (t + 1) * ica), t * size);
      for (let c = 0; c < scaling.mean.length; c++) {
        withShares[t * size + ica + c] = (rows[c]![t]! - scaling.mean[c]!) / scaling.std[c]!;
      }
    }
  }
  // A classifier trained on sequences brought to one slice spacing sees this scan at it too.
  const input =
    trainedAt === null || trainedAt === sliceSpacingMm
      ? { features: withShares, steps }
      : resampleSequence(withShares, steps, sliceSpacingMm, trainedAt);
  const size = input.features.length / input.steps;
  const [probability] = await classifier.classifier.predict({
    features: input.features,
    shape: [1, input.steps, size],
  });
  return probability ?? null;
}

/**
 * Creates the LesionEncoder pipeline (paper sections 3.1-3.3): it loads the lesion U-Net (the
 * shipped weights by default), the ICA model and the classifiers it is given, and assesses scans
 * with them. The tfjs backend must be initialised first (`initBackend`).
 *
 * @param config - Models, workers, memory budget.
 * @returns The pipeline.
 * @throws {@link LesionEncError} `FILE_NOT_FOUND`, `CORRUPT_FILE` or `MODEL_FORMAT` for models
 * that cannot be loaded.
 * @example
 * ```ts
 * await initBackend();
 * const encoder = await createLesionEncoder({ ica: 'ica.json', severity: 'severity/' });
 * const { severityProbability, volumetrics } = await encoder.assess((await readVolume(path)).volume);
 * await encoder.dispose();
 * ```
 */
export async function createLesionEncoder(
  config: LesionEncoderConfig = {},
): Promise<LesionEncoder> {
  const requested = config.lesionWeights === undefined ? 'shipped' : config.lesionWeights;
  const weightsPath =
    requested === 'shipped' ? ((await findShippedLesionWeights()) ?? null) : requested;
  const unetConfig: Partial<LesionUnetConfig> = { inputSizePx: [256, 256], ...config.unet };
  const workers = config.workers ?? 1;

  let unet: LesionUnet | undefined;
  let pool: LesionEncoderPool | undefined;
  // The shipped ICA and classifiers fit the shipped lesion weights only: they are the default
  // with those weights, and with other weights only when asked for by name.
  const byDefault = requested === 'shipped' && weightsPath !== null ? 'shipped' : null;
  const wanted = {
    ica: config.ica === undefined ? byDefault : config.ica,
    severity: config.severity === undefined ? byDefault : config.severity,
    progression: config.progression === undefined ? byDefault : config.progression,
  };
  const shipped = Object.values(wanted).includes('shipped') ? await findShippedModels() : undefined;
  const source = <T>(value: T | string | null, name: 'ica' | 'severity' | 'progression') =>
    value === 'shipped' ? (shipped?.[name] ?? null) : value;
  const icaSource = source(wanted.ica, 'ica');
  const severitySource = source(wanted.severity, 'severity');
  const progressionSource = source(wanted.progression, 'progression');
  // Which models came from the shipped folder, named for the notes.
  const fromShipped = (
    [
      ['ICA model', icaSource],
      ['severity classifier', severitySource],
      ['progression classifier', progressionSource],
    ] as const
  )
    .filter(
      ([, s]) => shipped !== undefined && typeof s === 'string' && s.startsWith(shipped.folder),
    )
    .map(([name]) => name);
  const usesShipped = fromShipped.length > 0;
  const [ica, severity, progression] = await Promise.all([
    icaSource === null ? undefined : loadIcaModel(icaSource),
    severitySource === null ? undefined : loadScanClassifier(severitySource),
    progressionSource === null ? undefined : loadScanClassifier(progressionSource),
  ]);
  if (workers > 1) {
    pool = await createLesionEncoderPool({
      workers,
      unet: unetConfig,
      ...(weightsPath === null ? {} : { weightsPath }),
    });
  } else {
    // Inference only: batch normalisation folded in, made now rather than at the first scan.
    unet = createInferenceUnet((await loadLesionUnet(unetConfig, weightsPath ?? undefined)).unet);
  }
  const featureSize = unet?.featureSize ?? pool!.featureSize;
  if (ica !== undefined && ica.nFeatures !== featureSize) {
    unet?.dispose();
    await pool?.dispose();
    throw new LesionEncError(
      'SHAPE_MISMATCH',
      `ICA model: expected ${featureSize} input features (the encoder's), got ${ica.nFeatures}`,
    );
  }
  const models: ModelProvenance = Object.freeze({
    lesionWeights: weightsPath,
    ica: ica !== undefined,
    severity: severity?.kind ?? null,
    progression: progression?.kind ?? null,
    shippedModels: usesShipped ? shipped!.folder : null,
    featuresOnly: config.featuresOnly === true,
  });
  if (weightsPath === null) {
    log.warn('lesion encoder: no trained weights; its lesion labels and features are untrained');
  }

  const assess = async (volume: CtVolume, options: LongTaskOptions = {}): Promise<Assessment> => {
    const scan = await analyseScan(volume, {
      ...(unet !== undefined ? { unet } : { pool: pool! }),
      memoryBudgetBytes: config.memoryBudgetBytes ?? DEFAULT_ANALYSE_SCAN.memoryBudgetBytes,
      featuresOnly: config.featuresOnly === true,
      signal: options.signal,
      onProgress: subProgress(options.onProgress, 0, 0.95),
    });
    const notes: string[] = [];
    if (usesShipped) {
      notes.push(
        `${fromShipped.join(', ')}: the shipped models, trained on synthetic cohorts; ` +
          'for research, not for clinical use',
      );
    }
    if (config.featuresOnly === true) {
      notes.push('features only: the lesion decoder did not run, so there are no lesion labels');
    }
    if (weightsPath === null) {
      notes.push('no trained lesion-encoder weights: lesion labels and features are untrained');
    }
    const steps = scan.keptSlices.length;
    let icaFeatures: Float32Array | null = null;
    if (ica !== undefined && steps > 0) {
      const sources = transformIca(ica, {
        rows: steps,
        cols: scan.featureSize,
        data: scan.features,
      });
      icaFeatures = Float32Array.from(sources.data);
    } else if (ica === undefined) {
      notes.push('no ICA model: sequence classifiers need the ICA-reduced features');
    }
    const probability = async (c: LoadedClassifier | undefined, task: string) => {
      if (c === undefined) {
        notes.push(`no ${task} classifier`);
        return null;
      }
      const p = await classifierProbability(
        c,
        icaFeatures,
        steps,
        scan.volumetricFeatures,
        volume.geometry.spacingMm[0],
        scan,
      );
      if (p === null) notes.push(`${task}: no kept slices or no ICA features to classify`);
      return p;
    };
    const severityProbability = await probability(severity, 'severity');
    const progressionProbability = await probability(progression, 'progression');
    options.onProgress?.({ stage: 'classify', status: 'done', fraction: 1 });
    return {
      ...scan,
      severityProbability,
      progressionProbability,
      icaFeatures,
      notes: Object.freeze(notes),
      models,
    };
  };

  return {
    models,
    assess,
    dispose: async () => {
      unet?.dispose();
      await pool?.dispose();
      // Classifiers given as objects belong to the caller; those loaded from folders are ours.
      for (const [given, loaded] of [
        [config.severity, severity],
        [config.progression, progression],
      ] as const) {
        if (typeof given === 'string' && loaded !== undefined && loaded.kind !== 'volumetric') {
          loaded.classifier.dispose();
        }
      }
    },
  };
}
