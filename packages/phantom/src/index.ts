// @lesionenc/phantom: Synthetic chest CT with exact lesion masks, and cohorts with known truth.
// The contents arrive with the issue that builds this package.
export {};
