// @lesionenc/phantom: synthetic chest CT with exact lesion masks, and cohorts with known truth.
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
