// Reports: the ROC figure parses as XML with one curve per model; tables and JSON hold the numbers.
import { createRandom, isLesionEncError } from '@lesionenc/base';
import { DOMParser } from '@xmldom/xmldom';
import { describe, expect, it } from 'vitest';

import { evaluateBinaryClassifier } from '../evaluate';
import { rocAuc, rocCurve } from '../roc';
import {
  createMetricsReport,
  metricsReportToHtml,
  metricsReportToJson,
  metricsReportToMarkdown,
} from './report';
import { renderRocSvg } from './roc-svg';
import { renderMetricsTable, tableRowFromEvaluation } from './tables';

function parseXml(text: string, mimeType: 'image/svg+xml' | 'text/xml' = 'image/svg+xml') {
  const problems: string[] = [];
  const doc = new DOMParser({
    onError: (level, message) => {
      problems.push(`${level}: ${message}`);
    },
  }).parseFromString(text, mimeType);
  return { doc, problems };
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isLesionEncError(error) ? error.code : 'not a LesionEncError';
  }
  return undefined;
}

function cohort(seed: number, n: number) {
  const random = createRandom(seed);
  const labels: number[] = Array.from({ length: n }, () => (random.next() < 0.4 ? 1 : 0));
  const strong = labels.map((y) => 1 / (1 + Math.exp(-random.normal(2 * y - 1, 1))));
  const weak = labels.map(
    (y, i) =>
      1 /
      (1 + Math.exp(-(0.4 * Math.log(strong[i]! / (1 - strong[i]!)) + random.normal(0.3 * y, 1)))),
  );
  return { labels, strong, weak };
}

