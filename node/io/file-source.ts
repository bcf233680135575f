/**
 * A {@link ByteSource} over a file on disk. Reads are positional (pread), so readers fetch only the ranges
 * they need and a large checkpoint never has to fit in memory at once.
 * @module
 */
import { type FileHandle, open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../../core/errors.js';
import { type ByteSource, checkReadRange } from '../../core/io/bytes.js';

// One fs read moves at most 2 GiB - 1 bytes; larger ranges are read in chunks.
const MAX_READ_CHUNK = 1 << 30;

function errnoCode(e: unknown): string | undefined {
  if (e && typeof e === 'object' && 'code' in e && typeof e.code === 'string') return e.code;
  return undefined;
}

function openError(path: string, e: unknown): UsageError {
  const code = errnoCode(e);
  const where = resolve(path) === path ? path : `${path} (resolved to ${resolve(path)})`;
  switch (code) {
    case 'ENOENT':
      return new UsageError(`file not found: ${where}; check the path and the working directory`, { cause: e });
    case 'EACCES':
    case 'EPERM':
      return new UsageError(`permission denied reading ${where}; check the file's permissions`, { cause: e });
    case 'EISDIR':
      return new UsageError(`${where} is a directory, not a file; name a file inside it`, { cause: e });
    case 'ENOTDIR':
      return new UsageError(`${where}: a parent of this path is a file, not a directory; check the path`, {
        cause: e,
      });
    default: {
      const reason = e instanceof Error ? e.message : String(e);
      return new UsageError(`cannot open ${where}: ${reason}`, { cause: e });
    }
  }
}

/** Opens `path` for positional reads. Call `close()` when done; the handle stays open until then. */
export async function openFileSource(path: string): Promise<ByteSource> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw openError(path, e);
  }
  let size: number;
  try {
    const st = await fh.stat();
    // On Linux open(dir, 'r') succeeds and only the first read fails, so check up front.
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (!st.isFile()) throw new Error('not a regular file (a device, pipe or socket has no fixed size to seek in)');
    size = st.size;
  } catch (e) {
    await fh.close().catch(() => {});
    throw openError(path, e);
  }

  let closed = false;
  const source: ByteSource = {
    name: path,
    size,
    async read(offset: number, length: number): Promise<Uint8Array> {
      if (closed) throw new UsageError(`${path}: read after close; keep the source open while reading`);
      checkReadRange(source, offset, length);
      // A fresh, unpooled buffer: the ByteSource contract hands ownership to the caller.
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const want = Math.min(length - done, MAX_READ_CHUNK);
        const { bytesRead } = await fh.read(out, done, want, offset + done);
        if (bytesRead === 0) {
          throw new UsageError(
            `${path}: the file ended at byte ${offset + done} while reading bytes [${offset}, ${offset + length}); ` +
              `it was ${size} bytes when opened, so it shrank meanwhile (is another process rewriting it?)`,
          );
        }
        done += bytesRead;
      }
      return out;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await fh.close();
    },
  };
  return source;
}
