// @lesionenc/phantom for browsers and web workers (the `browser` export condition), and the
// base of the Node entry (index.ts), which adds writeCohort.
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
