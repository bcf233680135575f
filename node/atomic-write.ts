/**
 * Atomic file replacement: readers see either the old file or the complete new one, never a torn mix,
 * even if the process is killed or the machine loses power mid-write.
 *
 * Protocol: write a uniquely named temp file in the target's directory (same filesystem, so the rename is
 * atomic), fsync it, rename it over the target, then fsync the directory so the rename itself is durable.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { type FileHandle, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** What {@link writeFileAtomic} accepts: bytes, text (written as UTF-8), or chunks produced in order. */
export type AtomicWriteData = Uint8Array | string | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** Options for {@link writeFileAtomic} and {@link writeFileAtomicSync}. */
export interface AtomicWriteOptions {
  /** Permission bits of the new file. Default: those of the file being replaced, else 0o666 minus the umask. */
  mode?: number;
}

/**
 * Raised when an atomic write fails; `code` is the underlying errno code (e.g. `ENOENT`) when there is one.
 * The message names the file the caller asked for, never the temp file: `cannot write out.png: read-only file system`.
 */
export class AtomicWriteError extends Error {
  override name = 'AtomicWriteError';
  readonly code: string | undefined;
  constructor(
    readonly path: string,
    cause: unknown,
    tmp?: string,
  ) {
    const code = errnoCode(cause);
    super(`cannot write ${path}: ${reason(code, cause, tmp, path)}`, { cause });
    this.code = code;
  }
}

function errnoCode(e: unknown): string | undefined {
  if (e && typeof e === 'object' && 'code' in e && typeof e.code === 'string') return e.code;
  return undefined;
}

/** What went wrong, in words: the errno's meaning, else the cause's message with the temp file named as the target. */
function reason(code: string | undefined, cause: unknown, tmp: string | undefined, path: string): string {
  switch (code) {
    case 'ENOENT':
      return 'its folder does not exist';
    case 'ENOTDIR':
      return 'a part of its folder path is a file';
    case 'EISDIR':
      return 'it is a folder';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    default: {
      const message = cause instanceof Error ? cause.message : String(cause);
      return tmp ? message.split(tmp).join(path) : message;
    }
  }
}

/** The temp file name for `target`: hidden, unique per process and call, and matched by {@link isAtomicTempName}. */
export function atomicTempPath(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** True when `name` (a bare file name) is a temp file {@link writeFileAtomic} would create for `targetBase`. */
export function isAtomicTempName(name: string, targetBase: string): boolean {
  const prefix = `.${targetBase}.`;
  return name.startsWith(prefix) && /^\d+\.[0-9a-f]{12}\.tmp$/.test(name.slice(prefix.length));
}

/** Whether process `pid` is still running (a process we may not signal counts as running). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}

/**
 * Remove the temp files that writers of `target` left behind when they were killed mid-write
 * (their process is gone); a live writer's temp file is left alone. Returns the names removed.
 */
export async function removeStaleTemps(target: string): Promise<string[]> {
  const dir = dirname(resolve(target));
  const base = basename(target);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const stale = names.filter(
    (n) => isAtomicTempName(n, base) && !isRunning(Number(n.slice(base.length + 2).split('.')[0])),
  );
  await Promise.all(stale.map((n) => rm(join(dir, n), { force: true })));
  return stale;
}

function toBytes(chunk: unknown, target: string): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  throw new TypeError(`writeFileAtomic(${target}): chunks must be Uint8Array, got ${typeof chunk}`);
}

async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let off = 0;
  // write() may accept fewer bytes than offered (e.g. signals, some filesystems), so loop until done.
  while (off < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
    off += bytesWritten;
  }
}

async function modeToUse(target: string, options: AtomicWriteOptions | undefined): Promise<number | undefined> {
  if (options?.mode !== undefined) return options.mode;
  try {
    return (await stat(target)).mode & 0o7777;
  } catch {
    return undefined;
  }
}

/** Make a rename or file creation in `dir` durable (fsync the directory); a no-op where unsupported. */
export async function fsyncDir(dir: string): Promise<void> {
  // Directories cannot be opened for fsync on Windows and some filesystems refuse it; the rename already
  // happened, so losing only its durability guarantee there is the best available.
  let dh: FileHandle | undefined;
  try {
    dh = await open(dir, 'r');
    await dh.sync();
  } catch {
    // unsupported here
  } finally {
    await dh?.close().catch(() => {});
  }
}

/**
 * Replace `path` atomically with `data`.
 *
 * Iterables are consumed chunk by chunk, so large outputs need not be held in memory. On any error the temp
 * file is removed, the original file (if any) is left untouched, and an {@link AtomicWriteError} naming `path`
 * is thrown.
 */
export async function writeFileAtomic(
  path: string,
  data: AtomicWriteData,
  options?: AtomicWriteOptions,
): Promise<void> {
  const target = resolve(path);
  const tmp = atomicTempPath(target);
  let fh: FileHandle | undefined;
  try {
    const mode = await modeToUse(target, options);
    fh = await open(tmp, 'wx', mode ?? 0o666);
    // An explicit or inherited mode must not be narrowed by the umask.
    if (mode !== undefined) await fh.chmod(mode);
    if (typeof data === 'string') await writeAll(fh, Buffer.from(data, 'utf8'));
    else if (data instanceof Uint8Array) await writeAll(fh, data);
    else if (Symbol.asyncIterator in data) for await (const c of data) await writeAll(fh, toBytes(c, target));
    else for (const c of data) await writeAll(fh, toBytes(c, target));
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, target);
  } catch (e) {
    await fh?.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw new AtomicWriteError(path, e, tmp);
  }
  await fsyncDir(dirname(target));
}

/** Synchronous {@link writeFileAtomic}, for exit handlers and other places that cannot await. */
export function writeFileAtomicSync(
  path: string,
  data: Uint8Array | string | Iterable<Uint8Array>,
  options?: AtomicWriteOptions,
): void {
  const target = resolve(path);
  const tmp = atomicTempPath(target);
  let fd: number | undefined;
  try {
    let mode = options?.mode;
    if (mode === undefined) {
      try {
        mode = statSync(target).mode & 0o7777;
      } catch {
        mode = undefined;
      }
    }
    fd = openSync(tmp, 'wx', mode ?? 0o666);
    if (mode !== undefined) fchmodSync(fd, mode);
    const put = (bytes: Uint8Array): void => {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd as number, bytes, off, bytes.length - off);
    };
    if (typeof data === 'string') put(Buffer.from(data, 'utf8'));
    else if (data instanceof Uint8Array) put(data);
    else for (const c of data) put(toBytes(c, target));
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing; the original error matters
      }
    }
    rmSync(tmp, { force: true });
    throw new AtomicWriteError(path, e, tmp);
  }
  try {
    const dfd = openSync(dirname(target), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // see fsyncDir
  }
}
