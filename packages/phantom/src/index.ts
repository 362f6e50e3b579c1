// @lesionenc/phantom: synthetic chest CT with exact lesion masks, and cohorts with known truth.
// The Node entry: the browser entry (browser.ts) plus the cohort writer, which writes files.
export * from './browser';
export {
  type CohortManifestRow,
  type CohortWriteResult,
  COHORT_MANIFEST_COLUMNS,
  writeCohort,
} from './cohort-writer';
