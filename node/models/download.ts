/**
 * Downloading model files into the cache: `<file>.partial` grows until complete, resuming with an HTTP `Range`
 * request after an interruption (in this run or a later one), is verified (sha256 when the registry knows it,
 * else size and format), and is then renamed into place, so the cache never holds a half-written model.
 * @module
 */

import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { UsageError } from '../../core/errors.js';
import { fsyncDir } from '../atomic-write.js';
import type { Logger } from '../log.js';
import { defaultCacheDir, type Env } from '../paths.js';
import type { Progress } from '../progress.js';
import { cachePath, sha256File, verifyModelFile } from './cache.js';
import { checkFormat, FormatError, type ModelFormat } from './formats.js';
import { getModel, type ModelEntry, type ModelFile } from './registry.js';

/** A download failed; `url` and `path` say what and where. A `.partial` file is kept when it can be resumed. */
export class DownloadError extends Error {
  override name = 'DownloadError';
  constructor(
    message: string,
    readonly url: string,
    readonly path: string,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The downloaded bytes are not the expected ones (the partial file has been deleted). */
export class ChecksumError extends DownloadError {
  override name = 'ChecksumError';
  constructor(
    message: string,
    url: string,
    path: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(message, url, path);
  }
}

/** What a finished file must satisfy. */
export interface Expected {
  sha256?: string | null;
  size?: number;
  format?: ModelFormat;
}

/** Options for {@link downloadToFile}, {@link downloadModelFile} and {@link downloadModel}. */
export interface DownloadOptions {
  /** Default {@link defaultCacheDir}. */
  cacheDir?: string;
  env?: Env;
  /** Reports bytes; create it with `createProgress({ unit: 'bytes' })`. */
  progress?: Progress;
  /** Receives retry and re-download notices. */
  logger?: Logger;
  /** Download again even when a verified copy is in the cache. */
  force?: boolean;
  /** Automatic resumes after a dropped connection or a 5xx/429 answer. Default 3. */
  retries?: number;
  /** First delay between attempts (doubling each time). Default 500 ms. */
  retryDelayMs?: number;
  signal?: AbortSignal;
}

/** Outcome for one file. */
export interface FileDownloadResult {
  readonly path: string;
  /** `present`: a verified copy was already there and nothing was fetched. */
  readonly status: 'downloaded' | 'present';
  readonly bytes: number;
  /** SHA-256 of the file now on disk (computed, whatever the registry knows). */
  readonly sha256?: string;
  /** How the file was checked. */
  readonly verifiedBy: 'sha256' | 'format';
  /** Bytes reused from an earlier interrupted download. */
  readonly resumedFrom: number;
}

/** An attempt failed in a way a later attempt may fix (dropped connection, 5xx). */
class Retryable extends Error {}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

/** A pid lock so two processes never append to the same partial file. */
async function acquireLock(dest: string, url: string): Promise<() => Promise<void>> {
  const lock = `${dest}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(lock, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => rm(lock, { force: true });
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST' || attempt > 0) throw e;
      const pid = Number.parseInt(await readFile(lock, 'utf8').catch(() => ''), 10);
      if (pid > 0 && isAlive(pid)) {
        throw new DownloadError(
          `another download of ${dest} is running (pid ${pid}); wait for it, or delete ${lock} if that process is gone`,
          url,
          dest,
        );
      }
      await rm(lock, { force: true }); // left by a process that died
    }
  }
}

function parseContentRange(h: string | null): { start: number; total: number | undefined } | undefined {
  const m = h ? /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(h.trim()) : null;
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) };
}

/** One HTTP attempt: append to (or restart) the partial file. Resolves when it holds the whole file. */
async function attempt(url: string, partial: string, expected: Expected, opts: DownloadOptions): Promise<void> {
  let offset = (await sizeOf(partial)) ?? 0;
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  let res: Response;
  try {
    res = await fetch(url, { headers, redirect: 'follow', signal: opts.signal });
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    throw new Retryable(`cannot connect to ${url}: ${(e as Error).cause ?? (e as Error).message}`);
  }
  let total: number | undefined;
  let flags = 'a';
  if (res.status === 416) {
    await res.body?.cancel();
    const m = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
    if (m && offset > 0 && Number(m[1]) === offset) return; // the partial file was already complete
    await rm(partial, { force: true });
    throw new Retryable('the server rejected the resume range; starting over');
  }
  if (res.status === 206) {
    const cr = parseContentRange(res.headers.get('content-range'));
    if (!cr || cr.start !== offset) {
      await res.body?.cancel();
      await rm(partial, { force: true });
      throw new Retryable(
        `the server resumed at the wrong offset (${res.headers.get('content-range')}); starting over`,
      );
    }
    total = cr.total;
  } else if (res.ok) {
    if (offset > 0) opts.logger?.info('the server does not support resuming; starting over', { url });
    offset = 0;
    flags = 'w';
    const len = res.headers.get('content-length');
    total = len !== null && /^\d+$/.test(len) ? Number(len) : undefined;
  } else {
    await res.body?.cancel();
    const msg = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''} from ${url}`;
    if (res.status >= 500 || res.status === 429 || res.status === 408) throw new Retryable(msg);
    throw new DownloadError(
      res.status === 404 ? `${msg}: the file is not there (moved or renamed?); the registry entry needs updating` : msg,
      url,
      partial,
      res.status,
    );
  }
  if (expected.size !== undefined && total !== undefined && total !== expected.size) {
    await res.body?.cancel();
    await rm(partial, { force: true });
    throw new DownloadError(
      `${url} is ${total} bytes but the registry expects ${expected.size}: the file has changed upstream`,
      url,
      partial,
      res.status,
    );
  }

  const progress = opts.progress;
  progress?.start(total, basename(partial, '.partial'), offset);
  const fh = await open(partial, flags);
  let written = offset;
  try {
    if (res.body) {
      // Node's web streams are async-iterable; the DOM lib typings in tsconfig do not say so.
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
        written += chunk.length;
        progress?.tick(chunk.length);
      }
    }
    await fh.sync();
  } catch (e) {
    progress?.abort();
    if (opts.signal?.aborted) throw e;
    throw new Retryable(`connection lost after ${written} bytes (${(e as Error).message})`);
  } finally {
    await fh.close();
  }
  if (total !== undefined && written !== total) {
    progress?.abort();
    throw new Retryable(`connection closed after ${written} of ${total} bytes`);
  }
  progress?.done();
}

