// The experiments of the paper (sections 3.4, 4.2, 4.3): two tasks, five methods, trained on one
// hospital's encoded cohort and evaluated per patient on the other's.
import {
  LesionEncError,
  type LongTaskOptions,
  createLogger,
  isLesionEncError,
  subProgress,
} from '@lesionenc/base';
import { type FastIcaModel, fitFastIca, icaModelToJson, transformIca } from '@lesionenc/ica';
import { readNpy } from '@lesionenc/io';
import {
  type MetricsReport,
  aggregateByPatient,
  createMetricsReport,
  delongTest,
  metricsReportToHtml,
  metricsReportToJson,
  metricsReportToMarkdown,
  renderRocSvg,
  rocAuc,
  rocCurve,
} from '@lesionenc/metrics';
import {
  type LesionShareScaling,
  type LogisticRegressionModel,
  type SequenceClassifierConfig,
  type SequenceModelKind,
  type TrainingConfig,
  DEFAULT_TRAINING,
  createSequenceClassifier,
  fitLogisticRegression,
  predictLogisticRegression,
  resampleSequence,
  saveLogisticRegression,
  saveSequenceClassifier,
  trainSequenceClassifier,
} from '@lesionenc/sequence-classifier';

import type { EncodedScanRecord } from './cohort';

const log = createLogger('lesionenc.core.experiment');

/** The paper's two tasks. */
export type ExperimentTask = 'severity' | 'progression';

/** The paper's five methods (Table 3). */
export type ExperimentMethod = 'BS_Volumetric' | 'BS_Pooling' | 'BS_RNN' | 'LE_Pooling' | 'LE_RNN';

/** Configuration of {@link runExperiment}. */
export interface ExperimentConfig {
  /** `index.json` of the training hospital's cohort encoded with the lesion encoder. */
  trainIndex: string;
  /** `index.json` of the test hospital's cohort, same encoder. */
  testIndex: string;
  /** The same cohorts encoded with a generic encoder (BS_Pooling, BS_RNN); left out when absent. */
  genericTrainIndex?: string;
  genericTestIndex?: string;
  /** @defaultValue both */
  tasks?: readonly ExperimentTask[];
  /** ICA components. @defaultValue 64 */
  icaComponents?: number;
  /** Epochs of the sequence classifiers. @defaultValue 100 */
  epochs?: number;
  /** Bootstrap resamples of the confidence intervals. @defaultValue 1000 */
  bootstrap?: number;
  /** Seed of ICA, training and bootstrap. @defaultValue 0 */
  seed?: number;
  /**
   * The slice spacing (mm) every feature sequence is brought to before the sequence classifiers
   * (`resampleSequence`), so that hospitals reconstructing at different spacings give sequences
   * of one length per stretch of body; `auto` takes the training hospital's median spacing when
   * every scan of both hospitals records its spacing; `null` uses the sequences as they are.
   * @defaultValue `auto`
   */
  sliceSpacingMm?: number | 'auto' | null;
  /**
   * Append to each slice's ICA sources the shares of its lung that the lesion encoder labelled
   * ground-glass, consolidation and pleural effusion (standardised on the training scans), for
   * LE_Pooling and LE_RNN. An addition to the paper, whose sequences hold the bottleneck features
   * only; the encoded cohorts must record the shares (`sliceLesionShares`). @defaultValue false
   */
  sliceLesionShares?: boolean;
  /** Settings of the sequence classifiers beyond the paper's defaults (units, dropout). */
  classifier?: Pick<SequenceClassifierConfig, 'lstmUnits' | 'denseUnits' | 'dropout'>;
  /** Training settings beyond the paper's defaults (learning rate, batch, validation split). */
  training?: Omit<TrainingConfig, 'epochs' | 'seed'>;
  /** Manifest columns of the labels: severe (1) and converter (1, among the non-severe). */
  severityColumn?: string;
  progressionColumn?: string;
  /** Report folder. */
  outDir: string;
  /**
   * When set, the lesion-encoder models trained here are saved in this folder for
   * `createLesionEncoder`: `ica.json` (fitted on every training slice) and, per task, the LE_RNN
   * classifier in `<task>/` and the volumetric baseline (BS_Volumetric, a logistic regression
   * on the four volumetric features) in `<task>-volumetric/`, with `models.json` describing how
   * they were made and how they did on the test hospital.
   */
  modelsDir?: string;
}

