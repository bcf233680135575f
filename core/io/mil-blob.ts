/**
 * MIL blob storage (`weights/weight.bin` of an ML Program; apple/coremltools
 * `mlmodel/src/MILBlob/Blob/StorageFormat.hpp`, `BlobDataType.hpp`, `StorageWriter.cpp`):
 *
 *   storage_header   64 bytes: u32 count, u32 version = 2, 7 × u64 reserved
 *   per blob         at a 64-byte aligned offset: blob_metadata (64 bytes: u32 sentinel 0xDEADBEEF,
 *                    u32 dtype, u64 size in bytes, u64 offset of the data, u64 padding_size_in_bits,
 *                    4 × u64 reserved), then the data, which starts right after its metadata
 *
 * A program refers to a blob by the offset of its metadata. Everything little-endian; gaps are zeros.
 * @module
 */
import { UsageError } from '../errors.js';

/** BlobDataType values. */
export const BLOB_DTYPE = {
  Float16: 1,
  Float32: 2,
  UInt8: 3,
  Int8: 4,
  BFloat16: 5,
  Int16: 6,
  UInt16: 7,
  Int4: 8,
  UInt1: 9,
  UInt2: 10,
  UInt4: 11,
  UInt3: 12,
  UInt6: 13,
  Int32: 14,
  UInt32: 15,
} as const;

export type BlobDType = (typeof BLOB_DTYPE)[keyof typeof BLOB_DTYPE];

export const BLOB_ALIGNMENT = 64;
export const BLOB_SENTINEL = 0xdeadbeef;
const HEADER_BYTES = 64;
const METADATA_BYTES = 64;

/** A malformed weight.bin; the message starts with the file name. */
export class MilBlobError extends UsageError {
  override name = 'MilBlobError';
}

const align = (n: number) => Math.ceil(n / BLOB_ALIGNMENT) * BLOB_ALIGNMENT;

/** Builds a weight.bin in memory: add blobs, then `finish()`. */
export class BlobWriter {
  readonly #chunks: Uint8Array[] = [];
  #size = HEADER_BYTES;
  #count = 0;

  /** Appends one blob; returns the offset of its metadata (what BlobFileValue.offset holds). */
  add(dtype: BlobDType, data: Uint8Array, paddingBits = 0): number {
    const metaAt = align(this.#size);
    if (metaAt > this.#size) this.#chunks.push(new Uint8Array(metaAt - this.#size));
    const meta = new Uint8Array(METADATA_BYTES);
    const v = new DataView(meta.buffer);
    v.setUint32(0, BLOB_SENTINEL, true);
    v.setUint32(4, dtype, true);
    v.setBigUint64(8, BigInt(data.length), true);
    v.setBigUint64(16, BigInt(metaAt + METADATA_BYTES), true);
    v.setBigUint64(24, BigInt(paddingBits), true);
    this.#chunks.push(meta, data);
    this.#size = metaAt + METADATA_BYTES + data.length;
    this.#count++;
    return metaAt;
  }

  get count(): number {
    return this.#count;
  }

  /** The header followed by every blob, as the parts of the file in order. */
  finish(): Uint8Array[] {
    const header = new Uint8Array(HEADER_BYTES);
    const v = new DataView(header.buffer);
    v.setUint32(0, this.#count, true);
    v.setUint32(4, 2, true);
    return [header, ...this.#chunks];
  }
}

export interface Blob {
  readonly dtype: number;
  /** A view of the blob's bytes inside the file's buffer. */
  readonly data: Uint8Array;
  readonly paddingBits: number;
}

/** Reads blobs from a weight.bin held in memory, checking every header it touches. */
export class BlobReader {
  readonly count: number;

  constructor(
    readonly file: string,
    readonly bytes: Uint8Array,
  ) {
    if (bytes.length < HEADER_BYTES) {
      throw new MilBlobError(`${file}: ${bytes.length} bytes, shorter than the 64-byte storage header`);
    }
    const v = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
    const version = v.getUint32(4, true);
    if (version !== 2) throw new MilBlobError(`${file}: storage version ${version}; only version 2 is read`);
    this.count = v.getUint32(0, true);
  }

  /** The blob whose metadata starts at `offset`. */
  read(offset: number): Blob {
    const file = this.file;
    if (!Number.isSafeInteger(offset) || offset < HEADER_BYTES || offset % BLOB_ALIGNMENT !== 0) {
      throw new MilBlobError(`${file}: blob offset ${offset} is not a 64-byte aligned offset past the header`);
    }
    if (offset + METADATA_BYTES > this.bytes.length) {
      throw new MilBlobError(`${file}: blob metadata at ${offset} runs past the end (${this.bytes.length} bytes)`);
    }
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + offset, METADATA_BYTES);
    const sentinel = v.getUint32(0, true);
    if (sentinel !== BLOB_SENTINEL) {
      throw new MilBlobError(
        `${file}: no blob at offset ${offset} (sentinel 0x${sentinel.toString(16)}, expected 0xdeadbeef)`,
      );
    }
    const dtype = v.getUint32(4, true);
    const size = Number(v.getBigUint64(8, true));
    const dataAt = Number(v.getBigUint64(16, true));
    const paddingBits = Number(v.getBigUint64(24, true));
    if (dataAt < offset + METADATA_BYTES || !(dataAt + size <= this.bytes.length)) {
      throw new MilBlobError(
        `${file}: blob at ${offset}: its data [${dataAt}, +${size}) is outside the file (${this.bytes.length} bytes)`,
      );
    }
    if (paddingBits > 7) throw new MilBlobError(`${file}: blob at ${offset}: padding of ${paddingBits} bits`);
    return { dtype, data: this.bytes.subarray(dataAt, dataAt + size), paddingBits };
  }
}