async function verifyPartial(
  url: string,
  partial: string,
  expected: Expected,
): Promise<{ sha256: string; by: 'sha256' | 'format' }> {
  const size = (await sizeOf(partial)) ?? 0;
  if (expected.size !== undefined && size !== expected.size) {
    await rm(partial, { force: true });
    throw new DownloadError(
      `downloaded ${size} bytes from ${url}, expected ${expected.size}; deleted it, try again`,
      url,
      partial,
    );
  }
  const actual = await sha256File(partial);
  if (expected.sha256) {
    if (actual !== expected.sha256) {
      await rm(partial, { force: true });
      throw new ChecksumError(
        `checksum mismatch for ${url}: expected sha256 ${expected.sha256}, got ${actual}. The download was deleted; ` +
          'try again, and if it happens again the file has changed upstream and the registry needs updating.',
        url,
        partial,
        expected.sha256,
        actual,
      );
    }
    return { sha256: actual, by: 'sha256' };
  }
  if (expected.format) {
    try {
      await checkFormat(partial, expected.format);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      await rm(partial, { force: true });
      throw new DownloadError(
        `download from ${url} failed verification: ${e.message}; deleted it`,
        url,
        partial,
        undefined,
        {
          cause: e,
        },
      );
    }
  }
  return { sha256: actual, by: 'format' };
}

