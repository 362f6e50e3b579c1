// The viewer page: takes a scan (drop, file pickers, or the synthetic one), hands it to the
// pipeline's Web Worker, shows progress, then draws the slices with overlays and the report.
import type { BackendName } from '@lesionenc/core';

import type { ModelUrls, RunRequest, ScanSource, ViewerResult, WorkerMessage } from './protocol';
import { LUNG_COLORS, busiestSlice, renderGrey, renderOverlay } from './render';

/** What the page exposes for scripts and tests: its state and a summary of the last result. */
export interface ViewerHandle {
  state: 'idle' | 'running' | 'done' | 'error';
  error: { code: string | null; message: string } | null;
  summary: ViewerSummary | null;
}

/** The numbers of a result, without the voxel arrays. */
export type ViewerSummary = Omit<ViewerResult, 'ct' | 'lungs' | 'lesions'> & {
  crossOriginIsolated: boolean;
};

declare global {
  interface Window {
    lesionencViewer: ViewerHandle;
  }
}

// Longest side of the slice on screen, pixels.
const DISPLAY_PX = 512;

const element = <T extends HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`viewer page: expected an element #${id}, found none`);
  return found as T;
};

const ui = {
  dropZone: element<HTMLDivElement>('drop-zone'),
  fileInput: element<HTMLInputElement>('file-input'),
  folderInput: element<HTMLInputElement>('folder-input'),
  syntheticButton: element<HTMLButtonElement>('synthetic-button'),
  backendSelect: element<HTMLSelectElement>('backend-select'),
  progressBar: element<HTMLProgressElement>('progress-bar'),
  progressText: element<HTMLSpanElement>('progress-text'),
  error: element<HTMLParagraphElement>('error'),
  viewerTitle: element<HTMLHeadingElement>('viewer-title'),
  canvas: element<HTMLCanvasElement>('slice-canvas'),
  sliceSlider: element<HTMLInputElement>('slice-slider'),
  sliceLabel: element<HTMLSpanElement>('slice-label'),
  showLungs: element<HTMLInputElement>('show-lungs'),
  showLesions: element<HTMLInputElement>('show-lesions'),
  opacity: element<HTMLInputElement>('opacity-slider'),
  legend: element<HTMLUListElement>('legend'),
  report: element<HTMLDivElement>('report'),
};

const handle: ViewerHandle = { state: 'idle', error: null, summary: null };
window.lesionencViewer = handle;

let current: ViewerResult | undefined;
let modelUrls: Promise<ModelUrls> | undefined;

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
  const message = event.data;
  if (message.type === 'progress') {
    ui.progressBar.value = message.fraction;
    ui.progressText.textContent = message.text;
  } else if (message.type === 'result') {
    showResult(message.result);
  } else {
    showError(message.code, message.message);
  }
};
worker.onerror = (event) => {
  event.preventDefault();
  showError(null, `the pipeline's worker stopped: ${event.message || 'unknown error'}`);
};

function setState(state: ViewerHandle['state']): void {
  handle.state = state;
  document.body.dataset.state = state;
}

function showError(code: string | null, message: string): void {
  handle.error = { code, message };
  ui.error.textContent = `Could not analyse this scan: ${message}`;
  ui.error.hidden = false;
  ui.progressText.textContent = 'Stopped';
  setState('error');
}

// The page serves the models beside itself; models/index.json lists the optional ones.
async function loadModelUrls(): Promise<ModelUrls> {
  const base = new URL('models/', document.baseURI);
  const listed: Partial<Record<'ica' | 'severity' | 'progression', string | null>> = {};
  try {
    const response = await fetch(new URL('index.json', base));
    if (response.ok) Object.assign(listed, await response.json());
  } catch {
    // no list: the lesion encoder alone
  }
  const at = (path: string | null | undefined) =>
    path === null || path === undefined ? null : new URL(path, base).href;
  return {
    lesionWeights: new URL('lesion-encoder/', base).href,
    wasm: new URL('tfjs/', document.baseURI).href,
    ica: at(listed.ica),
    severity: at(listed.severity),
    progression: at(listed.progression),
  };
}

async function start(source: ScanSource): Promise<void> {
  if (handle.state === 'running') return;
  setState('running');
  handle.error = null;
  ui.error.hidden = true;
  ui.progressBar.value = 0;
  ui.progressText.textContent = 'Starting';
  modelUrls ??= loadModelUrls();
  const request: RunRequest = {
    type: 'run',
    source,
    backend: ui.backendSelect.value as BackendName,
    models: await modelUrls,
  };
  worker.postMessage(request);
}

// --- Input: drop, pickers, the synthetic scan ---

function visibleFiles(files: ArrayLike<File>): File[] {
  return Array.from(files).filter((f) => !f.name.split('/').some((part) => part.startsWith('.')));
}

function startWithFiles(files: File[]): void {
  if (files.length === 0) {
    showError('INVALID_ARGUMENT', 'no files: expected a NIfTI file or a folder of DICOM files');
    return;
  }
  void start({ kind: 'files', files });
}

