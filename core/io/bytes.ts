/**
 * Random-access byte sources: the one thing format readers need from a file, a fetch() response or an
 * in-memory buffer. Readers ask for the ranges they need, so a multi-gigabyte checkpoint is never loaded
 * whole just to take one tensor out of it. Browser-safe: the Node file source lives in node/io/.
 * @module
 */

export interface ByteSource {
  /** Shown in error messages: a path, a URL, or a label for in-memory data. */
  readonly name: string;
  /** Total length in bytes. */
  readonly size: number;
  /**
   * Exactly `length` bytes starting at `offset`. The caller owns the result (a fresh copy, never a view into
   * memory the source or anyone else reuses), so readers may wrap or mutate it without copying again.
   * Throws a RangeError for a range outside [0, size).
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases what the source holds open (a file handle); absent when there is nothing to release. */
  close?(): Promise<void>;
}

/** Throws the RangeError {@link ByteSource.read} promises for a bad range; shared by every source. */
export function checkReadRange(source: Pick<ByteSource, 'name' | 'size'>, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new RangeError(`${source.name}: cannot read ${length} bytes at offset ${offset}: both must be integers >= 0`);
  }
  if (offset + length > source.size) {
    throw new RangeError(
      `${source.name}: cannot read bytes [${offset}, ${offset + length}): the source holds only ${source.size} bytes`,
    );
  }
}

/** A source over bytes already in memory; reads copy, so callers never alias (or mutate) `bytes`. */
export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  const source: ByteSource = {
    name,
    size: bytes.length,
    async read(offset: number, length: number): Promise<Uint8Array> {
      checkReadRange(source, offset, length);
      return bytes.slice(offset, offset + length);
    },
  };
  return source;
}
