// Writes the browser figures of the viewer test into docs/benchmarks.md, as a section of its own
// after the table `npm run bench` writes (which keeps such sections when it rewrites the file).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

import type { BackendInfo } from '@lesionenc/core';

/** What one run of the viewer test measured. */
export interface BrowserFigures {
  chromium: string;
  browser: BackendInfo;
  browserEncoderMsPerSlice: number;
  browserLungmaskMs: number;
  /** The whole of `assess` in the page's worker. */
  browserAssessMs: number;
  node: BackendInfo;
  nodeEncoderMsPerSlice: number;
  nodeLungmaskMs: number;
  nodeAssessMs: number;
  /** The same scan with WebGL asked for by name, when measured. */
  webgl?: { renderer: string; encoderMsPerSlice: number; lungmaskMs: number; assessMs: number };
  keptSlices: number;
  shape: [number, number, number];
  measuredAt: string;
}

// Prose lines of the docs, in columns (prettier keeps Markdown prose as it is written).
const MARKDOWN_WIDTH = 100;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The heading of the section this writes. */
export const BROWSER_SECTION_HEADING = '## In the browser';

function describeBackend(info: BackendInfo): string {
  const parts: string[] = [];
  if (info.simd === true) parts.push('SIMD');
  if (info.threads !== undefined) {
    parts.push(`${info.threads} thread${info.threads === 1 ? '' : 's'}`);
  }
  return parts.length > 0 ? `${info.name} (${parts.join(', ')})` : info.name;
}

// The rasteriser's name out of a long ANGLE renderer string.
function shortRenderer(renderer: string): string {
  return /swiftshader|llvmpipe|softpipe/i.exec(renderer)?.[0] ?? renderer;
}

/**
 * The section's Markdown.
 *
 * @param f - The figures.
 * @returns The section, from its heading on.
 */
export function browserSection(f: BrowserFigures): string {
  const [slices, rows, columns] = f.shape;
  const skipped = (info: BackendInfo) =>
    info.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ') || '-';
  const seconds = (ms: number) => (ms / 1000).toFixed(1);
  const date = f.measuredAt.slice(0, 10);
  const about =
    'Written by `LESIONENC_UPDATE_DOCS=1 npm run test:browser`: the viewer page ' +
    '([examples/browser-viewer](../examples/browser-viewer)) on its bundled synthetic scan ' +
    `(${slices} x ${rows} x ${columns}, ${f.keptSlices} slices analysed) with the shipped ` +
    `128x128 lesion encoder, in headless Chromium ${f.chromium} (Debian, \`--disable-gpu\`), ` +
    'the page cross-origin isolated; then the same scan in Node. One run each, so read the ' +
    'figures as a rough guide. The encoder time includes pre-processing; `assess` is the ' +
    'whole pipeline call (lung mask, encoder, volumetrics). A row for WebGL, asked for by name, ' +
    'shows what `auto` avoids on a software renderer.';
  return [
    BROWSER_SECTION_HEADING,
    '',
    ...wrap(about, MARKDOWN_WIDTH),
    '',
    '| where | backend | encoder ms per slice | lung mask s | assess s | passed over by `auto` | measured |',
    '| --- | --- | ---: | ---: | ---: | --- | --- |',
    `| Chromium, page worker | ${describeBackend(f.browser)} | ${f.browserEncoderMsPerSlice.toFixed(0)} | ` +
      `${seconds(f.browserLungmaskMs)} | ${seconds(f.browserAssessMs)} | ${skipped(f.browser)} | ${date} |`,
    ...(f.webgl === undefined
      ? []
      : [
          `| Chromium, page worker, \`webgl\` asked for | webgl (${shortRenderer(f.webgl.renderer)}) | ` +
            `${f.webgl.encoderMsPerSlice.toFixed(0)} | ${seconds(f.webgl.lungmaskMs)} | ` +
            `${seconds(f.webgl.assessMs)} | - | ${date} |`,
        ]),
    `| Node, one thread | ${describeBackend(f.node)} | ${f.nodeEncoderMsPerSlice.toFixed(0)} | ` +
      `${seconds(f.nodeLungmaskMs)} | ${seconds(f.nodeAssessMs)} | - | ${date} |`,
    '',
  ].join('\n');
}

/**
 * Replaces (or adds) the browser section of the benchmarks page, keeping everything else.
 *
 * @param file - docs/benchmarks.md.
 * @param figures - What the test measured.
 */
export async function updateBenchmarksDoc(file: string, figures: BrowserFigures): Promise<void> {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(`\n${BROWSER_SECTION_HEADING}\n`);
  let before = text;
  let after = '';
  if (start >= 0) {
    before = text.slice(0, start + 1);
    const next = text.indexOf('\n## ', start + 1);
    after = next >= 0 ? text.slice(next + 1) : '';
  }
  const joined = `${before.trimEnd()}\n\n${browserSection(figures)}\n${after}`;
  const prettier = await import('prettier');
  const style = (await prettier.resolveConfig(file)) ?? {};
  const formatted = await prettier.format(joined, { ...style, parser: 'markdown' });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, formatted);
  renameSync(temporary, file);
}