/** One method's result on one task, as the CLI prints it. */
export interface MethodResult {
  auc: number;
  sensitivity: number;
  specificity: number;
  accuracy: number;
  ci95: { auc: [number, number] } | null;
  /** DeLong's two-sided p-value against LE_RNN (null for LE_RNN itself or without it). */
  pValueVsLeRnn: number | null;
  patients: number;
  positives: number;
}

/** What {@link runExperiment} returns: per task, per method. */
export type ExperimentResult = Partial<
  Record<ExperimentTask, Partial<Record<ExperimentMethod, MethodResult>>>
>;

interface Scan {
  patient: string;
  scan: string;
  label: number;
  features: Float32Array;
  steps: number;
  featureSize: number;
  volumetric: readonly number[];
  /** Slice spacing of the scan in mm, when its record holds it. */
  spacingMm: number | null;
  /** `[steps, 3]` lesion shares per slice, when the record holds them. */
  shares: Float32Array | null;
}

async function readIndex(
  path: string,
): Promise<{ records: EncodedScanRecord[]; root: string; featuresOnly: boolean }> {
  const { readFile } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  let parsed: { scans?: EncodedScanRecord[]; featuresOnly?: boolean };
  try {
    parsed = JSON.parse(await readFile(path, 'utf8')) as typeof parsed;
  } catch (cause) {
    throw new LesionEncError(
      'FILE_NOT_FOUND',
      'encoded cohort index: expected a readable JSON file',
      {
        file: path,
        cause,
      },
    );
  }
  if (!Array.isArray(parsed.scans)) {
    throw new LesionEncError('CORRUPT_FILE', 'encoded cohort index: expected a scans array', {
      file: path,
    });
  }
  return { records: parsed.scans, root: dirname(path), featuresOnly: parsed.featuresOnly === true };
}

// The scans of a task with their labels: every scan for severity; for progression the scans of
// patients who are not severe, labelled by conversion.
async function loadTask(
  path: string,
  task: ExperimentTask,
  severityColumn: string,
  progressionColumn: string,
  needsLesions: boolean,
): Promise<Scan[]> {
  const { join } = await import('node:path');
  const { records, root, featuresOnly } = await readIndex(path);
  if (needsLesions && featuresOnly) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      'encoded cohort: expected lesion-encoder features with lesion labels (BS_Volumetric needs them), got a features-only encoding',
      { file: path },
    );
  }
  const scans: Scan[] = [];
  for (const r of records) {
    const severe = Number(r.columns[severityColumn]);
    const converter = Number(r.columns[progressionColumn]);
    if (task === 'progression' && severe === 1) continue;
    const label = task === 'severity' ? severe : converter;
    if (label !== 0 && label !== 1) {
      throw new LesionEncError(
        'CORRUPT_FILE',
        `encoded cohort scan ${r.patient}/${r.scan}: expected ${task === 'severity' ? severityColumn : progressionColumn} 0 or 1, got ${String(label)}`,
        { file: path },
      );
    }
    const array = await readNpy(join(root, r.features));
    scans.push({
      patient: r.patient,
      scan: r.scan,
      label,
      features: Float32Array.from(array.data as ArrayLike<number>),
      steps: r.keptSlices.length,
      featureSize: r.featureSize,
      volumetric: r.volumetricFeatures,
      spacingMm:
        typeof r.sliceSpacingMm === 'number' && r.sliceSpacingMm > 0 ? r.sliceSpacingMm : null,
      shares: sharesOf(r, path),
    });
  }
  return scans;
}

