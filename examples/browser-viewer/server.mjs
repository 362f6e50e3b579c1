// A small static server for the built page (dist/), cross-origin isolated: every response carries
// COOP and COEP, so the page may use SharedArrayBuffer and wasm threads. `node server.mjs [port]`.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Headers that make the page cross-origin isolated. */
export const ISOLATION_HEADERS = Object.freeze({
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
});

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * Serves a folder on 127.0.0.1.
 *
 * @param {{ root?: string, port?: number }} options - The folder (dist/ beside this file by
 * default) and the port (0: any free one).
 * @returns {Promise<{ url: string, close: () => Promise<void> }>} Where it listens, and a way to
 * stop it.
 */
export async function startServer({ root = path.join(here, 'dist'), port = 0 } = {}) {
  const folder = path.resolve(root);
  const server = createServer(async (request, response) => {
    const reply = (status, text) => {
      response.writeHead(status, { 'Content-Type': 'text/plain', ...ISOLATION_HEADERS });
      response.end(text);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      reply(405, 'method not allowed');
      return;
    }
    let urlPath;
    try {
      urlPath = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    } catch {
      reply(400, 'bad path');
      return;
    }
    const file = path.join(folder, urlPath.endsWith('/') ? `${urlPath}index.html` : urlPath);
    if (file !== folder && !file.startsWith(`${folder}${path.sep}`)) {
      reply(403, 'outside the served folder');
      return;
    }
    let info;
    try {
      info = await stat(file);
    } catch {
      info = undefined;
    }
    if (info === undefined || !info.isFile()) {
      reply(404, 'not found');
      return;
    }
    response.writeHead(200, {
      'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'Content-Length': info.size,
      'Cache-Control': 'no-cache',
      ...ISOLATION_HEADERS,
    });
    if (request.method === 'HEAD') response.end();
    else createReadStream(file).pipe(response);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const address = server.address();
  return {
    url: `http://127.0.0.1:${address.port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

if (
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  const port = Number(process.argv[2] ?? 4173);
  const { url } = await startServer({ port });
  console.log(`serving ${path.join(here, 'dist')} at ${url} (cross-origin isolated)`);
}
