/**
 * A minimal reader of ZIP archives whose entries are stored uncompressed, as `torch.save` writes them
 * (PyTorch's zip format, https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT): the end of central
 * directory record (and its ZIP64 form for archives past 4 GiB), the central directory, and each entry's
 * local header to find where its bytes start. Entries are read on request through a {@link ByteSource}, so a
 * multi-gigabyte checkpoint is never loaded whole.
 *
 * Deflated or encrypted entries are refused with a clear error: PyTorch never writes them, and inflating would
 * need a decompressor that core/ (which runs in browsers) does not carry. Every offset and size is checked
 * against the archive's size before anything is read or allocated.
 * @module
 */
import { UsageError } from '../errors.js';
import type { ByteSource } from './bytes.js';

/** A malformed or unsupported ZIP archive; the message starts with the file name. */
export class ZipError extends UsageError {
  override name = 'ZipError';
}

export interface ZipEntry {
  readonly name: string;
  /** Size of the entry's data in bytes. */
  readonly size: number;
  /** Offset of the entry's local header. */
  readonly headerOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
const ZIP64_EXTRA = 0x0001;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;
/** More entries than any checkpoint has; a larger count is corruption, not a model. */
const MAX_ENTRIES = 1_000_000;

function u64(view: DataView, at: number): number {
  const v = view.getBigUint64(at, true);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(v);
}

/** The entries of a stored (uncompressed) ZIP archive; read them with {@link ZipArchive.read}. */
export class ZipArchive {
  readonly #byName: Map<string, ZipEntry>;

  private constructor(
    readonly source: ByteSource,
    readonly entries: readonly ZipEntry[],
  ) {
    this.#byName = new Map(entries.map((e) => [e.name, e]));
  }

  static async open(source: ByteSource): Promise<ZipArchive> {
    const file = source.name;
    const fail = (why: string): never => {
      throw new ZipError(`${file}: not a readable ZIP archive: ${why}`);
    };
    if (source.size < EOCD_SIZE) fail(`only ${source.size} bytes, shorter than the end-of-directory record`);
    const tailLength = Math.min(source.size, EOCD_SIZE + MAX_COMMENT);
    const tailStart = source.size - tailLength;
    const tail = await source.read(tailStart, tailLength);
    const tv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
    let eocd = -1;
    for (let p = tail.length - EOCD_SIZE; p >= 0; p--) {
      if (tv.getUint32(p, true) === EOCD_SIGNATURE && p + EOCD_SIZE + tv.getUint16(p + 20, true) <= tail.length) {
        eocd = p;
        break;
      }
    }
    if (eocd < 0) fail('no end-of-central-directory record (truncated, or not a zip file)');
    let count = tv.getUint16(eocd + 10, true);
    let dirSize = tv.getUint32(eocd + 12, true);
    let dirOffset = tv.getUint32(eocd + 16, true);
    if (count === U16_MAX || dirSize === U32_MAX || dirOffset === U32_MAX) {
      // ZIP64: a locator sits just before the classic record and points at the 64-bit record.
      const loc = eocd - 20;
      if (loc < 0 || tv.getUint32(loc, true) !== ZIP64_LOCATOR_SIGNATURE) fail('ZIP64 sizes but no ZIP64 locator');
      const recordAt = u64(tv, loc + 8);
      if (!(recordAt + 56 <= source.size)) fail(`ZIP64 record offset ${recordAt} is past the end`);
      const rec = await source.read(recordAt, 56);
      const rv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
      if (rv.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) fail(`no ZIP64 end-of-directory record at ${recordAt}`);
      count = u64(rv, 32);
      dirSize = u64(rv, 40);
      dirOffset = u64(rv, 48);
    }
    if (count > MAX_ENTRIES) fail(`${count} entries (more than ${MAX_ENTRIES}: corrupt)`);
    if (!(dirOffset + dirSize <= source.size)) {
      fail(`the central directory [${dirOffset}, +${dirSize}) runs past the end (${source.size} bytes)`);
    }
    const dir = await source.read(dirOffset, dirSize);
    const dv = new DataView(dir.buffer, dir.byteOffset, dir.byteLength);
    const decoder = new TextDecoder('utf-8', { fatal: false });
    const entries: ZipEntry[] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > dir.length || dv.getUint32(p, true) !== CENTRAL_SIGNATURE) {
        fail(`central directory entry ${i} at byte ${dirOffset + p} is truncated or has a bad signature`);
      }
      const flags = dv.getUint16(p + 8, true);
      const method = dv.getUint16(p + 10, true);
      let compressed = dv.getUint32(p + 20, true);
      let size = dv.getUint32(p + 24, true);
      const nameLength = dv.getUint16(p + 28, true);
      const extraLength = dv.getUint16(p + 30, true);
      const commentLength = dv.getUint16(p + 32, true);
      let headerOffset = dv.getUint32(p + 42, true);
      const end = p + 46 + nameLength + extraLength + commentLength;
      if (end > dir.length) fail(`central directory entry ${i} runs past the directory`);
      const name = decoder.decode(dir.subarray(p + 46, p + 46 + nameLength));
      // ZIP64 extra field: the 64-bit values, in this order, for each classic field that is saturated.
      let e = p + 46 + nameLength;
      const extraEnd = e + extraLength;
      while (e + 4 <= extraEnd) {
        const id = dv.getUint16(e, true);
        const len = dv.getUint16(e + 2, true);
        if (e + 4 + len > extraEnd) fail(`entry "${name}": extra field runs past its entry`);
        if (id === ZIP64_EXTRA) {
          let q = e + 4;
          const take = (): number => {
            if (q + 8 > e + 4 + len) fail(`entry "${name}": ZIP64 extra field is too short`);
            const v = u64(dv, q);
            q += 8;
            return v;
          };
          if (size === U32_MAX) size = take();
          if (compressed === U32_MAX) compressed = take();
          if (headerOffset === U32_MAX) headerOffset = take();
        }
        e += 4 + len;
      }
      if (flags & 1) fail(`entry "${name}" is encrypted`);
      if (method !== 0) {
        fail(
          `entry "${name}" is compressed (method ${method}); only stored entries are read, as torch.save writes them ` +
            '(re-save the checkpoint with torch.save, or convert it to safetensors)',
        );
      }
      if (compressed !== size) fail(`entry "${name}" is stored but its sizes differ (${compressed} vs ${size})`);
      if (!(headerOffset + 30 + size <= source.size)) {
        fail(`entry "${name}" ([${headerOffset}, +${size})) runs past the end (${source.size} bytes)`);
      }
      entries.push({ name, size, headerOffset });
      p = end;
    }
    return new ZipArchive(source, entries);
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  entry(name: string): ZipEntry {
    const e = this.#byName.get(name);
    if (!e) throw new ZipError(`${this.source.name}: the archive has no entry "${name}"`);
    return e;
  }

  /** The bytes of entry `name` (a fresh copy). */
  async read(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    const file = this.source.name;
    const head = await this.source.read(e.headerOffset, 30);
    const hv = new DataView(head.buffer, head.byteOffset, head.byteLength);
    if (hv.getUint32(0, true) !== LOCAL_SIGNATURE) {
      throw new ZipError(`${file}: entry "${name}": no local header at byte ${e.headerOffset}`);
    }
    const dataStart = e.headerOffset + 30 + hv.getUint16(26, true) + hv.getUint16(28, true);
    if (!(dataStart + e.size <= this.source.size)) {
      throw new ZipError(`${file}: entry "${name}": its data [${dataStart}, +${e.size}) runs past the end`);
    }
    return this.source.read(dataStart, e.size);
  }
}
