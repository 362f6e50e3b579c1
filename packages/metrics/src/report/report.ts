// A whole evaluation as one report: JSON for machines, Markdown and HTML (with the ROC figure) for people.
import { LesionEncError, describeValue } from '@lesionenc/base';

import { type DelongTestResult, delongTest } from '../delong';
import {
  type BinaryEvaluation,
  type BinaryEvaluationOptions,
  evaluateBinaryClassifier,
} from '../evaluate';
import type { NumericArray } from '../internal/validate';
import { escapeMarkdownCell, escapeXml, formatNumber } from './escape';
import { type RocSvgOptions, renderRocSvg } from './roc-svg';
import { type MetricsTableOptions, renderMetricsTable, tableRowFromEvaluation } from './tables';

/** The `format` field of every report. */
export const METRICS_REPORT_FORMAT = 'lesionenc.metrics-report';
/** The version of the report layout. */
export const METRICS_REPORT_VERSION = 1;

/** One model's predictions on one cohort. */
export interface ModelPredictions {
  readonly name: string;
  /** Models on the same cohort are compared with DeLong's test. @defaultValue 'test' */
  readonly cohort?: string;
  readonly labels: NumericArray;
  readonly scores: NumericArray;
}

/** One model's results in a report. */
export interface ModelReport {
  readonly name: string;
  readonly cohort: string;
  readonly evaluation: BinaryEvaluation;
}

/** DeLong's test of two models on one cohort. */
export interface ModelComparison {
  readonly cohort: string;
  readonly modelA: string;
  readonly modelB: string;
  readonly delong: DelongTestResult;
}

/** The report, plain data that survives a JSON round trip. */
export interface MetricsReport {
  readonly format: typeof METRICS_REPORT_FORMAT;
  readonly version: typeof METRICS_REPORT_VERSION;
  readonly title: string;
  readonly models: ModelReport[];
  readonly comparisons: ModelComparison[];
}

/** Options of {@link createMetricsReport}. */
export interface MetricsReportOptions {
  /** @defaultValue 'Classification performance' */
  readonly title?: string;
  /** Passed to {@link evaluateBinaryClassifier} for every model. */
  readonly evaluation?: BinaryEvaluationOptions;
  /** Compare every pair of models of a cohort with DeLong's test. @defaultValue true */
  readonly compare?: boolean;
}

function sameLabels(a: NumericArray, b: NumericArray): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (Number(a[i]) !== Number(b[i])) return false;
  return true;
}

/**
 * Evaluates several models (on one or more cohorts) and compares the models of each cohort.
 *
 * @param models - Predictions of each model.
 * @param options - Title, evaluation options, whether to compare.
 * @returns The report.
 * @throws {@link LesionEncError} `DEGENERATE_INPUT` for no models, `INVALID_ARGUMENT` for a
 * repeated model name within a cohort, `SHAPE_MISMATCH` when models of one cohort were scored
 * against different labels; and what {@link evaluateBinaryClassifier} throws.
 * @example
 * ```ts
 * const report = createMetricsReport([
 *   { name: 'BiLSTM', labels, scores: bilstm },
 *   { name: 'Pooling', labels, scores: pooling },
 * ]);
 * await writeFile('report.json', metricsReportToJson(report));
 * ```
 */
export function createMetricsReport(
  models: readonly ModelPredictions[],
  options: MetricsReportOptions = {},
): MetricsReport {
  if (models.length === 0) {
    throw new LesionEncError(
      'DEGENERATE_INPUT',
      'createMetricsReport: expected at least one model, got none',
    );
  }
  const seen = new Set<string>();
  for (const m of models) {
    const key = `${m.cohort ?? 'test'}\u0000${m.name}`;
    if (seen.has(key)) {
      throw new LesionEncError(
        'INVALID_ARGUMENT',
        `createMetricsReport: expected unique model names per cohort, got ${describeValue(m.name)} twice in ${describeValue(m.cohort ?? 'test')}`,
      );
    }
    seen.add(key);
  }
  const reports = models.map((m) => ({
    name: m.name,
    cohort: m.cohort ?? 'test',
    evaluation: evaluateBinaryClassifier(m.labels, m.scores, options.evaluation),
  }));

  const comparisons: ModelComparison[] = [];
  if (options.compare ?? true) {
    for (let a = 0; a < models.length; a++) {
      for (let b = a + 1; b < models.length; b++) {
        const ma = models[a] as ModelPredictions;
        const mb = models[b] as ModelPredictions;
        if ((ma.cohort ?? 'test') !== (mb.cohort ?? 'test')) continue;
        if (!sameLabels(ma.labels, mb.labels)) {
          throw new LesionEncError(
            'SHAPE_MISMATCH',
            `createMetricsReport: expected models ${ma.name} and ${mb.name} of cohort ${ma.cohort ?? 'test'} to share labels, got different labels`,
          );
        }
        comparisons.push({
          cohort: ma.cohort ?? 'test',
          modelA: ma.name,
          modelB: mb.name,
          delong: delongTest(ma.labels, ma.scores, mb.scores),
        });
      }
    }
  }
  return {
    format: METRICS_REPORT_FORMAT,
    version: METRICS_REPORT_VERSION,
    title: options.title ?? 'Classification performance',
    models: reports,
    comparisons,
  };
}

