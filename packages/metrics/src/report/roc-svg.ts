// ROC curves of several models on one SVG plot, like Figure 5 of the paper.
import { LesionEncError, describeValue } from '@lesionenc/base';

import { checkRange } from '../internal/validate';
import { escapeXml, formatNumber } from './escape';

/** One model's curve on the plot. */
export interface RocSeries {
  /** The model's name, shown in the legend. */
  readonly name: string;
  /** False-positive rates, increasing from 0 to 1. */
  readonly fpr: readonly number[];
  /** True-positive rates at the same points. */
  readonly tpr: readonly number[];
  /** Shown in the legend when given. */
  readonly auc?: number;
  /** Shown in the legend after the AUC when given. */
  readonly aucCi?: readonly [number, number];
  /** A CSS colour; by default one of {@link ROC_PALETTE} in turn. */
  readonly color?: string;
}

/** Options of {@link renderRocSvg}. */
export interface RocSvgOptions {
  /** Width in pixels, 200 to 10000. @defaultValue 560 */
  readonly widthPx?: number;
  /** Height in pixels, 200 to 10000. @defaultValue 480 */
  readonly heightPx?: number;
  /** A title above the plot. @defaultValue none */
  readonly title?: string;
  /** Digits of the AUC in the legend. @defaultValue 3 */
  readonly digits?: number;
  /** Draw the chance diagonal. @defaultValue true */
  readonly chanceLine?: boolean;
}

/** The defaults of {@link RocSvgOptions}. */
export const DEFAULT_ROC_SVG_OPTIONS = Object.freeze({
  widthPx: 560,
  heightPx: 480,
  digits: 3,
  chanceLine: true,
});

/** Colours given to the curves in turn (colour-blind safe, Okabe and Ito). */
export const ROC_PALETTE: readonly string[] = Object.freeze([
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#000000',
  '#F0E442',
]);

const MARGIN = Object.freeze({ left: 64, right: 16, top: 36, bottom: 56 });
const TICKS = [0, 0.2, 0.4, 0.6, 0.8, 1];
/** Average advance of a 12 px sans-serif character, for sizing the legend box. */
const LEGEND_CHAR_WIDTH_PX = 6.4;

function legendLabel(series: RocSeries, digits: number): string {
  if (series.auc === undefined) return series.name;
  const what = `renderRocSvg ${series.name}`;
  let label = `${series.name} (AUC ${formatNumber(series.auc, digits, what)}`;
  if (series.aucCi !== undefined) {
    const [lo, hi] = series.aucCi;
    label += `, 95% CI ${formatNumber(lo, digits, what)}-${formatNumber(hi, digits, what)}`;
  }
  return `${label})`;
}

function checkSeries(series: RocSeries, index: number): void {
  const ok =
    typeof series.name === 'string' &&
    Array.isArray(series.fpr) &&
    Array.isArray(series.tpr) &&
    series.fpr.length === series.tpr.length &&
    series.fpr.length >= 2 &&
    [...series.fpr, ...series.tpr].every((v) => Number.isFinite(v) && v >= 0 && v <= 1);
  if (!ok) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `renderRocSvg series ${index} (${describeValue(series.name)}): expected a name and equal-length fpr/tpr arrays of rates in [0, 1], got ${series.fpr?.length} and ${series.tpr?.length} points`,
    );
  }
}

/**
 * Draws ROC curves of several models on one plot: axes with a 0.2 grid, the chance diagonal,
 * one `<path class="roc-curve">` per model carrying `data-model`, and a legend with the AUCs.
 * The result is a standalone SVG 1.1 document.
 *
 * @param series - One entry per model, drawn in order.
 * @param options - Size, title, legend digits.
 * @returns The SVG text.
 * @throws {@link LesionEncError} `DEGENERATE_INPUT` for no series, `INVALID_ARGUMENT` for a
 * malformed one.
 * @example
 * ```ts
 * const svg = renderRocSvg([
 *   { name: 'BiLSTM', ...rocCurve(labels, bilstm), auc: rocAuc(labels, bilstm) },
 *   { name: 'Pooling', ...rocCurve(labels, pooling), auc: rocAuc(labels, pooling) },
 * ]);
 * ```
 */
