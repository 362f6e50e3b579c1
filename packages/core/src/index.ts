// @lesionenc/core: what applications import. Composes the building blocks and owns the backend.
export * from '@lesionenc/base';
export {
  type ActiveBackendName,
  type BackendInfo,
  type BackendName,
  type BackendOptions,
  type Platform,
  BACKEND_PRIORITY,
  describeWebglRenderer,
  detectPlatform,
  getBackendInfo,
  initBackend,
} from './backend';