/**
 * The report as JSON text (two-space indent). A number that is not finite is an error rather than
 * the `null` JSON.stringify would silently write.
 *
 * @param report - From {@link createMetricsReport}.
 * @returns JSON text ending in a newline.
 * @throws {@link LesionEncError} `INVALID_ARGUMENT` when the report holds NaN or Infinity.
 */
export function metricsReportToJson(report: MetricsReport): string {
  const text = JSON.stringify(
    report,
    (key, value: unknown) => {
      if (typeof value === 'number' && !Number.isFinite(value)) {
        throw new LesionEncError(
          'INVALID_ARGUMENT',
          `metricsReportToJson: expected finite numbers, got ${value} at ${describeValue(key)}`,
        );
      }
      return value;
    },
    2,
  );
  return `${text}\n`;
}

function comparisonRows(report: MetricsReport, digits: number): string[][] {
  return report.comparisons.map((c) => [
    c.cohort,
    `${c.modelA} vs ${c.modelB}`,
    formatNumber(c.delong.difference, digits, 'AUC difference'),
    `${formatNumber(c.delong.differenceCi[0], digits, 'CI')} to ${formatNumber(c.delong.differenceCi[1], digits, 'CI')}`,
    formatNumber(c.delong.z, 2, 'z'),
    c.delong.pValue < 0.001 ? '< 0.001' : formatNumber(c.delong.pValue, 3, 'p'),
  ]);
}

const COMPARISON_HEADER = ['Cohort', 'Models', 'AUC difference', '95% CI', 'z', 'p (DeLong)'];

/**
 * The report as Markdown: the metrics table (AUC with 95% bootstrap interval, sensitivity,
 * specificity, accuracy at the threshold) and the DeLong comparisons.
 *
 * @param report - From {@link createMetricsReport}.
 * @param options - Table options.
 * @returns Markdown text.
 */
export function metricsReportToMarkdown(
  report: MetricsReport,
  options: Omit<MetricsTableOptions, 'format'> = {},
): string {
  const digits = options.digits ?? 3;
  const rows = report.models.map((m) => tableRowFromEvaluation(m.name, m.evaluation, m.cohort));
  const parts = [
    `# ${escapeMarkdownCell(report.title)}`,
    '',
    renderMetricsTable(rows, { ...options, format: 'markdown' }),
  ];
  if (report.comparisons.length > 0) {
    parts.push('## Comparison of AUCs (DeLong)', '');
    parts.push(
      `| ${COMPARISON_HEADER.join(' | ')} |`,
      `| ${COMPARISON_HEADER.map(() => '---').join(' | ')} |`,
    );
    for (const cells of comparisonRows(report, digits)) {
      parts.push(`| ${cells.map(escapeMarkdownCell).join(' | ')} |`);
    }
    parts.push('');
  }
  return `${parts.join('\n')}\n`;
}

/**
 * The report as one standalone HTML page: title, the ROC figure of each cohort, the metrics
 * table and the DeLong comparisons.
 *
 * @param report - From {@link createMetricsReport}.
 * @param options - Table options and ROC figure options.
 * @returns HTML text.
 */
export function metricsReportToHtml(
  report: MetricsReport,
  options: Omit<MetricsTableOptions, 'format'> & { readonly figure?: RocSvgOptions } = {},
): string {
  const digits = options.digits ?? 3;
  const cohorts = [...new Set(report.models.map((m) => m.cohort))];
  const figures = cohorts.map((cohort) => {
    const svg = renderRocSvg(
      report.models
        .filter((m) => m.cohort === cohort)
        .map((m) => ({
          name: m.name,
          fpr: m.evaluation.roc.fpr,
          tpr: m.evaluation.roc.tpr,
          auc: m.evaluation.auc,
          ...(m.evaluation.ci95 === null ? {} : { aucCi: m.evaluation.ci95.auc }),
        })),
      { title: `ROC curves, ${cohort} cohort`, ...options.figure },
    );
    // Inline SVG inside HTML needs no XML declaration.
    return `<figure>${svg.replace(/^<\?xml[^>]*>\n/, '')}</figure>`;
  });
  const rows = report.models.map((m) => tableRowFromEvaluation(m.name, m.evaluation, m.cohort));
  const table = renderMetricsTable(rows, { ...options, format: 'html' });
  const comparisons =
    report.comparisons.length === 0
      ? ''
      : [
          '<h2>Comparison of AUCs (DeLong)</h2>',
          '<table class="lesionenc-delong">',
          `<thead><tr>${COMPARISON_HEADER.map((h) => `<th scope="col">${escapeXml(h)}</th>`).join('')}</tr></thead>`,
          '<tbody>',
          ...comparisonRows(report, digits).map(
            (cells) => `<tr>${cells.map((c) => `<td>${escapeXml(c)}</td>`).join('')}</tr>`,
          ),
          '</tbody>',
          '</table>',
        ].join('\n');
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${escapeXml(report.title)}</title>`,
    '<style>body{font-family:Helvetica,Arial,sans-serif;margin:2em}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th[scope=row],td:first-child{text-align:left}</style>',
    '</head>',
    '<body>',
    `<h1>${escapeXml(report.title)}</h1>`,
    ...figures,
    table,
    comparisons,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
