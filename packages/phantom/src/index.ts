// @lesionenc/phantom: synthetic chest CT with exact lesion masks, and cohorts with known truth.
// The Node entry; browser.ts is the same without the cohort writer.
export {
  type AnatomyConfig,
  type ChestPhantomConfig,
  type ChestPhantomInit,
  type DiseaseConfig,
  type EffusionConfig,
  type Laterality,
  type LesionSpec,
  type Reconstruction,
  type ReconstructionKernel,
  DEFAULT_CHEST_PHANTOM,
  DISEASE_PRESETS,
  NO_DISEASE,
  RECONSTRUCTION_KERNELS,
} from './config';
export {
  type ChestPhantom,
  type ClassVolumetrics,
  type PhantomTruth,
  createChestPhantom,
  phantomSliceGeometry,
  reconstructChestPhantom,
  resolveChestPhantomConfig,
} from './phantom';
export { type TissueHu, type TissueName, TISSUE, TISSUE_CLASSES, TISSUE_HU } from './tissues';
export {
  type Cohort,
  type CohortConfig,
  type CohortPatient,
  type CohortScan,
  type HospitalName,
  type HospitalProfile,
  type PatientLatent,
  DEFAULT_COHORT,
  HOSPITAL_PROFILES,
  PROGRESSION_WEIGHTS,
  SEVERITY_WEIGHTS,
  labelThresholds,
  normalQuantile,
  resolveCohortConfig,
  simulateCohort,
} from './cohort';
export {
  type CohortManifestRow,
  type CohortWriteResult,
  COHORT_MANIFEST_COLUMNS,
  writeCohort,
} from './cohort-writer';
