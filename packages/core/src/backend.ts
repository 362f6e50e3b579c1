// Chooses and initialises the tfjs backend, once, for the whole application.
import { LesionEncError, createLogger } from '@lesionenc/base';
import * as tf from '@tensorflow/tfjs-core';

/** The backends an application can ask for. */
export type BackendName = 'auto' | 'wasm' | 'cpu' | 'webgl' | 'tensorflow';

/** A backend that is actually running (never `auto`). */
export type ActiveBackendName = Exclude<BackendName, 'auto'>;

/** Where the code runs. */
export type Platform = 'node' | 'browser';

/** Options of {@link initBackend}. */
export interface BackendOptions {
  /** @defaultValue `auto` */
  backend?: BackendName;
  /**
   * Folder or URL prefix of the wasm binaries (`tfjs-backend-wasm.wasm`, `-simd.wasm` and
   * `-threaded-simd.wasm`). Node finds them in the installed package; a browser app serves them
   * (a bundler does not copy them) and says where, ending in `/`.
   */
  wasmPaths?: string;
  /**
   * wasm in a cross-origin isolated browser page: the threads XNNPACK runs kernels on (tfjs'
   * `setThreadsCount`). Ignored where wasm runs single-threaded (Node).
   * @defaultValue the logical processors the browser reports (`navigator.hardwareConcurrency`)
   */
  wasmThreads?: number;
}

/** What {@link initBackend} set up. */
export interface BackendInfo {
  name: ActiveBackendName;
  platform: Platform;
  /** wasm only: whether SIMD instructions are in use. */
  simd?: boolean;
  /**
   * wasm only: whether the wasm backend runs multi-threaded (never under Node with tfjs 4.22; in
   * a browser only on a cross-origin isolated page, served with COOP and COEP headers).
   */
  multiThreaded?: boolean;
  /** wasm only: the threads it was set to run kernels on (1 when single-threaded). */
  threads?: number;
  /** webgl only: the GPU renderer string, when the browser exposes it. */
  renderer?: string;
  /** webgl only: true for software renderers (SwiftShader, llvmpipe), which `auto` avoids. */
  softwareRenderer?: boolean;
  /** The backends `auto` tried before this one, with the reason each was passed over. */
  skipped: { name: ActiveBackendName; reason: string }[];
}

/** The order `auto` tries backends in, per platform: fastest first. */
export const BACKEND_PRIORITY: Readonly<Record<Platform, readonly ActiveBackendName[]>> =
  Object.freeze({
    node: Object.freeze(['tensorflow', 'wasm', 'cpu'] as const),
    browser: Object.freeze(['webgl', 'wasm', 'cpu'] as const),
  });

const KNOWN_BACKENDS: readonly BackendName[] = ['auto', 'wasm', 'cpu', 'webgl', 'tensorflow'];

// Native TensorFlow bindings: optional peers, loaded by name so no bundler or install needs them.
const NATIVE_MODULES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

const log = createLogger('lesionenc.core.backend');

/** @returns `node` under Node.js, `browser` elsewhere (including web workers). */
export function detectPlatform(): Platform {
  const versions = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions;
  return versions?.node === undefined ? 'browser' : 'node';
}

// Logical processors the browser reports, when it does.
function browserProcessors(): number | undefined {
  const reported = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency;
  return reported !== undefined && reported >= 1 ? Math.floor(reported) : undefined;
}