describe('renderRocSvg', () => {
  const { labels, strong, weak } = cohort(1, 120);
  const names = ['BiLSTM', 'Pooling <mean & max>', 'Logistic "baseline"'];
  const series = [strong, weak, strong.map((s, i) => (s + weak[i]!) / 2)].map((scores, i) => ({
    name: names[i] as string,
    ...rocCurve(labels, scores),
    auc: rocAuc(labels, scores),
    aucCi: [0.5, 0.9] as const,
  }));
  const svg = renderRocSvg(series, { title: 'Severity, external test set' });

  it('parses as SVG without errors or warnings', () => {
    const { doc, problems } = parseXml(svg);
    expect(problems).toEqual([]);
    expect(doc.documentElement?.nodeName).toBe('svg');
    expect(doc.documentElement?.getAttribute('xmlns')).toBe('http://www.w3.org/2000/svg');
  });

  it('holds one curve per model, named and in order, with every ROC point', () => {
    const { doc } = parseXml(svg);
    const paths = Array.from(doc.getElementsByTagName('path')).filter(
      (p) => p.getAttribute('class') === 'roc-curve',
    );
    expect(paths.map((p) => p.getAttribute('data-model'))).toEqual(names);
    paths.forEach((p, i) => {
      const commands = (p.getAttribute('d') ?? '').match(/[ML]/g) ?? [];
      expect(commands.length).toBe(series[i]?.fpr.length);
    });
    // Curves start at the plot's lower-left corner and end at its upper-right one.
    const d = paths[0]?.getAttribute('d') ?? '';
    const numbers = d.match(/-?\d+(\.\d+)?/g)?.map(Number) ?? [];
    const [x0, y0] = numbers;
    const [x1, y1] = numbers.slice(-2);
    expect(x1! - x0!).toBeGreaterThan(0);
    expect(y0! - y1!).toBeGreaterThan(0);
  });

  it('writes the AUCs in the legend, escaped', () => {
    const { doc } = parseXml(svg);
    const labelsText = Array.from(doc.getElementsByTagName('text'))
      .filter((t) => t.getAttribute('class') === 'legend-label')
      .map((t) => t.textContent);
    expect(labelsText.length).toBe(3);
    expect(labelsText[1]).toBe(
      `Pooling <mean & max> (AUC ${series[1]?.auc.toFixed(3)}, 95% CI 0.500-0.900)`,
    );
  });

  it('rejects a figure size that cannot hold a plot', () => {
    expect(codeOf(() => renderRocSvg(series, { widthPx: -5 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => renderRocSvg(series, { heightPx: Number.NaN }))).toBe('INVALID_ARGUMENT');
  });

  it('rejects no curves and malformed ones', () => {
    expect(codeOf(() => renderRocSvg([]))).toBe('DEGENERATE_INPUT');
    expect(codeOf(() => renderRocSvg([{ name: 'x', fpr: [0, 1], tpr: [0] }]))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => renderRocSvg([{ name: 'x', fpr: [0, Number.NaN], tpr: [0, 1] }]))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});

describe('tables and reports', () => {
  const test = cohort(2, 150);
  const external = cohort(3, 90);
  const models = [
    { name: 'BiLSTM', cohort: 'internal', labels: test.labels, scores: test.strong },
    { name: 'Pooling', cohort: 'internal', labels: test.labels, scores: test.weak },
    { name: 'BiLSTM', cohort: 'external', labels: external.labels, scores: external.strong },
    { name: 'Pooling', cohort: 'external', labels: external.labels, scores: external.weak },
  ];
  const report = createMetricsReport(models, { evaluation: { bootstrap: { iterations: 200 } } });

  it('compares the models of each cohort with DeLong', () => {
    expect(report.comparisons.map((c) => [c.cohort, c.modelA, c.modelB])).toEqual([
      ['internal', 'BiLSTM', 'Pooling'],
      ['external', 'BiLSTM', 'Pooling'],
    ]);
    const first = report.comparisons[0];
    expect(first?.delong.aucA).toBeCloseTo(rocAuc(test.labels, test.strong), 12);
  });

  it('Markdown table: one row per model and cohort, values with intervals', () => {
    const md = metricsReportToMarkdown(report);
    const rows = md
      .split('\n')
      .filter((l) => l.startsWith('| BiLSTM') || l.startsWith('| Pooling'));
    expect(rows.length).toBe(4);
    const evaluation = report.models[0]?.evaluation;
    if (evaluation === undefined || evaluation.ci95 === null) throw new Error('no evaluation');
    const [lo, hi] = evaluation.ci95.auc;
    expect(rows[0]).toContain(`${evaluation.auc.toFixed(3)} (${lo.toFixed(3)}-${hi.toFixed(3)})`);
    expect(rows[0]).toContain(evaluation.sensitivity.toFixed(3));
    expect(md).toContain('## Comparison of AUCs (DeLong)');
    expect(md).not.toMatch(/NaN/);
  });

  it('HTML table parses as XML and has a header and one row per model', () => {
    const rows = report.models.map((m) => tableRowFromEvaluation(m.name, m.evaluation, m.cohort));
    const html = renderMetricsTable(rows, { format: 'html', caption: 'Table 4 <severity>' });
    const { doc, problems } = parseXml(html, 'text/xml');
    expect(problems).toEqual([]);
    expect(doc.getElementsByTagName('tbody')[0]?.getElementsByTagName('tr').length).toBe(4);
    const headers = Array.from(
      doc.getElementsByTagName('thead')[0]?.getElementsByTagName('th') ?? [],
    );
    expect(headers.map((h) => h.textContent)).toEqual([
      'Model',
      'Cohort',
      'AUC',
      'Sensitivity',
      'Specificity',
      'Accuracy',
    ]);
    expect(doc.getElementsByTagName('caption')[0]?.textContent).toBe('Table 4 <severity>');
  });

  it('the HTML page holds one ROC figure per cohort, each with its models', () => {
    const html = metricsReportToHtml(report);
    const figures = html.match(/<figure>[\s\S]*?<\/figure>/g) ?? [];
    expect(figures.length).toBe(2);
    for (const figure of figures) {
      const { doc, problems } = parseXml(figure.replace(/^<figure>|<\/figure>$/g, ''));
      expect(problems).toEqual([]);
      const curves = Array.from(doc.getElementsByTagName('path')).filter(
        (p) => p.getAttribute('class') === 'roc-curve',
      );
      expect(curves.map((c) => c.getAttribute('data-model'))).toEqual(['BiLSTM', 'Pooling']);
    }
  });

  it('JSON round-trips and refuses NaN', () => {
    const back = JSON.parse(metricsReportToJson(report)) as typeof report;
    expect(back.format).toBe('lesionenc.metrics-report');
    expect(back.models[1]?.evaluation.auc).toBe(report.models[1]?.evaluation.auc);
    expect(back.models[0]?.evaluation.roc.thresholds).toEqual(
      report.models[0]?.evaluation.roc.thresholds,
    );
    const broken = {
      ...report,
      title: 'x',
      models: [
        { ...report.models[0]!, evaluation: { ...report.models[0]!.evaluation, auc: Number.NaN } },
      ],
    };
    expect(codeOf(() => metricsReportToJson(broken))).toBe('INVALID_ARGUMENT');
  });

  it('rejects duplicate names and models of one cohort with different labels', () => {
    const one = models[0]!;
    expect(codeOf(() => createMetricsReport([one, one]))).toBe('INVALID_ARGUMENT');
    expect(
      codeOf(() =>
        createMetricsReport([one, { ...models[2]!, cohort: 'internal', name: 'Other' }], {
          evaluation: { bootstrap: false },
        }),
      ),
    ).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => createMetricsReport([]))).toBe('DEGENERATE_INPUT');
  });

  it('evaluateBinaryClassifier without bootstrap has no intervals', () => {
    const result = evaluateBinaryClassifier(test.labels, test.strong, { bootstrap: false });
    expect(result.ci95).toBeNull();
    expect(result.operatingPoints.map((p) => p.rule.kind)).toEqual(['youden', 'sensitivity']);
    expect(result.auc).toBe(rocAuc(test.labels, test.strong));
    expect(result.brier).toBeCloseTo(
      test.labels.reduce((sum, y, i) => sum + (y - test.strong[i]!) ** 2, 0) / test.labels.length,
      14,
    );
    expect(evaluateBinaryClassifier([0, 1], [-2, 3], { bootstrap: false }).brier).toBeNull();
  });
});
