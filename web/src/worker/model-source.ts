/**
 * The pipeline's ModelSource in browsers: fetch from the server, streamed so the page can
 * show bytes as they arrive, and kept in the Cache API so the next visit loads from disk.
 */
import type { ModelSource } from '../../../projects/style-transfer/pipeline.js';
import { DemoError } from '../errors.js';
import { cacheStorage, MODEL_CACHE, modelFileUrl } from '../models.js';
import type { WorkerListener } from '../protocol.js';

type Bytes = Uint8Array<ArrayBuffer>;
type OnBytes = (loaded: number, total: number | null) => void;

/** Read a response body, reporting progress per chunk. */
async function readStreamed(response: Response, url: string, onBytes: OnBytes): Promise<Bytes> {
  const header = Number(response.headers.get('Content-Length'));
  const total = Number.isFinite(header) && header > 0 ? header : null;
  onBytes(0, total);
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onBytes(bytes.length, total);
    return bytes;
  }
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onBytes(loaded, total);
  }
  if (total !== null && loaded !== total) {
    throw new DemoError('model-load', `${url}: the download stopped at ${loaded} of ${total} bytes; try again`);
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}

async function openCache(): Promise<Cache | null> {
  try {
    return (await cacheStorage()?.open(MODEL_CACHE)) ?? null;
  } catch {
    // A cache that cannot be opened (private mode, storage off) is the same as an empty one.
    return null;
  }
}

async function download(url: string, what: string, onBytes: OnBytes): Promise<Bytes> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new DemoError(
      'model-load',
      `Could not download the ${what} model from ${url} (${(err as Error).message}); is the demo server running?`,
    );
  }
  if (!response.ok) {
    // The demo server's 404 body says where it looked and how to get the file.
    const detail = (await response.text().catch(() => '')).trim().slice(0, 600);
    throw new DemoError(
      'model-load',
      `The ${what} model is not available (HTTP ${response.status} for ${url})${detail ? `: ${detail}` : ''}`,
    );
  }
  return readStreamed(response, url, onBytes);
}

export interface BrowserModelSource extends ModelSource {
  /**
   * Drop every file this source read from the Cache API. Called when a network failed to build
   * from cached bytes (a truncated or stale entry): the next load downloads them again.
   */
  evictCached(): Promise<boolean>;
}

export function browserModelSource(base: string, listener: WorkerListener): BrowserModelSource {
  const fromCache = new Set<string>();

  /** One file, from the cache or the network; `style` keys the progress events. */
  async function file(
    style: string,
    what: string,
    model: string,
    name: string,
  ): Promise<{ name: string; bytes: Bytes }> {
    const url = modelFileUrl(base, model, name);
    const report =
      (phase: 'cache' | 'network'): OnBytes =>
      (loaded, total) =>
        listener({ type: 'model', style, url, phase, loaded, total });
    const cache = await openCache();
    const cached = await cache?.match(url).catch(() => undefined);
    let bytes: Bytes;
    if (cached) {
      bytes = await readStreamed(cached, url, report('cache'));
      fromCache.add(url);
    } else {
      bytes = await download(url, what, report('network'));
      fromCache.delete(url);
      const headers = { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) };
      // Out of quota: the model still runs, it is just downloaded again next time.
      await cache?.put(url, new Response(bytes, { headers })).catch(() => {});
    }
    listener({ type: 'model', style, url, phase: 'parse', loaded: bytes.length, total: bytes.length });
    return { name: url, bytes };
  }

  return {
    load: (style) => file(style.name, style.name, style.model, style.file),
    loadFile: (model, name) => file('image', 'arbitrary-style', model, name),
    async evictCached() {
      if (fromCache.size === 0) return false;
      const cache = await openCache();
      for (const url of fromCache) await cache?.delete(url).catch(() => false);
      fromCache.clear();
      return true;
    },
  };
}