async function importOptional(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

async function activate(name: ActiveBackendName, options: BackendOptions): Promise<BackendInfo> {
  const platform = detectPlatform();
  const info: BackendInfo = { name, platform, skipped: [] };
  let threads: number | undefined;

  switch (name) {
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      if (options.wasmPaths !== undefined) wasm.setWasmPaths(options.wasmPaths);
      // Under Node tfjs runs wasm single-threaded whatever it is told.
      threads = platform === 'node' ? undefined : (options.wasmThreads ?? browserProcessors());
      if (threads !== undefined) wasm.setThreadsCount(threads);
      break;
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      break;
    case 'webgl':
      if (platform === 'node') throw new Error('WebGL is not available under Node.js');
      await import('@tensorflow/tfjs-backend-webgl');
      break;
    case 'tensorflow': {
      const failures: string[] = [];
      for (const specifier of NATIVE_MODULES) {
        try {
          await importOptional(specifier);
          break;
        } catch (error) {
          failures.push(`${specifier}: ${(error as Error).message.split('\n')[0]}`);
        }
      }
      if (failures.length === NATIVE_MODULES.length) {
        throw new Error(`neither native binding is installed (${failures.join('; ')})`);
      }
      break;
    }
  }

  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tfjs could not initialise the '${name}' backend`);
  await tf.ready();

  if (name === 'wasm') {
    info.simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
    info.multiThreaded = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) as boolean;
    info.threads = info.multiThreaded ? (threads ?? 1) : 1;
  }
  if (name === 'webgl') Object.assign(info, describeWebglRenderer());
  return info;
}

// Renderer strings of software rasterisers: SwiftShader (Chromium without a GPU), llvmpipe and
// softpipe (Mesa), Microsoft's Basic Render Driver.
const SOFTWARE_RENDERER = /swiftshader|llvmpipe|softpipe|software|basic render driver/i;

/**
 * Whether a WebGL renderer string names a software rasteriser, on which WebGL runs networks
 * far slower than wasm (headless Chromium on SwiftShader: about 2 s per 128x128 slice of the B0
 * U-Net against under 0.1 s on wasm with SIMD; see docs/benchmarks.md).
 *
 * @param renderer - The unmasked renderer string (`WEBGL_debug_renderer_info`).
 * @returns True for SwiftShader, llvmpipe, softpipe and other software renderers.
 */
export function isSoftwareRenderer(renderer: string): boolean {
  return SOFTWARE_RENDERER.test(renderer);
}

/**
 * Reads the unmasked WebGL renderer string, to tell a real GPU from a software rasteriser. It
 * opens a 1x1 context (an OffscreenCanvas, so it works in web workers) and releases it.
 *
 * @returns The renderer and whether it is a software one; empty when WebGL is unavailable.
 */
export function describeWebglRenderer(): { renderer?: string; softwareRenderer?: boolean } {
  const doc = (globalThis as { document?: { createElement(tag: string): unknown } }).document;
  const OffscreenCanvasCtor = (
    globalThis as { OffscreenCanvas?: new (w: number, h: number) => unknown }
  ).OffscreenCanvas;
  type Gl = {
    getExtension(name: string): unknown;
    getParameter(p: number): unknown;
    RENDERER: number;
  };
  let canvas: { getContext(kind: string): Gl | null } | undefined;
  if (OffscreenCanvasCtor !== undefined) canvas = new OffscreenCanvasCtor(1, 1) as typeof canvas;
  else if (doc !== undefined) canvas = doc.createElement('canvas') as typeof canvas;
  let gl: Gl | null = null;
  try {
    gl = canvas?.getContext('webgl2') ?? canvas?.getContext('webgl') ?? null;
  } catch {
    // a browser with WebGL switched off may throw rather than return null
  }
  if (gl === null) return {};
  const info = gl.getExtension('WEBGL_debug_renderer_info') as {
    UNMASKED_RENDERER_WEBGL: number;
  } | null;
  const renderer = String(
    gl.getParameter(info === null ? gl.RENDERER : info.UNMASKED_RENDERER_WEBGL),
  );
  // Browsers allow few live contexts; tfjs makes its own if WebGL is chosen.
  (gl.getExtension('WEBGL_lose_context') as { loseContext(): void } | null)?.loseContext();
  return { renderer, softwareRenderer: isSoftwareRenderer(renderer) };
}

// Why `auto` should not try WebGL here, or undefined when it should.
function webglDrawback(): string | undefined {
  const { renderer, softwareRenderer } = describeWebglRenderer();
  if (renderer === undefined) return 'no WebGL context';
  return softwareRenderer === true ? `software WebGL renderer (${renderer})` : undefined;
}

let current: BackendInfo | undefined;
let currentRequest: BackendName | undefined;

/**
 * Chooses, loads and initialises the tfjs backend. Call it once at start-up, before any model
 * is built; later calls with the same choice return the backend already running.
 *
 * `auto` tries {@link BACKEND_PRIORITY} for the platform: on Node native TensorFlow when
 * `@tensorflow/tfjs-node(-gpu)` is installed, then wasm (the default), then cpu; in the browser
 * WebGL on a hardware GPU, then wasm, then cpu. WebGL on a software renderer (SwiftShader,
 * llvmpipe: the unmasked renderer string says so) is passed over before tfjs builds on it, since
 * wasm is many times faster there. The choice is logged at `info`.
 *
 * @param options - Which backend, where the wasm binaries are, and wasm's threads.
 * @returns What is running.
 * @throws {@link LesionEncError} `BACKEND_UNAVAILABLE` when the named backend cannot start, or
 * `INVALID_ARGUMENT` for an unknown name or a bad thread count.
 * @example
 * ```ts
 * const info = await initBackend({ backend: 'auto' });
 * console.log(`running on ${info.name}`);
 * ```
 */
export async function initBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  const requested = options.backend ?? 'auto';
  if (!KNOWN_BACKENDS.includes(requested)) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `backend: expected one of ${KNOWN_BACKENDS.join(', ')}, got '${String(requested)}'`,
    );
  }
  const { wasmThreads } = options;
  if (wasmThreads !== undefined && !(Number.isInteger(wasmThreads) && wasmThreads >= 1)) {
    throw new LesionEncError(
      'INVALID_ARGUMENT',
      `wasmThreads: expected a positive integer, got ${String(wasmThreads)}`,
    );
  }
  const running = current !== undefined && tf.getBackend() === current.name;
  if (running && (requested === currentRequest || requested === current?.name)) return current!;

  const platform = detectPlatform();
  const candidates = requested === 'auto' ? BACKEND_PRIORITY[platform] : [requested];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of candidates) {
    // The renderer is looked at before tfjs builds a WebGL backend on it.
    const drawback = requested === 'auto' && name === 'webgl' ? webglDrawback() : undefined;
    if (drawback !== undefined) {
      skipped.push({ name, reason: drawback });
      log.debug(`backend ${name} passed over: ${drawback}`);
      continue;
    }
    try {
      const info = await activate(name, options);
      info.skipped = skipped;
      current = info;
      currentRequest = requested;
      log.info(`tfjs backend: ${name}`, { ...info });
      return info;
    } catch (error) {
      const reason = (error as Error).message;
      if (requested !== 'auto') {
        throw new LesionEncError('BACKEND_UNAVAILABLE', `backend '${name}': ${reason}`, {
          cause: error,
        });
      }
      skipped.push({ name, reason });
      log.debug(`backend ${name} passed over: ${reason}`);
    }
  }
  throw new LesionEncError(
    'BACKEND_UNAVAILABLE',
    `backend auto: none of ${candidates.join(', ')} could start (${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})`,
  );
}

/** @returns The backend set up by {@link initBackend}, or undefined before it ran. */
export function getBackendInfo(): BackendInfo | undefined {
  return current;
}