// A record's per-slice lesion shares as `[steps, 3]` rows, or null when it has none.
function sharesOf(r: EncodedScanRecord, path: string): Float32Array | null {
  const rows = r.sliceLesionShares;
  if (rows === undefined) return null;
  const steps = r.keptSlices.length;
  if (rows.length !== 3 || rows.some((row) => row.length !== steps)) {
    throw new LesionEncError(
      'CORRUPT_FILE',
      `encoded cohort scan ${r.patient}/${r.scan}: expected sliceLesionShares of 3 rows of ${steps} values`,
      { file: path },
    );
  }
  const out = new Float32Array(steps * 3);
  for (let t = 0; t < steps; t++) for (let c = 0; c < 3; c++) out[t * 3 + c] = rows[c]![t]!;
  return out;
}

// Mean and standard deviation of each lesion share over every training slice.
function shareScaling(scans: readonly Scan[], path: string): LesionShareScaling {
  const sum = [0, 0, 0];
  const squares = [0, 0, 0];
  let n = 0;
  for (const s of scans) {
    if (s.shares === null) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `encoded cohort scan ${s.patient}/${s.scan}: expected per-slice lesion shares (encode the cohort again to record them)`,
        { file: path },
      );
    }
    for (let i = 0; i < s.shares.length; i++) {
      sum[i % 3]! += s.shares[i]!;
      squares[i % 3]! += s.shares[i]! ** 2;
    }
    n += s.steps;
  }
  const mean = sum.map((v) => v / Math.max(1, n));
  // A class never labelled keeps a unit scale rather than a zero deviation.
  const std = squares.map(
    (v, c) => Math.sqrt(Math.max(0, v / Math.max(1, n) - mean[c]! ** 2)) || 1,
  );
  return { mean, std };
}

function fitIca(scans: readonly Scan[], components: number, seed: number): FastIcaModel {
  const rows = scans.reduce((n, s) => n + s.steps, 0);
  const cols = scans[0]!.featureSize;
  const data = new Float64Array(rows * cols);
  let at = 0;
  for (const s of scans) {
    data.set(s.features, at);
    at += s.features.length;
  }
  return fitFastIca({ rows, cols, data }, { components: Math.min(components, rows, cols), seed });
}

// Sequences reduced by ICA (with the standardised lesion shares appended when asked), brought
// to one slice spacing when asked, and zero-padded to one length, with their true lengths.
function sequences(
  scans: readonly Scan[],
  ica: FastIcaModel,
  spacingMm: number | null,
  shares: LesionShareScaling | null = null,
) {
  const size = ica.nComponents + (shares?.mean.length ?? 0);
  const reduced = scans.map((s) => {
    if (s.steps === 0) return { features: new Float32Array(0), steps: 0 };
    const sources = transformIca(ica, {
      rows: s.steps,
      cols: s.featureSize,
      data: s.features,
    }).data;
    const steps = new Float32Array(s.steps * size);
    for (let t = 0; t < s.steps; t++) {
      for (let c = 0; c < ica.nComponents; c++) {
        steps[t * size + c] = sources[t * ica.nComponents + c]!;
      }
      if (shares === null) continue;
      for (let c = 0; c < shares.mean.length; c++) {
        steps[t * size + ica.nComponents + c] =
          (s.shares![t * 3 + c]! - shares.mean[c]!) / shares.std[c]!;
      }
    }
    if (spacingMm === null || s.spacingMm === null || s.spacingMm === spacingMm) {
      return { features: steps, steps: s.steps };
    }
    return resampleSequence(steps, s.steps, s.spacingMm, spacingMm);
  });
  const longest = Math.max(1, ...reduced.map((r) => r.steps));
  const features = new Float32Array(scans.length * longest * size);
  reduced.forEach((r, i) => features.set(r.features, i * longest * size));
  return {
    features,
    shape: [scans.length, longest, size] as [number, number, number],
    lengths: reduced.map((r) => r.steps),
  };
}

