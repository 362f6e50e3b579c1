// Vite build of the viewer page. The page is served cross-origin isolated (COOP + COEP), so the
// wasm backend can run threads; the models and tfjs' wasm binaries are served from the installed
// packages in development and copied into dist/ by the build, never kept in this folder.
import { copyFileSync, createReadStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import { type Plugin, defineConfig } from 'vite';

/** Headers that make the page cross-origin isolated (SharedArrayBuffer, wasm threads). */
const ISOLATION_HEADERS = Object.freeze({
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
});

const require = createRequire(import.meta.url);
const packageFolder = (name: string) => path.dirname(require.resolve(`${name}/package.json`));

const lesionWeights = path.join(packageFolder('@lesionenc/lesion-encoder'), 'weights', 'default');
const tfjsWasm = path.join(packageFolder('@tensorflow/tfjs-backend-wasm'), 'dist');
const coreFolder = packageFolder('@lesionenc/core');

/** Files the page fetches at run time: URL path under the page, and where each one lives. */
function servedFiles(): Map<string, string> {
  const files = new Map<string, string>([
    ['models/lesion-encoder/weights.json', path.join(lesionWeights, 'weights.json')],
    ['models/lesion-encoder/weights.bin', path.join(lesionWeights, 'weights.bin')],
  ]);
  for (const name of [
    'tfjs-backend-wasm.wasm',
    'tfjs-backend-wasm-simd.wasm',
    'tfjs-backend-wasm-threaded-simd.wasm',
  ]) {
    files.set(`tfjs/${name}`, path.join(tfjsWasm, name));
  }
  return files;
}

// The optional ICA model and classifiers, when @lesionenc/core ships them (models/synthetic):
// their files, and the index the page reads to find them.
function optionalModels(): { files: Map<string, string>; index: Record<string, string | null> } {
  const folder = path.join(coreFolder, 'models', 'synthetic');
  const files = new Map<string, string>();
  const index: Record<string, string | null> = { ica: null, severity: null, progression: null };
  if (existsSync(path.join(folder, 'ica.json'))) {
    files.set('models/synthetic/ica.json', path.join(folder, 'ica.json'));
    index.ica = 'synthetic/ica.json';
  }
  for (const task of ['severity', 'progression']) {
    const classifier = path.join(folder, task);
    if (!existsSync(path.join(classifier, 'classifier.json'))) continue;
    for (const name of ['classifier.json', 'model.json', 'weights.bin']) {
      if (existsSync(path.join(classifier, name))) {
        files.set(`models/synthetic/${task}/${name}`, path.join(classifier, name));
      }
    }
    index[task] = `synthetic/${task}`;
  }
  return { files, index };
}

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
};

function modelFiles(): Plugin {
  let outDir = 'dist';
  const optional = optionalModels();
  const files = new Map([...servedFiles(), ...optional.files]);
  const index = `${JSON.stringify(optional.index, null, 2)}\n`;
  return {
    name: 'lesionenc-model-files',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    configureServer(server) {
      server.middlewares.use((request, response, next) => {
        const urlPath = decodeURIComponent((request.url ?? '').split('?')[0]!).replace(/^\//, '');
        if (urlPath === 'models/index.json') {
          response.setHeader('Content-Type', 'application/json');
          response.end(index);
          return;
        }
        const file = files.get(urlPath);
        if (file === undefined) {
          next();
          return;
        }
        response.setHeader(
          'Content-Type',
          CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
        );
        createReadStream(file).pipe(response);
      });
    },
    writeBundle() {
      for (const [urlPath, file] of files) {
        const target = path.join(outDir, urlPath);
        mkdirSync(path.dirname(target), { recursive: true });
        copyFileSync(file, target);
      }
      writeFileSync(path.join(outDir, 'models', 'index.json'), index);
    },
  };
}

export default defineConfig({
  base: './',
  plugins: [modelFiles()],
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    // tfjs-backend-wasm starts its threads from the source text of a function in the bundle
    // (Function.prototype.toString), which breaks when a minifier renames what it refers to.
    minify: false,
    // tfjs is large; one chunk per entry is expected here.
    chunkSizeWarningLimit: 8192,
  },
});
