// The shared base of every @lesionenc package.
export {
  type ErrorCode,
  type LesionEncErrorOptions,
  LesionEncError,
  assert,
  describeValue,
  isLesionEncError,
} from './errors';
export {
  type AxisTriple,
  type GeometryInit,
  type Matrix3,
  type PatientFrame,
  type Vec3Mm,
  type VolumeGeometry,
  AXIAL_LPS_DIRECTION,
  createGeometry,
  cropGeometry,
  geometryFromAffine,
  pixelAreaMm2,
  sameGrid,
  voxelCount,
  voxelToWorldAffine,
  voxelToWorldMm,
  voxelVolumeMm3,
  worldMmToVoxel,
} from './geometry';
export {
  type LogLevel,
  type LogRecord,
  type LogSink,
  type Logger,
  createLogger,
  getLogLevel,
  setLogLevel,
  setLogSink,
} from './logger';
export {
  type LongTaskOptions,
  type ProgressCallback,
  type ProgressEvent,
  createStageReporter,
  subProgress,
  throwIfAborted,
} from './progress';
export { type Random, type RandomState, createRandom } from './random';
export {
  type CtVolume,
  type CtVolumeOptions,
  type IntensityUnit,
  type LabelClass,
  type LabelMap,
  type VoxelArray,
  LESION_CLASSES,
  LUNG_CLASSES,
  countLabels,
  createCtVolume,
  createLabelMap,
  sliceView,
} from './volume';
export {
  type WasmArrayKind,
  type WasmKernelModule,
  type WasmLayout,
  WasmWorkspace,
  loadWasmKernels,
} from './wasm-kernels';
