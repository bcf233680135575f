/**
 * Freed native output arrays, kept for the next output of the same type and length.
 *
 * A fresh large typed array is zeroed memory the OS maps page by page on first write: a
 * 4 MiB activation costs about a thousand page faults, which on a 1024² matmul or a style
 * network's 128-channel layers is several percent of the op. onnxruntime reuses its arena
 * for the same reason. Small arrays are pooled too: a fresh `new Float32Array(512)` cost 1.6 µs
 * here (allocation plus its share of garbage collection), more than a decode step's small kernels
 * compute, against about 0.15 µs for a reuse. Reused arrays are zeroed again, so a kernel sees exactly what a fresh
 * array would give it. Only arrays that own their whole buffer are kept (never a view into
 * someone else's), and the pool is bounded: the oldest arrays go first when it is full.
 */
import { totalmem } from 'node:os';
import type { TypedArray } from '../../core/dtype.js';

type ArrayCtor = new (length: number) => TypedArray;

export interface PoolStats {
  /** Bytes held for reuse now. */
  readonly bytes: number;
  readonly capBytes: number;
  /** Arrays handed out from the pool / made fresh since the process started (or reset). */
  readonly reused: number;
  readonly fresh: number;
}

/**
 * The default cap: an eighth of the machine's memory, at most 1 GiB. It has to hold a large
 * image's activations (one 32-channel 1536² activation is 302 MB; with a 256 MB cap none were
 * reused and a 1536² style transfer ran about 1.3× slower) without hoarding memory on small machines.
 */
export function defaultPoolCap(totalBytes: number = totalmem()): number {
  return Math.min(1024 * 1024 * 1024, Math.floor(totalBytes / 8));
}

/** EAI_NATIVE_POOL_MB: megabytes the pool may hold (0 turns it off); default defaultPoolCap(). */
export function poolCapFromEnv(env: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env): number {
  const raw = env.EAI_NATIVE_POOL_MB;
  if (raw === undefined || raw.trim() === '') return defaultPoolCap();
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb < 0) {
    throw new RangeError(
      `EAI_NATIVE_POOL_MB='${raw}' is not a size: give megabytes (e.g. 256), or 0 to turn the output pool off`,
    );
  }
  return Math.floor(mb * 1024 * 1024);
}

export class HostArrayPool {
  /** Free arrays by constructor, then by length (no string keys on the per-op path). */
  private readonly lists = new Map<ArrayCtor, Map<number, TypedArray[]>>();
  /** Every pooled array, oldest first (a Set keeps insertion order). */
  private readonly order = new Set<TypedArray>();
  private held = 0;
  private reused = 0;
  private fresh = 0;

  constructor(private readonly capBytes: number) {}

  /**
   * When set, arrays taken with `zero` false are filled with NaN (integers: 0xCD bytes), fresh
   * or reused: a kernel that claims to write its whole output but skips an element then shows
   * it in a test instead of leaking an old tensor's values.
   */
  poison = false;

  /**
   * An array of `length` elements: a pooled one when there is one. Zeroed unless `zero` is
   * false, for kernels that write every element (a reused array then keeps old values).
   */
  take<T extends TypedArray>(ctor: new (length: number) => T, length: number, zero = true): T {
    const list = this.lists.get(ctor)?.get(length);
    let got = list?.pop() as T | undefined;
    if (got) {
      this.order.delete(got);
      this.held -= got.byteLength;
      this.reused++;
      if (zero) got.fill(0);
    } else {
      this.fresh++;
      got = new ctor(length);
    }
    if (!zero && this.poison) got.fill(got instanceof Float32Array || got instanceof Float64Array ? Number.NaN : 0xcd);
    return got;
  }

  /** Keep `data` for reuse. The caller must hold no other reference to it. */
  give(data: TypedArray): void {
    const bytes = data.byteLength;
    if (bytes === 0 || bytes > this.capBytes) return;
    // A view into a larger buffer (or a shared one) is not ours to hand out again.
    if (data.byteOffset !== 0 || data.buffer.byteLength !== bytes || !(data.buffer instanceof ArrayBuffer)) return;
    if (this.order.has(data)) return;
    while (this.held + bytes > this.capBytes) this.evictOldest();
    const list = this.listFor(data.constructor as ArrayCtor, data.length);
    list.push(data);
    this.order.add(data);
    this.held += bytes;
  }

  /** Drop every pooled array (memory goes back to the garbage collector). */
  clear(): void {
    this.lists.clear();
    this.order.clear();
    this.held = 0;
  }

  stats(): PoolStats {
    return { bytes: this.held, capBytes: this.capBytes, reused: this.reused, fresh: this.fresh };
  }

  private listFor(ctor: ArrayCtor, length: number): TypedArray[] {
    let byLength = this.lists.get(ctor);
    if (!byLength) {
      byLength = new Map();
      this.lists.set(ctor, byLength);
    }
    let list = byLength.get(length);
    if (!list) {
      list = [];
      byLength.set(length, list);
    }
    return list;
  }

  private evictOldest(): void {
    const oldest = this.order.values().next().value;
    if (oldest === undefined) return;
    this.order.delete(oldest);
    this.held -= oldest.byteLength;
    const list = this.lists.get(oldest.constructor as ArrayCtor)?.get(oldest.length);
    if (list) list.splice(list.indexOf(oldest), 1);
  }
}