// Every file under a dropped folder, named by its path inside it.
async function filesOfEntry(entry: FileSystemEntry, prefix = ''): Promise<File[]> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) =>
      (entry as FileSystemFileEntry).file(resolve, reject),
    );
    return [new File([file], `${prefix}${file.name}`, { type: file.type })];
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const entries: FileSystemEntry[] = [];
  // readEntries hands out a folder in batches until it returns an empty one.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
      reader.readEntries(resolve, reject),
    );
    if (batch.length === 0) break;
    entries.push(...batch);
  }
  entries.sort((a, b) => a.name.localeCompare(b.name));
  const nested = await Promise.all(entries.map((e) => filesOfEntry(e, `${prefix}${entry.name}/`)));
  return nested.flat();
}

ui.dropZone.addEventListener('dragover', (event) => {
  event.preventDefault();
  ui.dropZone.classList.add('over');
});
ui.dropZone.addEventListener('dragleave', () => ui.dropZone.classList.remove('over'));
ui.dropZone.addEventListener('drop', (event) => {
  event.preventDefault();
  ui.dropZone.classList.remove('over');
  const items = Array.from(event.dataTransfer?.items ?? []);
  const entries = items
    .map((item) => item.webkitGetAsEntry?.() ?? null)
    .filter((e): e is FileSystemEntry => e !== null);
  if (entries.length === 0) {
    startWithFiles(visibleFiles(event.dataTransfer?.files ?? []));
    return;
  }
  Promise.all(entries.map((e) => filesOfEntry(e)))
    .then((lists) => startWithFiles(visibleFiles(lists.flat())))
    .catch((error: unknown) => showError(null, `reading the dropped files: ${String(error)}`));
});
ui.fileInput.addEventListener('change', () => {
  startWithFiles(visibleFiles(ui.fileInput.files ?? []));
  ui.fileInput.value = '';
});
ui.folderInput.addEventListener('change', () => {
  const files = Array.from(ui.folderInput.files ?? []).map(
    (f) => new File([f], f.webkitRelativePath || f.name, { type: f.type }),
  );
  startWithFiles(visibleFiles(files));
  ui.folderInput.value = '';
});
ui.syntheticButton.addEventListener('click', () => void start({ kind: 'synthetic' }));

// --- Output: slices, legend, report ---

function lesionColors(result: ViewerResult): Map<number, readonly [number, number, number]> {
  return new Map(result.classes.map((c) => [c.value, c.color]));
}

function draw(): void {
  if (current === undefined) return;
  const [slices, rows, columns] = current.shape;
  const k = Number(ui.sliceSlider.value);
  const plane = rows * columns;
  const planes = {
    rows,
    columns,
    ct: current.ct.subarray(k * plane, (k + 1) * plane),
    lungs: current.lungs.subarray(k * plane, (k + 1) * plane),
    lesions: current.lesions.subarray(k * plane, (k + 1) * plane),
  };
  const { width, height } = ui.canvas;
  const context = ui.canvas.getContext('2d')!;

  const grey = document.createElement('canvas');
  grey.width = columns;
  grey.height = rows;
  grey.getContext('2d')!.putImageData(new ImageData(renderGrey(planes), columns, rows), 0, 0);
  context.imageSmoothingEnabled = true;
  context.drawImage(grey, 0, 0, width, height);

  const overlay = document.createElement('canvas');
  overlay.width = width;
  overlay.height = height;
  const pixels = renderOverlay(planes, width, height, {
    showLungs: ui.showLungs.checked,
    showLesions: ui.showLesions.checked,
    opacity: Number(ui.opacity.value),
    lesionColors: lesionColors(current),
  });
  overlay.getContext('2d')!.putImageData(new ImageData(pixels, width, height), 0, 0);
  context.drawImage(overlay, 0, 0);

  const kept = current.keptSlices.includes(k) ? '' : ' (not analysed: too little lung)';
  ui.sliceLabel.textContent = `Slice ${k + 1} / ${slices}${kept}`;
}

function swatch(rgb: readonly number[], outline = false): HTMLSpanElement {
  const span = document.createElement('span');
  span.className = outline ? 'swatch outline' : 'swatch';
  const css = `rgb(${rgb.join(', ')})`;
  span.style.background = css;
  span.style.borderColor = css;
  return span;
}

function drawLegend(result: ViewerResult): void {
  const items: [string, readonly number[], boolean][] = [
    ['Right lung', LUNG_COLORS[1]!, true],
    ['Left lung', LUNG_COLORS[2]!, true],
    ...result.classes.map((c): [string, readonly number[], boolean] => [c.label, c.color, false]),
  ];
  ui.legend.replaceChildren(
    ...items.map(([label, rgb, outline]) => {
      const li = document.createElement('li');
      li.append(swatch(rgb, outline), label);
      return li;
    }),
  );
}

function cell(tag: 'td' | 'th', content: string | Node): HTMLTableCellElement {
  const c = document.createElement(tag);
  c.append(content);
  return c;
}

