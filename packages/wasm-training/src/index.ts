// @lesionenc/wasm-training: gradient kernels and a memory plan for training tfjs models on the
// wasm backend.
export {
  CPU_TRAINING_FIXES,
  WASM_TRAINING_KERNELS,
  registerCpuTrainingFixes,
  registerWasmTrainingKernels,
} from './kernels/register';
export { maxPoolInputGradient } from './kernels/fixes';
export {
  conv2dFilterGradient,
  conv2dInputGradient,
  depthwiseFilterGradient,
  depthwiseInputGradient,
  type ConvGeometry,
} from './kernels/conv-gradients';
export { traceKernels, type KernelTrace } from './trace';
export {
  measurePeakMemory,
  readWasmMemory,
  type PeakMemory,
  type WasmMemoryReading,
} from './memory';
export {
  DEFAULT_ACCUMULATING_TRAINER,
  createAccumulatingTrainer,
  type AccumulatedStepResult,
  type AccumulatingTrainer,
  type AccumulatingTrainerConfig,
  type BatchLoss,
} from './accumulate';