export function renderRocSvg(series: readonly RocSeries[], options: RocSvgOptions = {}): string {
  const settings = { ...DEFAULT_ROC_SVG_OPTIONS, ...options };
  if (series.length === 0) {
    throw new LesionEncError(
      'DEGENERATE_INPUT',
      'renderRocSvg: expected at least one curve, got none',
    );
  }
  series.forEach(checkSeries);
  const width = checkRange('renderRocSvg widthPx', settings.widthPx, 200, 10000);
  const height = checkRange('renderRocSvg heightPx', settings.heightPx, 200, 10000);
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const x = (fpr: number) => (MARGIN.left + fpr * plotW).toFixed(2);
  const y = (tpr: number) => (MARGIN.top + (1 - tpr) * plotH).toFixed(2);
  const lines: string[] = [];

  lines.push(
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<title>${escapeXml(settings.title ?? 'ROC curves')}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
  );
  if (settings.title !== undefined) {
    lines.push(
      `<text x="${(MARGIN.left + plotW / 2).toFixed(2)}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(settings.title)}</text>`,
    );
  }

  // Grid, ticks and axis labels.
  lines.push('<g class="grid" stroke="#e0e0e0" stroke-width="1">');
  for (const t of TICKS) {
    lines.push(`<line x1="${x(t)}" y1="${y(0)}" x2="${x(t)}" y2="${y(1)}"/>`);
    lines.push(`<line x1="${x(0)}" y1="${y(t)}" x2="${x(1)}" y2="${y(t)}"/>`);
  }
  lines.push('</g>', '<g class="axes" fill="#000000">');
  lines.push(
    `<rect x="${x(0)}" y="${y(1)}" width="${plotW}" height="${plotH}" fill="none" stroke="#000000"/>`,
  );
  for (const t of TICKS) {
    lines.push(
      `<text x="${x(t)}" y="${(MARGIN.top + plotH + 16).toFixed(2)}" text-anchor="middle">${t.toFixed(1)}</text>`,
    );
    lines.push(
      `<text x="${(MARGIN.left - 6).toFixed(2)}" y="${(Number(y(t)) + 4).toFixed(2)}" text-anchor="end">${t.toFixed(1)}</text>`,
    );
  }
  lines.push(
    `<text x="${(MARGIN.left + plotW / 2).toFixed(2)}" y="${(height - 14).toFixed(2)}" text-anchor="middle">1 - Specificity (false-positive rate)</text>`,
    `<text transform="translate(16 ${(MARGIN.top + plotH / 2).toFixed(2)}) rotate(-90)" text-anchor="middle">Sensitivity (true-positive rate)</text>`,
    '</g>',
  );
  if (settings.chanceLine) {
    lines.push(
      `<line class="chance" x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#888888" stroke-dasharray="5 4"/>`,
    );
  }

  // One path per model.
  lines.push('<g class="curves" fill="none" stroke-width="2">');
  series.forEach((s, i) => {
    const color = s.color ?? (ROC_PALETTE[i % ROC_PALETTE.length] as string);
    const d = s.fpr
      .map((f, k) => `${k === 0 ? 'M' : 'L'}${x(f)} ${y(s.tpr[k] as number)}`)
      .join(' ');
    lines.push(
      `<path class="roc-curve" data-model="${escapeXml(s.name)}" stroke="${escapeXml(color)}" d="${d}"/>`,
    );
  });
  lines.push('</g>');

  // Legend in the lower right corner, inside the plot, as wide as its longest label needs.
  const labels = series.map((s) => legendLabel(s, settings.digits));
  const rowH = 18;
  const longest = Math.max(...labels.map((l) => l.length));
  const legendW = Math.min(plotW - 8, 44 + longest * LEGEND_CHAR_WIDTH_PX);
  const legendX = MARGIN.left + plotW - legendW;
  const legendY = MARGIN.top + plotH - 10 - rowH * series.length;
  lines.push(
    `<g class="legend"><rect x="${(legendX - 4).toFixed(2)}" y="${(legendY - 6).toFixed(2)}" width="${legendW.toFixed(2)}" height="${rowH * series.length + 8}" fill="#ffffff" fill-opacity="0.85" stroke="#cccccc"/>`,
  );
  series.forEach((s, i) => {
    const color = s.color ?? (ROC_PALETTE[i % ROC_PALETTE.length] as string);
    const rowY = legendY + i * rowH + rowH / 2;
    lines.push(
      `<line x1="${(legendX + 4).toFixed(2)}" y1="${rowY.toFixed(2)}" x2="${(legendX + 26).toFixed(2)}" y2="${rowY.toFixed(2)}" stroke="${escapeXml(color)}" stroke-width="2"/>`,
      `<text class="legend-label" x="${(legendX + 32).toFixed(2)}" y="${(rowY + 4).toFixed(2)}">${escapeXml(labels[i] as string)}</text>`,
    );
  });
  lines.push('</g>', '</svg>', '');
  return lines.join('\n');
}
