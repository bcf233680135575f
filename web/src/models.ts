/** Where the demo finds model files, shared by the page (card badges) and the worker (loading). */

/** Bump when cached entries must not be reused (e.g. the URL layout changes). */
export const MODEL_CACHE = 'efficientai-models-v1';

/** `<base><registry name>/<file>`: the demo server maps it to the registry's file (see web/server). */
export function modelFileUrl(base: string, model: string, file: string): string {
  return new URL(`${encodeURIComponent(model)}/${encodeURIComponent(file)}`, base).href;
}

/** The Cache API exists only in secure contexts (https, localhost); elsewhere the demo downloads each time. */
export function cacheStorage(): CacheStorage | null {
  return typeof caches === 'object' && caches !== null ? caches : null;
}
