// The pipeline's Web Worker: reads the scan (dropped files or the synthetic one), loads the models
// over HTTP once, assesses the scan, and sends the masks and numbers back, so the page never
// blocks while the network runs.
import {
  type Assessment,
  type BackendInfo,
  type BackendName,
  type CtVolume,
  type LesionEncoder,
  type ProgressEvent,
  LESION_CLASSES,
  createChestPhantom,
  createLesionEncoder,
  initBackend,
  isLesionEncError,
  readVolumeFromFiles,
} from '@lesionenc/core';

import type { ClassReport, ModelUrls, RunRequest, ViewerResult, WorkerMessage } from './protocol';
import { SYNTHETIC_SCAN, SYNTHETIC_SCAN_NAME, VIEWER_MEMORY_BUDGET_BYTES } from './synthetic-scan';

interface WorkerScope {
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<RunRequest>) => void) | null;
}
const scope = self as unknown as WorkerScope;

// Shares of the progress bar: reading the scan, loading the models, then the pipeline.
const READ_SHARE = 0.05;
const MODELS_SHARE = 0.1;

const CLASS_LABELS: Record<string, string> = {
  ground_glass: 'Ground-glass opacity',
  consolidation: 'Consolidation',
  pleural_effusion: 'Pleural effusion',
};

let backend: { requested: BackendName; info: BackendInfo } | undefined;
let encoder: { key: string; pipeline: LesionEncoder } | undefined;
let running = false;

function progress(stage: string, fraction: number, text: string): void {
  scope.postMessage({ type: 'progress', stage, fraction, text });
}

function describeStage(event: ProgressEvent): string {
  const counted =
    event.completed !== undefined && event.total !== undefined
      ? ` ${event.completed} / ${event.total}`
      : '';
  switch (event.stage) {
    case 'encode':
      return `Lesion encoder: slice${counted}`;
    case 'volumetrics':
      return 'Measuring lesion volumes';
    case 'classify':
      return 'Classifying';
    default:
      return `Lung mask${counted}`;
  }
}

async function ensureEncoder(models: ModelUrls): Promise<LesionEncoder> {
  const key = JSON.stringify(models);
  if (encoder?.key === key) return encoder.pipeline;
  await encoder?.pipeline.dispose();
  encoder = undefined;
  const pipeline = await createLesionEncoder({
    lesionWeights: models.lesionWeights,
    workers: 1,
    memoryBudgetBytes: VIEWER_MEMORY_BUDGET_BYTES,
    ica: models.ica ?? undefined,
    severity: models.severity ?? undefined,
    progression: models.progression ?? undefined,
  });
  encoder = { key, pipeline };
  return pipeline;
}

async function readScan(
  request: RunRequest,
): Promise<{ volume: CtVolume; name: string; format: string }> {
  if (request.source.kind === 'synthetic') {
    return {
      volume: createChestPhantom(SYNTHETIC_SCAN).volume,
      name: SYNTHETIC_SCAN_NAME,
      format: 'phantom',
    };
  }
  const { files } = request.source;
  const read = await readVolumeFromFiles(files);
  const name = files.length === 1 ? files[0]!.name : `DICOM series, ${files.length} files`;
  return { volume: read.volume, name, format: read.format };
}

function toResult(
  scan: { volume: CtVolume; name: string; format: string },
  assessment: Assessment,
  info: BackendInfo,
  timings: { read: number; models: number; assess: number; total: number },
): ViewerResult {
  const { volume } = scan;
  const ct = new Int16Array(volume.data.length);
  for (let n = 0; n < ct.length; n++) {
    ct[n] = Math.max(-32768, Math.min(32767, Math.round(volume.data[n]!)));
  }
  const v = assessment.volumetrics;
  const byName = {
    ground_glass: v.groundGlass,
    consolidation: v.consolidation,
    pleural_effusion: v.pleuralEffusion,
  } as const;
  const classes: ClassReport[] = LESION_CLASSES.filter((c) => c.value > 0).map((c) => {
    const measured = byName[c.name as keyof typeof byName];
    return {
      value: c.value,
      name: c.name,
      label: CLASS_LABELS[c.name] ?? c.name,
      color: c.color ?? [255, 255, 255],
      volumeMl: measured.volumeMl,
      percentOfLung: measured.percentOfLung,
    };
  });
  const kept = assessment.keptSlices.length;
  return {
    source: scan.name,
    format: scan.format,
    backend: info,
    shape: volume.geometry.shape as [number, number, number],
    spacingMm: volume.geometry.spacingMm as [number, number, number],
    ct,
    lungs: Uint8Array.from(assessment.lungs.labels.data),
    lesions: Uint8Array.from(assessment.lesions.data),
    keptSlices: assessment.keptSlices,
    lungVolumeMl: v.lungVolumeMl,
    rightLungVolumeMl: v.rightLungVolumeMl,
    leftLungVolumeMl: v.leftLungVolumeMl,
    classes,
    severityProbability: assessment.severityProbability,
    progressionProbability: assessment.progressionProbability,
    notes: assessment.notes,
    lesionWeights: assessment.models.lesionWeights,
    timingsMs: {
      ...timings,
      lungmask: assessment.timingsMs.lungmask,
      encoder: assessment.timingsMs.encoder,
      volumetrics: assessment.timingsMs.volumetrics,
      encoderPerSlice: kept > 0 ? assessment.timingsMs.encoder / kept : 0,
    },
  };
}

async function run(request: RunRequest): Promise<void> {
  const started = performance.now();
  progress(
    'read',
    0,
    request.source.kind === 'synthetic' ? 'Making the synthetic scan' : 'Reading the files',
  );
  const scan = await readScan(request);
  const readMs = performance.now() - started;

  progress('models', READ_SHARE, 'Loading the backend and the lesion encoder');
  const modelsStarted = performance.now();
  if (backend?.requested !== request.backend) {
    backend = {
      requested: request.backend,
      info: await initBackend({ backend: request.backend, wasmPaths: request.models.wasm }),
    };
  }
  const pipeline = await ensureEncoder(request.models);
  const modelsMs = performance.now() - modelsStarted;

  const base = READ_SHARE + MODELS_SHARE;
  const assessStarted = performance.now();
  const assessment = await pipeline.assess(scan.volume, {
    onProgress: (event) =>
      progress(event.stage, base + (1 - base) * event.fraction, describeStage(event)),
  });
  const assessMs = performance.now() - assessStarted;
  const result = toResult(scan, assessment, backend.info, {
    read: readMs,
    models: modelsMs,
    assess: assessMs,
    total: performance.now() - started,
  });
  scope.postMessage({ type: 'result', result }, [
    result.ct.buffer,
    result.lungs.buffer,
    result.lesions.buffer,
  ]);
}

scope.onmessage = (event) => {
  if (event.data.type !== 'run' || running) return;
  running = true;
  run(event.data)
    .catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      scope.postMessage({
        type: 'error',
        code: isLesionEncError(error) ? error.code : null,
        message,
      });
    })
    .finally(() => {
      running = false;
    });
};
