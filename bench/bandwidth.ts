/**
 * The machine's memory read bandwidth, measured in this process: a WebAssembly SIMD loop that only loads
 * (four independent f32x4 accumulators, so the adds never limit it) over a buffer far past every cache, on
 * `threads` worker threads sharing one memory, each reading its own slice. This is the bound a decoder that
 * streams every weight once per token cannot beat. Also a plain copy (TypedArray.set) for comparison.
 *
 * The module is 90-odd bytes assembled here (no toolchain at run time): `r(p, n) -> f32` sums the f32 lanes of
 * [p, p + n) in 64-byte steps; its memory is imported (shared) so the workers read one buffer.
 */
import { Worker } from 'node:worker_threads';
import { median } from './stats.js';

function leb(value: number): number[] {
  const out: number[] = [];
  let n = value;
  do {
    let b = n & 127;
    n >>>= 7;
    if (n) b |= 128;
    out.push(b);
  } while (n);
  return out;
}

const hex = (s: string): number[] =>
  s
    .trim()
    .split(/\s+/)
    .map((h) => Number.parseInt(h, 16));

const section = (id: number, bytes: readonly number[]): number[] => [id, ...leb(bytes.length), ...bytes];

/** local.get acc; local.get p; v128.load offset; f32x4.add; local.set acc */
const accumulate = (local: number, offset: number): string =>
  `20 0${local} 20 00 fd 00 04 ${offset.toString(16).padStart(2, '0')} fd e4 01 21 0${local}`;

/** The reader module for a shared memory of `pages` 64 KiB pages. */
export function readerModule(pages: number): Uint8Array<ArrayBuffer> {
  const body = hex(`01 04 7b
    20 00 20 01 6a 21 01
    03 40 ${accumulate(2, 0)} ${accumulate(3, 16)} ${accumulate(4, 32)} ${accumulate(5, 48)}
      20 00 41 c0 00 6a 22 00 20 01 49 0d 00 0b
    20 02 20 03 fd e4 01 20 04 fd e4 01 20 05 fd e4 01 fd 1f 00 0b`);
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...section(1, hex('01 60 02 7f 7f 01 7d')),
    ...section(2, [1, 1, 0x65, 1, 0x6d, 2, 3, ...leb(pages), ...leb(pages)]),
    ...section(3, [1, 0]),
    ...section(7, [1, 1, 0x72, 0, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { module, memory, offset, bytes } = workerData;
const read = new WebAssembly.Instance(module, { e: { m: memory } }).exports.r;
parentPort.on('message', () => {
  const t0 = performance.now();
  const sum = read(offset, bytes);
  parentPort.postMessage({ ms: performance.now() - t0, sum });
});
`;

export interface Bandwidth {
  /** GB/s (10⁹ bytes) read by `threads` threads together. */
  readonly readGBs: number;
  readonly threads: number;
  /** GB/s copied (each byte read once and written once) by one TypedArray.set. */
  readonly copyGBs: number;
  /** Size of the buffer, bytes. */
  readonly bytes: number;
}

/** The median of `runs` timed reads of `bytes` split over `threads` workers, and of `runs` copies. */
export async function measureBandwidth(threads: number, bytes = 256 * 2 ** 20, runs = 7): Promise<Bandwidth> {
  const pages = Math.ceil(bytes / 65536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  new Float32Array(memory.buffer).fill(1);
  const module = new WebAssembly.Module(readerModule(pages));
  const slice = Math.floor(bytes / threads / 64) * 64;
  const workers = Array.from(
    { length: threads },
    (_, i) => new Worker(WORKER, { eval: true, workerData: { module, memory, offset: i * slice, bytes: slice } }),
  );
  const reads: number[] = [];
  try {
    for (let run = 0; run <= runs; run++) {
      const t0 = performance.now();
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once('message', () => resolve());
              w.once('error', reject);
              w.postMessage(null);
            }),
        ),
      );
      if (run > 0) reads.push(performance.now() - t0);
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const source = new Float32Array(bytes / 4).fill(1);
  const target = new Float32Array(bytes / 4);
  const copies: number[] = [];
  for (let run = 0; run <= runs; run++) {
    source[run] = run;
    const t0 = performance.now();
    target.set(source);
    if (run > 0) copies.push(performance.now() - t0);
  }
  const gbs = (b: number, ms: number) => b / (ms * 1e6);
  return { readGBs: gbs(slice * threads, median(reads)), threads, copyGBs: gbs(bytes, median(copies)), bytes };
}
