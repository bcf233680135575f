/**
 * Finding model files on disk. Each file is looked up, in order, in
 *   1. the local models folder: `EAI_MODELS_DIR`, else `../shared/models` beside the repository (see paths.ts),
 *   2. the download cache: `EAI_CACHE_DIR`, else `~/.cache/efficientai-toolkit`,
 * both with the layout `<dir>/<folder>/<file>`. Nothing is downloaded here (see download.ts).
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../core/errors.js';
import { defaultCacheDir, defaultModelsDir, type Env } from '../paths.js';
import { checkFormat, FormatError } from './formats.js';
import { getModel, getModelFile, type ModelEntry, type ModelFile } from './registry.js';

/** Where to look; every field defaults from the environment. */
export interface ModelLocations {
  /** Local models folder; `null` to skip it. Default {@link defaultModelsDir}. */
  modelsDir?: string | null;
  /** Download cache. Default {@link defaultCacheDir}. */
  cacheDir?: string;
  /** Default `process.env`. */
  env?: Env;
}

/** A model file found on disk. */
export interface ResolvedModelFile {
  readonly file: ModelFile;
  readonly path: string;
  readonly source: 'models-dir' | 'cache';
}

/** A model file is neither in the models folder nor in the cache. */
export class ModelNotFoundError extends UsageError {
  override name = 'ModelNotFoundError';
  constructor(
    message: string,
    readonly model: string,
    readonly file: string,
    /** Paths that were tried, in order. */
    readonly looked: readonly string[],
  ) {
    super(message);
  }
}

/** Where `file` of `entry` lives (or will live) in the cache. */
export function cachePath(entry: ModelEntry, file: ModelFile | string, cacheDir = defaultCacheDir()): string {
  return join(cacheDir, entry.folder, typeof file === 'string' ? file : file.path);
}

function isNonEmptyFile(p: string): boolean {
  try {
    const st = statSync(p);
    return st.isFile() && st.size > 0;
  } catch {
    return false;
  }
}

/**
 * Find one file of model `name` (default: its first file).
 * @throws UsageError for an unknown model or file; ModelNotFoundError, saying how to get it, when it is nowhere.
 */
export function resolveModelFile(name: string, filePath?: string, where: ModelLocations = {}): ResolvedModelFile {
  const entry = getModel(name);
  const file = filePath === undefined ? entry.files[0] : getModelFile(name, filePath);
  const env = where.env ?? process.env;
  const modelsDir = where.modelsDir === undefined ? defaultModelsDir(env) : where.modelsDir;
  const cacheDir = where.cacheDir ?? defaultCacheDir(env);
  const looked: string[] = [];
  if (modelsDir) {
    const p = join(modelsDir, entry.folder, file.path);
    looked.push(p);
    if (isNonEmptyFile(p)) return { file, path: p, source: 'models-dir' };
  }
  const c = cachePath(entry, file, cacheDir);
  looked.push(c);
  if (isNonEmptyFile(c)) return { file, path: c, source: 'cache' };

  const rel = `${entry.folder}/${file.path}`;
  const notes: string[] = [];
  if (env.EAI_MODELS_DIR && !existsSync(env.EAI_MODELS_DIR))
    notes.push(`EAI_MODELS_DIR=${env.EAI_MODELS_DIR} does not exist`);
  if (existsSync(`${c}.partial`)) notes.push('an interrupted download is in the cache and will resume');
  throw new ModelNotFoundError(
    `model file ${rel} (model "${name}") not found; looked in ${looked.join(' and ')}` +
      (notes.length ? ` (${notes.join('; ')})` : '') +
      `. Download it with \`efficientai-toolkit models:download --name ${name}\`, or set EAI_MODELS_DIR to a folder ` +
      `containing ${rel}.`,
    name,
    file.path,
    looked,
  );
}

/** Find every file of model `name`. @throws like {@link resolveModelFile}, for the first missing file. */
export function resolveModel(
  name: string,
  where: ModelLocations = {},
): { entry: ModelEntry; files: ResolvedModelFile[] } {
  const entry = getModel(name);
  return { entry, files: entry.files.map((f) => resolveModelFile(name, f.path, where)) };
}

/** SHA-256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Outcome of {@link verifyModelFile}. */
export interface VerifyResult {
  readonly ok: boolean;
  /** `sha256` when a checksum was compared, else `format` (size and structure only). */
  readonly method: 'sha256' | 'format';
  readonly expected?: string;
  readonly actual?: string;
  /** What is wrong, when not ok. */
  readonly problem?: string;
}

/**
 * Check a file on disk against the registry. `against: 'local'` compares with the reference copy's checksum
 * (`localSha256`, else the official one), `'official'` with the file at the URL (`sha256`); without a checksum
 * it checks the known size and the format.
 */
export async function verifyModelFile(
  file: ModelFile,
  path: string,
  against: 'official' | 'local' = 'official',
): Promise<VerifyResult> {
  const expected = against === 'local' ? (file.localSha256 ?? file.sha256) : file.sha256;
  const expectedSize = against === 'local' ? (file.localSize ?? file.size) : file.size;
  const size = statSync(path).size;
  if (expectedSize !== undefined && size !== expectedSize) {
    return {
      ok: false,
      method: expected ? 'sha256' : 'format',
      problem: `${path}: size ${size} bytes, expected ${expectedSize}`,
    };
  }
  if (expected) {
    const actual = await sha256File(path);
    return actual === expected
      ? { ok: true, method: 'sha256', expected, actual }
      : { ok: false, method: 'sha256', expected, actual, problem: `${path}: sha256 ${actual}, expected ${expected}` };
  }
  try {
    await checkFormat(path, file.format);
    return { ok: true, method: 'format' };
  } catch (e) {
    if (e instanceof FormatError) return { ok: false, method: 'format', problem: e.message };
    throw e;
  }
}
