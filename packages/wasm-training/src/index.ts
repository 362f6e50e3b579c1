// @lesionenc/wasm-training: Gradient kernels and a memory plan for training tfjs models on the wasm backend.
// The contents arrive with the issue that builds this package.
export {};
