// Type declarations for the emscripten codec packages, which ship none: a default factory that
// resolves to the module instance holding the decoder classes.
declare module '@cornerstonejs/codec-charls' {
  const factory: (overrides?: Record<string, unknown>) => Promise<Record<string, unknown>>;
  export default factory;
}
declare module '@cornerstonejs/codec-openjpeg' {
  const factory: (overrides?: Record<string, unknown>) => Promise<Record<string, unknown>>;
  export default factory;
}
