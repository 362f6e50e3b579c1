// @lesionenc/metrics: binary and segmentation metrics, ROC and AUC as scikit-learn 1.2.1 computes
// them, bootstrap intervals, DeLong's test, calibration and reports (paper section 3.4, Figure 5).
export {
  type BinaryMetrics,
  type BinaryMetricsOptions,
  type ConfusionCounts,
  type OperatingPoint,
  type OperatingPointRule,
  DEFAULT_BINARY_METRICS_OPTIONS,
  binaryMetrics,
  confusionCounts,
  findOperatingPoint,
  metricsFromCounts,
} from './binary';
export {
  type BootstrapMetricName,
  type BootstrapOptions,
  type BootstrapResult,
  type BootstrapStatistic,
  type ConfidenceInterval,
  DEFAULT_BOOTSTRAP_OPTIONS,
  bootstrapAucCi,
  bootstrapBinaryMetrics,
  bootstrapStatistics,
} from './bootstrap';
export {
  type CalibrationStrategy,
  type ReliabilityBin,
  type ReliabilityCurve,
  type ReliabilityOptions,
  DEFAULT_RELIABILITY_OPTIONS,
  brierScore,
  reliabilityCurve,
} from './calibration';
export {
  type DelongCovariance,
  type DelongOptions,
  type DelongTestResult,
  DEFAULT_DELONG_OPTIONS,
  delongAucCi,
  delongCovariance,
  delongTest,
} from './delong';
export {
  type BinaryEvaluation,
  type BinaryEvaluationOptions,
  type Ci95,
  DEFAULT_BINARY_EVALUATION_OPTIONS,
  evaluateBinaryClassifier,
} from './evaluate';
export { type NumericArray } from './internal/validate';
export { type PatientAggregation, type PatientLevel, aggregateByPatient } from './patients';
export {
  type MetricsReport,
  type MetricsReportOptions,
  type ModelComparison,
  type ModelPredictions,
  type ModelReport,
  METRICS_REPORT_FORMAT,
  METRICS_REPORT_VERSION,
  createMetricsReport,
  metricsReportToHtml,
  metricsReportToJson,
  metricsReportToMarkdown,
} from './report/report';
export {
  type RocSeries,
  type RocSvgOptions,
  DEFAULT_ROC_SVG_OPTIONS,
  ROC_PALETTE,
  renderRocSvg,
} from './report/roc-svg';
export {
  type MetricsTableOptions,
  type MetricsTableRow,
  type TableMetric,
  DEFAULT_METRICS_TABLE_OPTIONS,
  TABLE_METRIC_LABELS,
  renderMetricsTable,
  tableRowFromEvaluation,
} from './report/tables';
export {
  type RocCurve,
  type RocOptions,
  DEFAULT_ROC_OPTIONS,
  SKLEARN_REFERENCE_VERSION,
  rocAuc,
  rocCurve,
  trapezoidArea,
} from './roc';
export {
  type ClassAggregate,
  type ClassOverlap,
  type HausdorffMode,
  type ImageSegmentationMetrics,
  type LabelVolume,
  type SegmentationOptions,
  type SegmentationPair,
  type SegmentationReport,
  DEFAULT_SEGMENTATION_OPTIONS,
  evaluateSegmentation,
  hausdorffDistanceMm,
} from './segmentation';
