/**
 * Where the toolkit's own files, local model copies and the download cache live.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Environment variables read here, injectable so tests need not mutate `process.env`. */
export type Env = Readonly<Record<string, string | undefined>>;

const PACKAGE_NAME = 'efficientai-toolkit';
let cachedRoot: string | undefined;

/**
 * The package root: the nearest ancestor of this module holding the toolkit's package.json.
 * Works from the sources (`node/paths.ts`) and from a build (`dist/node/paths.js`) alike.
 */
export function repoRoot(): string {
  if (cachedRoot) return cachedRoot;
  const start = dirname(fileURLToPath(import.meta.url));
  let firstFound: string | undefined;
  for (let dir = start; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      firstFound ??= dir;
      // A stray package.json (e.g. one marking dist/ as ESM) must not be mistaken for the root.
      if (readName(pkg) === PACKAGE_NAME) return (cachedRoot = dir);
    }
    if (dirname(dir) === dir) break;
  }
  if (firstFound) return (cachedRoot = firstFound);
  throw new Error(`no package.json above ${start}: the toolkit's files are incomplete; reinstall it`);
}

function readName(pkg: string): string | undefined {
  try {
    const name: unknown = JSON.parse(readFileSync(pkg, 'utf8')).name;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Folder of local model copies (layout `<dir>/<folder>/<file>`): `EAI_MODELS_DIR` when set (resolved against
 * the working directory), else `../shared/models` beside the repository when it exists, else `undefined`.
 */
export function defaultModelsDir(env: Env = process.env): string | undefined {
  const fromEnv = env.EAI_MODELS_DIR;
  if (fromEnv) return resolve(fromEnv);
  const shared = resolve(repoRoot(), '../shared/models');
  return existsSync(shared) ? shared : undefined;
}

/**
 * Folder of sample images (`content/`, `style/`): `EAI_IMAGES_DIR` when set, else `../shared/images`
 * beside the repository when it exists, else `undefined`.
 */
export function defaultImagesDir(env: Env = process.env): string | undefined {
  const fromEnv = env.EAI_IMAGES_DIR;
  if (fromEnv) return resolve(fromEnv);
  const shared = resolve(repoRoot(), '../shared/images');
  return existsSync(shared) ? shared : undefined;
}

/**
 * Folder of the shared training data sets (`wikisql/`, `wwdc25-completions/`, ...): `EAI_DATA_DIR` when
 * set, else `../shared/data` beside the repository when it exists, else `undefined`.
 */
export function defaultDatasetsDir(env: Env = process.env): string | undefined {
  const fromEnv = env.EAI_DATA_DIR;
  if (fromEnv) return resolve(fromEnv);
  const shared = resolve(repoRoot(), '../shared/data');
  return existsSync(shared) ? shared : undefined;
}

/**
 * Download cache: `EAI_CACHE_DIR` when set, else `$XDG_CACHE_HOME/efficientai-toolkit`, else
 * `~/.cache/efficientai-toolkit`. The folder may not exist yet.
 */
export function defaultCacheDir(env: Env = process.env): string {
  if (env.EAI_CACHE_DIR) return resolve(env.EAI_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return join(resolve(env.XDG_CACHE_HOME), PACKAGE_NAME);
  return join(homedir(), '.cache', PACKAGE_NAME);
}

/**
 * The user's own toolkit data (knowledge-base entries and their index): `$XDG_DATA_HOME/efficientai-toolkit`,
 * else `~/.local/share/efficientai-toolkit`. Unlike the cache, what is here cannot be downloaded again.
 * The folder may not exist yet.
 */
export function defaultDataDir(env: Env = process.env): string {
  if (env.XDG_DATA_HOME) return join(resolve(env.XDG_DATA_HOME), PACKAGE_NAME);
  return join(homedir(), '.local', 'share', PACKAGE_NAME);
}
