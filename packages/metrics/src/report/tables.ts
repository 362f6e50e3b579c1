// Metric tables in Markdown and HTML, one row per model (and cohort), like Tables 4 and 5 of the paper.
import { LesionEncError, describeValue } from '@lesionenc/base';

import type { BinaryEvaluation } from '../evaluate';
import { escapeMarkdownCell, escapeXml, formatNumber } from './escape';

/** The metrics a table can show, in this order by default. */
export type TableMetric = 'auc' | 'sensitivity' | 'specificity' | 'accuracy' | 'precision' | 'f1';

/** Column headers of the metrics. */
export const TABLE_METRIC_LABELS: Readonly<Record<TableMetric, string>> = Object.freeze({
  auc: 'AUC',
  sensitivity: 'Sensitivity',
  specificity: 'Specificity',
  accuracy: 'Accuracy',
  precision: 'Precision',
  f1: 'F1',
});

/** One row: a model (on a cohort) and its values. */
export interface MetricsTableRow {
  readonly model: string;
  /** The test cohort, shown in its own column when any row has one. */
  readonly cohort?: string;
  readonly values: Readonly<Partial<Record<TableMetric, number>>>;
  /** Intervals shown after the values as "0.912 (0.871-0.950)". */
  readonly intervals?: Readonly<Partial<Record<TableMetric, readonly [number, number]>>>;
}

/** Options of {@link renderMetricsTable}. */
export interface MetricsTableOptions {
  /** @defaultValue 'markdown' */
  readonly format?: 'markdown' | 'html';
  /** Columns to show. @defaultValue AUC, sensitivity, specificity, accuracy */
  readonly metrics?: readonly TableMetric[];
  /** @defaultValue 3 */
  readonly digits?: number;
  /** A caption (HTML `<caption>`, or a bold line above a Markdown table). */
  readonly caption?: string;
}

/** The defaults of {@link MetricsTableOptions}. */
export const DEFAULT_METRICS_TABLE_OPTIONS = Object.freeze({
  format: 'markdown' as const,
  metrics: Object.freeze([
    'auc',
    'sensitivity',
    'specificity',
    'accuracy',
  ]) as readonly TableMetric[],
  digits: 3,
});

/**
 * Makes a table row from an evaluation: the metrics at its threshold and the 95% intervals.
 *
 * @param model - The model's name.
 * @param evaluation - From {@link evaluateBinaryClassifier}.
 * @param cohort - The test cohort, if the table has several.
 * @returns The row.
 */
export function tableRowFromEvaluation(
  model: string,
  evaluation: BinaryEvaluation,
  cohort?: string,
): MetricsTableRow {
  const values = {
    auc: evaluation.auc,
    sensitivity: evaluation.sensitivity,
    specificity: evaluation.specificity,
    accuracy: evaluation.accuracy,
    precision: evaluation.precision,
    f1: evaluation.f1,
  };
  const intervals = evaluation.ci95 === null ? undefined : { ...evaluation.ci95 };
  return {
    model,
    ...(cohort === undefined ? {} : { cohort }),
    values,
    ...(intervals === undefined ? {} : { intervals }),
  };
}

/**
 * Renders metrics of several models as a Markdown or HTML table. A metric a row lacks is shown
 * as an en dash; values are never printed as NaN.
 *
 * @param rows - One per model (and cohort).
 * @param options - Format, columns, digits, caption.
 * @returns The table text.
 * @throws {@link LesionEncError} `DEGENERATE_INPUT` for no rows, `INVALID_ARGUMENT` for a value
 * that is not finite.
 * @example
 * ```ts
 * renderMetricsTable([tableRowFromEvaluation('BiLSTM', result)], { format: 'html' });
 * ```
 */
export function renderMetricsTable(
  rows: readonly MetricsTableRow[],
  options: MetricsTableOptions = {},
): string {
  const settings = { ...DEFAULT_METRICS_TABLE_OPTIONS, ...options };
  if (rows.length === 0) {
    throw new LesionEncError(
      'DEGENERATE_INPUT',
      'renderMetricsTable: expected at least one row, got none',
    );
  }
  if (settings.format !== 'markdown' && settings.format !== 'html') {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `renderMetricsTable format: expected 'markdown' or 'html', got ${describeValue(settings.format)}`,
    );
  }
  const withCohort = rows.some((r) => r.cohort !== undefined);
  const header = [
    'Model',
    ...(withCohort ? ['Cohort'] : []),
    ...settings.metrics.map((m) => TABLE_METRIC_LABELS[m] ?? m),
  ];
  const cell = (row: MetricsTableRow, metric: TableMetric): string => {
    const value = row.values[metric];
    if (value === undefined) return '–';
    const what = `renderMetricsTable ${row.model} ${metric}`;
    let text = formatNumber(value, settings.digits, what);
    const interval = row.intervals?.[metric];
    if (interval !== undefined) {
      text += ` (${formatNumber(interval[0], settings.digits, what)}-${formatNumber(interval[1], settings.digits, what)})`;
    }
    return text;
  };
  const body = rows.map((row) => [
    row.model,
    ...(withCohort ? [row.cohort ?? ''] : []),
    ...settings.metrics.map((m) => cell(row, m)),
  ]);

  if (settings.format === 'markdown') {
    const lines: string[] = [];
    if (settings.caption !== undefined)
      lines.push(`**${escapeMarkdownCell(settings.caption)}**`, '');
    const line = (cells: string[]) => `| ${cells.map(escapeMarkdownCell).join(' | ')} |`;
    lines.push(line(header));
    lines.push(
      `| ${header.map((_, i) => (i < (withCohort ? 2 : 1) ? '---' : '---:')).join(' | ')} |`,
    );
    for (const cells of body) lines.push(line(cells));
    return `${lines.join('\n')}\n`;
  }
  const lines = ['<table class="lesionenc-metrics">'];
  if (settings.caption !== undefined)
    lines.push(`<caption>${escapeXml(settings.caption)}</caption>`);
  lines.push(
    `<thead><tr>${header.map((h) => `<th scope="col">${escapeXml(h)}</th>`).join('')}</tr></thead>`,
  );
  lines.push('<tbody>');
  for (const cells of body) {
    const [first, ...others] = cells;
    lines.push(
      `<tr><th scope="row">${escapeXml(first ?? '')}</th>${others.map((c) => `<td>${escapeXml(c)}</td>`).join('')}</tr>`,
    );
  }
  lines.push('</tbody>', '</table>');
  return `${lines.join('\n')}\n`;
}
