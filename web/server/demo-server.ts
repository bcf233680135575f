/**
 * The demo's Vite plugin, for both `vite` (dev) and `vite preview`:
 * - `/models/<registry name>/<file>` streams a model file found the way the CLI finds it
 *   (EAI_MODELS_DIR, else ../shared/models, else the download cache). Only files the model
 *   registry lists can be served, so a request can never reach another path. Weights are
 *   read at request time: they are never copied into the repository or into the build.
 * - `/samples/<file>` serves the bundled sample photos (EAI_IMAGES_DIR or ../shared/images,
 *   `content/` only) for the page's "try a sample" buttons.
 * - COOP/COEP on every response, so the page is cross-origin isolated and the wasm backend
 *   may share memory between threads. `isolate: false` leaves them off (the page then runs
 *   wasm on one thread; the tests check that it does).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, join } from 'node:path';
import type { Connect, Plugin } from 'vite';
import { resolveModelFile } from '../../node/models/cache.js';
import { defaultImagesDir } from '../../node/paths.js';

export interface DemoServerOptions {
  /** Send COOP/COEP (default true). */
  readonly isolate?: boolean;
  /** Folder with sample images (`content/*.png|jpg`); default EAI_IMAGES_DIR or ../shared/images. */
  readonly imagesDir?: string;
}

export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const SAMPLE_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
};

function sendText(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(text);
}

function sendFile(req: IncomingMessage, res: ServerResponse, path: string, type: string): void {
  const { size, mtimeMs } = statSync(path);
  res.statusCode = 200;
  res.setHeader('Content-Type', type);
  // The page streams the body to show progress: it needs the total.
  res.setHeader('Content-Length', String(size));
  res.setHeader('ETag', `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`);
  // The page keeps its own copy in the Cache API; the HTTP cache would only hold a second one.
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(path);
  stream.on('error', (err) => res.destroy(err));
  stream.pipe(res);
}

/** `/models/<name>/<file>` → the registry's file, or a 404 whose body says how to get it. */
function serveModel(req: IncomingMessage, res: ServerResponse, rest: string): void {
  const parts = rest.split('/').map((p) => decodeURIComponent(p));
  if (parts.length !== 2 || parts.some((p) => p === '' || p === '.' || p === '..')) {
    sendText(res, 404, `${req.url}: model URLs have the form /models/<registry name>/<file>`);
    return;
  }
  let path: string;
  try {
    path = resolveModelFile(parts[0], parts[1]).path;
  } catch (err) {
    // Unknown model, unknown file, or not on disk: the message names the fix.
    sendText(res, 404, (err as Error).message);
    return;
  }
  sendFile(req, res, path, 'application/octet-stream');
}

function serveSample(req: IncomingMessage, res: ServerResponse, rest: string, imagesDir: string | undefined): void {
  const name = decodeURIComponent(rest);
  const ext = name.slice(name.lastIndexOf('.')).toLowerCase();
  const type = SAMPLE_TYPES[ext];
  if (!imagesDir || !type || name !== basename(name) || name.startsWith('.')) {
    sendText(res, 404, `${req.url}: no such sample image (samples come from EAI_IMAGES_DIR/content)`);
    return;
  }
  const path = join(imagesDir, 'content', name);
  if (!existsSync(path)) {
    sendText(res, 404, `${req.url}: ${path} does not exist`);
    return;
  }
  sendFile(req, res, path, type);
}

function middleware(options: DemoServerOptions): Connect.NextHandleFunction {
  const isolate = options.isolate ?? true;
  const imagesDir = options.imagesDir ?? defaultImagesDir();
  return (req, res, next) => {
    if (isolate) for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      next();
      return;
    }
    if (path.startsWith('/models/')) serveModel(req, res, path.slice('/models/'.length));
    else if (path.startsWith('/samples/')) serveSample(req, res, path.slice('/samples/'.length), imagesDir);
    else next();
  };
}

export function demoServer(options: DemoServerOptions = {}): Plugin {
  return {
    name: 'efficientai-demo-server',
    // Installed before Vite's own middlewares, so the headers reach every response (HTML, JS, workers, wasm).
    configureServer(server) {
      server.middlewares.use(middleware(options));
    },
    configurePreviewServer(server) {
      server.middlewares.use(middleware(options));
    },
  };
}
