// @lesionenc/metrics: Binary and segmentation metrics, ROC, bootstrap intervals, DeLong test, reports.
// The contents arrive with the issue that builds this package.
export {};