function table(head: string[], rows: (string | Node)[][]): HTMLTableElement {
  const t = document.createElement('table');
  const tr = document.createElement('tr');
  tr.append(...head.map((h) => cell('th', h)));
  t.createTHead().append(tr);
  const body = t.createTBody();
  for (const row of rows) {
    const r = document.createElement('tr');
    r.append(...row.map((c) => cell('td', c)));
    body.append(r);
  }
  return t;
}

function heading(text: string): HTMLHeadingElement {
  const h = document.createElement('h3');
  h.textContent = text;
  return h;
}

function facts(pairs: [string, string][]): HTMLDListElement {
  const dl = document.createElement('dl');
  dl.className = 'facts';
  for (const [term, value] of pairs) {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    dl.append(dt, dd);
  }
  return dl;
}

function describeBackend(result: ViewerResult): string {
  const b = result.backend;
  const parts: string[] = [];
  if (b.simd === true) parts.push('SIMD');
  if (b.threads !== undefined) parts.push(`${b.threads} thread${b.threads === 1 ? '' : 's'}`);
  if (b.renderer !== undefined) parts.push(b.renderer);
  return parts.length > 0 ? `${b.name} (${parts.join(', ')})` : b.name;
}

function probabilityBlock(title: string, value: number | null, missing: string): Node[] {
  const p = document.createElement('p');
  p.className = 'probability';
  p.textContent = value === null ? '—' : value.toFixed(3);
  const nodes: Node[] = [heading(title), p];
  if (value === null) {
    const note = document.createElement('p');
    note.className = 'muted';
    note.textContent = missing;
    nodes.push(note);
  }
  return nodes;
}

function drawReport(result: ViewerResult): void {
  const ml = (x: number) => x.toFixed(1);
  const [slices, rows, columns] = result.shape;
  const t = result.timingsMs;
  const classes = table(
    ['Class', 'ml', '% of lung'],
    result.classes.map((c) => {
      const name = document.createElement('span');
      name.append(swatch(c.color), ` ${c.label}`);
      return [name, ml(c.volumeMl), c.percentOfLung.toFixed(1)];
    }),
  );
  const lungs = table(
    ['Lung', 'ml'],
    [
      ['Right', ml(result.rightLungVolumeMl)],
      ['Left', ml(result.leftLungVolumeMl)],
      ['Both', ml(result.lungVolumeMl)],
    ],
  );
  const notes = document.createElement('ul');
  notes.className = 'notes';
  notes.append(
    ...result.notes.map((n) => {
      const li = document.createElement('li');
      li.textContent = n;
      return li;
    }),
  );
  const skipped = result.backend.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  ui.report.replaceChildren(
    facts([
      ['Scan', result.source],
      [
        'Grid',
        `${slices} x ${rows} x ${columns}, ${result.spacingMm.map((s) => s.toFixed(2)).join(' x ')} mm`,
      ],
      ['Analysed', `${result.keptSlices.length} of ${slices} slices`],
      ['Backend', describeBackend(result)],
      ...(skipped === '' ? [] : [['Passed over', skipped] as [string, string]]),
      ['Encoder', `${t.encoderPerSlice.toFixed(0)} ms per slice`],
      [
        'Times',
        `read ${(t.read / 1000).toFixed(1)} s, models ${(t.models / 1000).toFixed(1)} s, ` +
          `lung mask ${(t.lungmask / 1000).toFixed(1)} s, encoder ${(t.encoder / 1000).toFixed(1)} s, ` +
          `total ${(t.total / 1000).toFixed(1)} s`,
      ],
    ]),
    heading('Lung volumes'),
    lungs,
    heading('Lesion volumes'),
    classes,
    ...probabilityBlock(
      'Severity probability',
      result.severityProbability,
      'No severity classifier is loaded, so no probability is given.',
    ),
    ...(result.notes.length > 0 ? [heading('Notes'), notes] : []),
  );
}

function showResult(result: ViewerResult): void {
  current = result;
  const [slices, rows, columns] = result.shape;
  // Square pixels on screen: the canvas follows the in-plane spacing.
  const heightMm = rows * result.spacingMm[1];
  const widthMm = columns * result.spacingMm[2];
  const scale = DISPLAY_PX / Math.max(heightMm, widthMm);
  ui.canvas.width = Math.round(widthMm * scale);
  ui.canvas.height = Math.round(heightMm * scale);

  ui.sliceSlider.max = String(slices - 1);
  ui.sliceSlider.value = String(busiestSlice(result.lesions, slices));
  ui.sliceSlider.disabled = false;
  ui.viewerTitle.textContent = `Axial slices: ${result.source}`;
  drawLegend(result);
  drawReport(result);
  draw();

  const { ct: _ct, lungs: _lungs, lesions: _lesions, ...numbers } = result;
  handle.summary = { ...numbers, crossOriginIsolated: globalThis.crossOriginIsolated === true };
  ui.progressBar.value = 1;
  ui.progressText.textContent = `Done in ${(result.timingsMs.total / 1000).toFixed(1)} s`;
  setState('done');
}

for (const control of [ui.sliceSlider, ui.showLungs, ui.showLesions, ui.opacity]) {
  control.addEventListener('input', draw);
}
