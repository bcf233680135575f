/**
 * The allocator for storages inside the wasm memory. It lives on the JS side (kernels never
 * allocate), so worker threads need no locks: only the main thread allocates and frees, and
 * kernels only read and write blocks they were handed.
 *
 * Blocks are 64-byte aligned (a cache line: threads writing neighbouring outputs do not share
 * lines, and every SIMD access is aligned). Free blocks sit in an address-sorted list and are
 * coalesced with their neighbours; a request takes the best fit, else bumps the top, growing
 * the memory when the top passes its end.
 */
import { BackendError } from '../../core/errors.js';

export const ALIGN = 64;

export interface HeapStats {
  /** Bytes in live blocks (rounded up to the alignment). */
  readonly used: number;
  /** Bytes in free blocks below the top. */
  readonly free: number;
  readonly peak: number;
  readonly blocks: number;
  /** End of the highest block ever handed out: where fresh allocations start. */
  readonly top: number;
}

export interface HeapOptions {
  /** First usable byte (after the module's static data). */
  readonly base: number;
  /** Current end of memory in bytes. */
  readonly end: () => number;
  /** Grow memory so that it ends at or after `bytes`; false when it cannot. */
  readonly growTo: (bytes: number) => boolean;
  /** Largest memory the heap may grow to, for error messages. */
  readonly maxBytes: number;
}

function roundUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

export class Heap {
  readonly #options: HeapOptions;
  /** Address-sorted free blocks below the top. */
  readonly #freeStarts: number[] = [];
  readonly #freeSizes: number[] = [];
  readonly #live = new Map<number, number>();
  #top: number;
  #used = 0;
  #peak = 0;

  constructor(options: HeapOptions) {
    this.#options = options;
    this.#top = roundUp(options.base);
  }

  /** A block of at least `bytes` bytes (≥ 1), 64-byte aligned. */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) {
      throw new BackendError(`wasm heap: cannot allocate ${bytes} bytes (expected a non-negative integer)`);
    }
    const size = roundUp(Math.max(bytes, 1));
    const ptr = this.#takeFree(size) ?? this.#bump(size);
    this.#live.set(ptr, size);
    this.#used += size;
    this.#peak = Math.max(this.#peak, this.#used);
    return ptr;
  }

  free(ptr: number): void {
    const size = this.#live.get(ptr);
    if (size === undefined)
      throw new BackendError(`wasm heap: free of ${ptr}, which is not a live block (double free?)`);
    this.#live.delete(ptr);
    this.#used -= size;
    this.#insertFree(ptr, size);
  }

  /** Size of a live block (as rounded), or undefined. */
  sizeOf(ptr: number): number | undefined {
    return this.#live.get(ptr);
  }

  stats(): HeapStats {
    let free = 0;
    for (const s of this.#freeSizes) free += s;
    return { used: this.#used, free, peak: this.#peak, blocks: this.#live.size, top: this.#top };
  }

  #takeFree(size: number): number | undefined {
    let best = -1;
    for (let i = 0; i < this.#freeSizes.length; i++) {
      const s = this.#freeSizes[i];
      if (s >= size && (best < 0 || s < this.#freeSizes[best])) {
        best = i;
        if (s === size) break;
      }
    }
    if (best < 0) return undefined;
    const ptr = this.#freeStarts[best];
    const rest = this.#freeSizes[best] - size;
    if (rest > 0) {
      this.#freeStarts[best] = ptr + size;
      this.#freeSizes[best] = rest;
    } else {
      this.#freeStarts.splice(best, 1);
      this.#freeSizes.splice(best, 1);
    }
    return ptr;
  }

  #bump(size: number): number {
    // Free blocks never touch the top (freeing merges them into it), so fresh space starts there.
    const start = this.#top;
    const end = start + size;
    if (end > this.#options.end() && !this.#options.growTo(end)) {
      const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
      throw new BackendError(
        `wasm backend: out of memory allocating ${mib(size)} (${mib(this.#used)} in ${this.#live.size} live blocks, ` +
          `memory limit ${mib(this.#options.maxBytes)}); dispose tensors you no longer need (tidy()), use smaller ` +
          'batches, or use the native backend for larger models',
      );
    }
    this.#top = end;
    return start;
  }

  #insertFree(ptr: number, size: number): void {
    const starts = this.#freeStarts;
    const sizes = this.#freeSizes;
    // Binary search for the first free block after ptr.
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] < ptr) lo = mid + 1;
      else hi = mid;
    }
    let start = ptr;
    let end = ptr + size;
    let at = lo;
    if (at > 0 && starts[at - 1] + sizes[at - 1] === start) {
      at--;
      start = starts[at];
      starts.splice(at, 1);
      sizes.splice(at, 1);
    }
    if (at < starts.length && starts[at] === end) {
      end += sizes[at];
      starts.splice(at, 1);
      sizes.splice(at, 1);
    }
    if (end === this.#top) {
      // Give the space back to the top so the next large request starts low.
      this.#top = start;
      return;
    }
    starts.splice(at, 0, start);
    sizes.splice(at, 0, end - start);
  }
}