// The spacing of `auto`: the training scans' median, when every scan of both sets records one.
function chooseSpacing(
  wanted: number | 'auto' | null,
  train: readonly Scan[],
  test: readonly Scan[],
): number | null {
  if (wanted !== 'auto') return wanted;
  if (train.length === 0 || [...train, ...test].some((s) => s.spacingMm === null)) return null;
  const sorted = train.map((s) => s.spacingMm!).sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

async function sequenceScores(
  kind: SequenceModelKind,
  ica: FastIcaModel,
  train: readonly Scan[],
  test: readonly Scan[],
  config: Required<Pick<ExperimentConfig, 'epochs' | 'seed'>> &
    Pick<ExperimentConfig, 'classifier' | 'training'> & {
      spacingMm: number | null;
      shares: LesionShareScaling | null;
    },
  options: LongTaskOptions,
  saveTo?: string,
): Promise<{ scores: Float32Array; bestEpoch: number }> {
  const trainBatch = sequences(train, ica, config.spacingMm, config.shares);
  const classifier = createSequenceClassifier({
    ...config.classifier,
    kind,
    featureSize: trainBatch.shape[2],
    seed: config.seed,
    sliceSpacingMm: config.spacingMm,
    lesionShares: config.shares,
  });
  try {
    const trained = await trainSequenceClassifier(
      classifier,
      {
        ...trainBatch,
        labels: train.map((s) => s.label),
        // A patient's scans stay together on one side of the validation split.
        groups: train.map((s) => s.patient),
      },
      { ...config.training, epochs: config.epochs, seed: config.seed },
      options,
    );
    if (saveTo !== undefined) await saveSequenceClassifier(classifier, saveTo, trained.log);
    return {
      scores: await classifier.predict(sequences(test, ica, config.spacingMm, config.shares)),
      bestEpoch: trained.bestEpoch,
    };
  } finally {
    classifier.dispose();
  }
}

function volumetricScores(
  train: readonly Scan[],
  test: readonly Scan[],
): { scores: Float64Array; model: LogisticRegressionModel } {
  const rows = (scans: readonly Scan[]) => ({
    rows: scans.length,
    cols: 4,
    data: scans.flatMap((s) => [...s.volumetric]),
  });
  const model = fitLogisticRegression(
    rows(train),
    train.map((s) => s.label),
    { classWeights: DEFAULT_TRAINING.classWeights },
  );
  return { scores: predictLogisticRegression(model, rows(test)), model };
}

/**
 * Runs the paper's experiment: for each task, the five methods are trained on the training
 * hospital (ICA fitted on its slices only) and scored on the test hospital; the highest scan
 * probability of each patient is the patient's score. Writes, per task, the metrics report
 * (`<task>.json`, `.md`, `.html`, with bootstrap intervals and DeLong's tests) and the ROC figure
 * (`<task>-roc.svg`), and `results.json` / `results.md` over both tasks (Tables 4 and 5).
 *
 * @param config - Encoded cohorts, tasks, ICA size, epochs, bootstrap, seed, report folder.
 * @param options - Progress (one stage per task and method) and cancellation.
 * @returns Per task and method: AUC, sensitivity, specificity, accuracy, CI, p-value.
 * @throws {@link LesionEncError} `FILE_NOT_FOUND` or `CORRUPT_FILE` for unreadable inputs,
 * `DEGENERATE_INPUT` when a task's test patients hold one class only.
 */
export async function runExperiment(
  config: ExperimentConfig,
  options: LongTaskOptions = {},
): Promise<ExperimentResult> {
  const { mkdir, writeFile, rename } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const tasks = config.tasks ?? (['severity', 'progression'] as const);
  const settings = {
    icaComponents: config.icaComponents ?? 64,
    epochs: config.epochs ?? DEFAULT_TRAINING.epochs,
    seed: config.seed ?? 0,
  };
  const severityColumn = config.severityColumn ?? 'severe';
  const progressionColumn = config.progressionColumn ?? 'converter';
  const write = async (name: string, text: string) => {
    const path = join(config.outDir, name);
    await writeFile(`${path}.tmp-${process.pid}`, text);
    await rename(`${path}.tmp-${process.pid}`, path);
  };
  await mkdir(config.outDir, { recursive: true });

  const result: ExperimentResult = {};
  const sections: string[] = [];
  const generic = config.genericTrainIndex !== undefined && config.genericTestIndex !== undefined;
  const methods: ExperimentMethod[] = [
    'BS_Volumetric',
    ...(generic ? (['BS_Pooling', 'BS_RNN'] as const) : []),
    'LE_Pooling',
    'LE_RNN',
  ];
  let step = 0;
  const totalSteps = tasks.length * methods.length;

  // One ICA per feature set, fitted on every slice of the training hospital (both tasks share it,
  // as one pipeline reduces the features once for both classifiers).
  const icaOf = async (index: string, needsLesions: boolean) =>
    fitIca(
      await loadTask(index, 'severity', severityColumn, progressionColumn, needsLesions),
      settings.icaComponents,
      settings.seed,
    );
  const leIca = await icaOf(config.trainIndex, true);
  const genericIca = generic ? await icaOf(config.genericTrainIndex!, false) : undefined;
  const saved: Record<string, unknown> = {};
  const savedVolumetric: Record<string, unknown> = {};
  if (config.modelsDir !== undefined) {
    await mkdir(config.modelsDir, { recursive: true });
    const icaPath = join(config.modelsDir, 'ica.json');
    await writeFile(`${icaPath}.tmp-${process.pid}`, JSON.stringify(icaModelToJson(leIca)));
    await rename(`${icaPath}.tmp-${process.pid}`, icaPath);
  }

  for (const task of tasks) {
    const train = await loadTask(config.trainIndex, task, severityColumn, progressionColumn, true);
    const test = await loadTask(config.testIndex, task, severityColumn, progressionColumn, true);
    const genericTrain = generic
      ? await loadTask(config.genericTrainIndex!, task, severityColumn, progressionColumn, false)
      : [];
    const genericTest = generic
      ? await loadTask(config.genericTestIndex!, task, severityColumn, progressionColumn, false)
      : [];
    const predictions: { name: ExperimentMethod; labels: number[]; scores: number[] }[] = [];
    const spacingMm = chooseSpacing(
      config.sliceSpacingMm === undefined ? 'auto' : config.sliceSpacingMm,
      train,
      test,
    );
    if (spacingMm !== null) log.info(`${task}: sequences brought to ${spacingMm} mm slices`);
    const shares =
      config.sliceLesionShares === true ? shareScaling(train, config.trainIndex) : null;
    if (shares !== null) {
      // The test scans need them too.
      shareScaling(test, config.testIndex);
    }
    for (const method of methods) {
      const progress = subProgress(options.onProgress, step / totalSteps, (step + 1) / totalSteps);
      const sub = { signal: options.signal, onProgress: progress };
      const [trainSet, testSet] =
        method.startsWith('BS_') && method !== 'BS_Volumetric'
          ? [genericTrain, genericTest]
          : [train, test];
      log.info(
        `${task}: ${method} on ${trainSet.length} training and ${testSet.length} test scans`,
      );
      const saveTo =
        config.modelsDir !== undefined && method === 'LE_RNN'
          ? join(config.modelsDir, task)
          : undefined;
      let scores: Float32Array | Float64Array;
      if (method === 'BS_Volumetric') {
        const fitted = volumetricScores(trainSet, testSet);
        scores = fitted.scores;
        if (config.modelsDir !== undefined) {
          const folder = `${task}-volumetric`;
          await saveLogisticRegression(fitted.model, join(config.modelsDir, folder));
          savedVolumetric[task] = {
            folder,
            method,
            trainingScans: trainSet.length,
            trainingPositives: trainSet.filter((s) => s.label === 1).length,
          };
        }
      } else {
        const trained = await sequenceScores(
          method.endsWith('RNN') ? 'rnn' : 'pooling',
          method.startsWith('BS_') ? genericIca! : leIca,
          trainSet,
          testSet,
          {
            ...settings,
            spacingMm,
            shares: method.startsWith('LE_') ? shares : null,
            classifier: config.classifier,
            training: config.training,
          },
          sub,
          saveTo,
        );
        scores = trained.scores;
        if (saveTo !== undefined) {
          saved[task] = {
            folder: task,
            method,
            trainingScans: trainSet.length,
            trainingPositives: trainSet.filter((s) => s.label === 1).length,
            bestEpoch: trained.bestEpoch,
            sliceSpacingMm: spacingMm,
            sliceLesionShares: shares !== null,
          };
        }
      }
      const patients = aggregateByPatient(
        testSet.map((s) => s.label),
        Array.from(scores),
        testSet.map((s) => s.patient),
      );
      predictions.push({ name: method, labels: patients.labels, scores: patients.scores });
      step++;
    }

    const report: MetricsReport = createMetricsReport(predictions, {
      title: `${task === 'severity' ? 'Severity (mild vs severe)' : 'Progression (mild patients who turn severe)'}: trained on ${config.trainIndex}, tested on ${config.testIndex}, per patient`,
      evaluation: { bootstrap: { iterations: config.bootstrap ?? 1000, seed: settings.seed } },
      compare: false,
    });
    // DeLong's test of each method against LE_RNN; a pair whose AUC difference has no variance
    // (identical or perfectly separating scores) has no p-value.
    const reference = predictions.find((p) => p.name === 'LE_RNN');
    for (const p of predictions) {
      if (reference === undefined || p === reference) continue;
      try {
        report.comparisons.push({
          cohort: 'test',
          modelA: 'LE_RNN',
          modelB: p.name,
          delong: delongTest(reference.labels, reference.scores, p.scores),
        });
      } catch (error) {
        if (!isLesionEncError(error) || error.code !== 'DEGENERATE_INPUT') throw error;
        log.info(`${task}: no DeLong test of LE_RNN against ${p.name}: ${error.message}`);
      }
    }
    await write(`${task}.json`, metricsReportToJson(report));
    await write(`${task}.md`, metricsReportToMarkdown(report));
    await write(`${task}.html`, metricsReportToHtml(report));
    await write(
      `${task}-roc.svg`,
      renderRocSvg(
        predictions.map((p) => {
          const roc = rocCurve(p.labels, p.scores);
          return { name: p.name, fpr: roc.fpr, tpr: roc.tpr, auc: rocAuc(p.labels, p.scores) };
        }),
      ),
    );
    const taskResult: Partial<Record<ExperimentMethod, MethodResult>> = {};
    for (const model of report.models) {
      const e = model.evaluation;
      const versus = report.comparisons.find(
        (c) =>
          (c.modelA === 'LE_RNN' && c.modelB === model.name) ||
          (c.modelB === 'LE_RNN' && c.modelA === model.name),
      );
      taskResult[model.name as ExperimentMethod] = {
        auc: e.auc,
        sensitivity: e.sensitivity,
        specificity: e.specificity,
        accuracy: e.accuracy,
        ci95: e.ci95 === null ? null : { auc: [e.ci95.auc[0], e.ci95.auc[1]] },
        pValueVsLeRnn: versus?.delong.pValue ?? null,
        patients: e.samples,
        positives: e.positives,
      };
    }
    result[task] = taskResult;
    for (const [models, method] of [
      [saved, 'LE_RNN'],
      [savedVolumetric, 'BS_Volumetric'],
    ] as const) {
      const r = taskResult[method];
      if (models[task] !== undefined && r !== undefined) {
        models[task] = {
          ...(models[task] as object),
          test: { auc: r.auc, ci95: r.ci95, patients: r.patients, positives: r.positives },
        };
      }
    }
    sections.push(`## ${task}\n\n${metricsReportToMarkdown(report)}\n\n![ROC](${task}-roc.svg)\n`);
  }
  if (config.modelsDir !== undefined) {
    const describe = {
      format: 'lesionenc-models',
      version: 1,
      trainIndex: config.trainIndex,
      testIndex: config.testIndex,
      ica: { file: 'ica.json', components: leIca.nComponents, seed: settings.seed },
      epochs: settings.epochs,
      seed: settings.seed,
      training: {
        ...DEFAULT_TRAINING,
        ...config.training,
        epochs: settings.epochs,
        seed: settings.seed,
      },
      tasks: saved,
      volumetric: savedVolumetric,
    };
    const path = join(config.modelsDir, 'models.json');
    await writeFile(`${path}.tmp-${process.pid}`, `${JSON.stringify(describe, null, 2)}\n`);
    await rename(`${path}.tmp-${process.pid}`, path);
  }
  await write('results.json', `${JSON.stringify(result, null, 2)}\n`);
  await write('results.md', `# LesionEncoder experiment\n\n${sections.join('\n')}`);
  return result;
}
