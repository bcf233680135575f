/// <reference types="@webgpu/types" />
/**
 * Reuse of storage buffers by size class. A freed buffer is only "retired" until the
 * commands that use it have been submitted; then it joins the pool, so a buffer taken
 * from the pool never has unsubmitted work pending on it (queue.writeBuffer into it is
 * ordered after every use). The pool is bounded in bytes; the oldest buffers go first.
 */

/** Storage buffers can be bound, copied from (reads) and written (uploads, copies). */
export const STORAGE_USAGE = 128 | 4 | 8; // STORAGE | COPY_SRC | COPY_DST

/** Size classes: powers of two split in quarters, so at most 25% is wasted (256 B minimum). */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  const p = 2 ** Math.floor(Math.log2(bytes));
  const step = Math.max(p / 4, 256);
  return Math.ceil(bytes / step) * step;
}

export class BufferPool {
  readonly #free = new Map<number, GPUBuffer[]>();
  /** Insertion order is age order: Map iteration gives the oldest first. */
  readonly #ages = new Map<GPUBuffer, number>();
  #pooledBytes = 0;
  #created = 0;
  #reused = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxPooledBytes: number,
  ) {}

  /** A buffer of at least `bytes`, from the pool when one of its class is free. */
  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.#free.get(size);
    const reused = list?.pop();
    if (reused) {
      this.#ages.delete(reused);
      this.#pooledBytes -= size;
      this.#reused++;
      return reused;
    }
    this.#created++;
    return this.device.createBuffer({ size, usage: STORAGE_USAGE, label: `eai-${size}` });
  }

  /** Buffers whose work has been submitted come back here. */
  release(buffers: readonly GPUBuffer[]): void {
    for (const b of buffers) {
      const size = b.size;
      let list = this.#free.get(size);
      if (!list) {
        list = [];
        this.#free.set(size, list);
      }
      list.push(b);
      this.#ages.set(b, size);
      this.#pooledBytes += size;
    }
    for (const [b, size] of this.#ages) {
      if (this.#pooledBytes <= this.maxPooledBytes) break;
      this.#ages.delete(b);
      const list = this.#free.get(size)!;
      list.splice(list.indexOf(b), 1);
      this.#pooledBytes -= size;
      // destroy() waits for submitted work that still uses the buffer.
      b.destroy();
    }
  }

  stats(): { pooledBytes: number; created: number; reused: number } {
    return { pooledBytes: this.#pooledBytes, created: this.#created, reused: this.#reused };
  }

  clear(): void {
    for (const b of this.#ages.keys()) b.destroy();
    this.#ages.clear();
    this.#free.clear();
    this.#pooledBytes = 0;
  }
}