/**
 * Download `url` to `dest` via `dest.partial`, resuming an earlier partial download, retrying dropped
 * connections, verifying against `expected`, then renaming into place.
 * @throws DownloadError (partial kept when resumable), ChecksumError (partial deleted).
 */
export async function downloadToFile(
  url: string,
  dest: string,
  expected: Expected = {},
  opts: DownloadOptions = {},
): Promise<FileDownloadResult> {
  await mkdir(dirname(dest), { recursive: true });
  const partial = `${dest}.partial`;
  const release = await acquireLock(dest, url);
  try {
    const resumedFrom = (await sizeOf(partial)) ?? 0;
    const retries = opts.retries ?? 3;
    let delay = opts.retryDelayMs ?? 500;
    for (let n = 0; ; n++) {
      try {
        await attempt(url, partial, expected, opts);
        break;
      } catch (e) {
        if (opts.signal?.aborted) {
          throw new DownloadError(`download of ${url} cancelled; run it again to resume`, url, partial, undefined, {
            cause: e,
          });
        }
        if (!(e instanceof Retryable)) throw e;
        if (n >= retries) {
          const kept = (await sizeOf(partial)) ?? 0;
          throw new DownloadError(
            `${e.message}; gave up after ${n + 1} attempt${n ? 's' : ''}` +
              (kept > 0 ? `. ${kept} bytes are kept in ${partial}: run the download again to resume` : ''),
            url,
            partial,
          );
        }
        opts.logger?.warn(`${e.message}; retrying`, { attempt: n + 2, of: retries + 1 });
        await sleep(delay);
        delay *= 2;
      }
    }
    const { sha256, by } = await verifyPartial(url, partial, expected);
    const bytes = (await sizeOf(partial)) ?? 0;
    await rename(partial, dest);
    await fsyncDir(dirname(dest));
    return { path: dest, status: 'downloaded', bytes, sha256, verifiedBy: by, resumedFrom };
  } finally {
    await release();
  }
}

/**
 * Put one registry file in the cache, unless a copy that passes verification is already there.
 * A cached copy that fails verification is replaced (atomically, once the new one is verified).
 */
export async function downloadModelFile(
  entry: ModelEntry,
  file: ModelFile,
  opts: DownloadOptions = {},
): Promise<FileDownloadResult> {
  const dest = cachePath(entry, file, opts.cacheDir ?? defaultCacheDir(opts.env));
  if (!opts.force && (await sizeOf(dest)) !== undefined) {
    const v = await verifyModelFile(file, dest, 'official');
    if (v.ok) {
      return {
        path: dest,
        status: 'present',
        bytes: (await sizeOf(dest)) ?? 0,
        sha256: v.actual,
        verifiedBy: v.method,
        resumedFrom: 0,
      };
    }
    opts.logger?.warn('cached copy failed verification; downloading it again', { path: dest, problem: v.problem });
  }
  if (file.url === null) {
    throw new UsageError(
      `model "${entry.name}" file ${file.path} has no download: ${file.urlNote ?? 'no official copy exists'} ` +
        `Put the folder ${entry.folder}/ under EAI_MODELS_DIR instead.`,
    );
  }
  return downloadToFile(file.url, dest, { sha256: file.sha256, size: file.size, format: file.format }, opts);
}

/**
 * Download every file of model `name` into the cache (what `efficientai-toolkit models:download --name NAME` does).
 * @throws UsageError for an unknown name; DownloadError / ChecksumError as {@link downloadToFile}.
 */
export async function downloadModel(
  name: string,
  opts: DownloadOptions = {},
): Promise<{ entry: ModelEntry; files: FileDownloadResult[] }> {
  const entry = getModel(name);
  const files: FileDownloadResult[] = [];
  for (const f of entry.files) files.push(await downloadModelFile(entry, f, opts));
  return { entry, files };
}
