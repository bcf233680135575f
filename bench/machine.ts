/** The machine a benchmark ran on, named in every record (numbers mean nothing without it). */
import { loadavg } from 'node:os';
import { systemInfo } from '../cli/sysinfo.js';
import type { MachineInfo } from './record.js';

export function machineInfo(date: Date = new Date()): MachineInfo {
  const sys = systemInfo();
  return {
    cpu: sys.cpu.model,
    cores: sys.cpu.parallelism,
    cpuFeatures: sys.cpu.features.join(' ') || 'unknown',
    os: sys.os,
    arch: sys.cpu.arch,
    node: sys.node,
    loadAverage: Math.round(loadavg()[0] * 100) / 100,
    date: date.toISOString(),
  };
}

/** One line naming the machine, for table captions. */
export function describeMachine(m: MachineInfo): string {
  return `${m.cpu}, ${m.cores} core${m.cores === 1 ? '' : 's'} (${m.cpuFeatures}), ${m.os} ${m.arch}, Node ${m.node}, load ${m.loadAverage}`;
}

const SPIN = `
const { parentPort, workerData } = require('node:worker_threads');
const end = Date.now() + workerData.ms;
let x = 0;
while (Date.now() < end) x += Math.sqrt(x + 1);
parentPort.postMessage(x);
`;

/**
 * CPU-seconds per second that `threads` busy threads actually get here: about `threads` on an
 * idle machine, less on a shared or throttled one. Thread-scaling results mean little when
 * this is far below the thread count, so the peers report states it.
 */
export async function measureParallelism(threads: number, ms = 300): Promise<number> {
  const { Worker } = await import('node:worker_threads');
  const before = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<void>((resolve, reject) => {
          const w = new Worker(SPIN, { eval: true, workerData: { ms } });
          w.once('message', () => {
            void w.terminate();
            resolve();
          });
          w.once('error', reject);
        }),
    ),
  );
  const used = process.cpuUsage(before);
  const wall = performance.now() - t0;
  return (used.user + used.system) / 1000 / wall;
}

/**
 * The report line on how many CPU-seconds per second the largest thread count really gets here
 * (null for one thread): thread scaling cannot show on a shared or busy machine, and says so.
 */
export async function parallelismNote(threads: readonly number[]): Promise<string | null> {
  const most = Math.max(...threads);
  if (most <= 1) return null;
  const got = await measureParallelism(most);
  const line = `${most} busy threads got ${got.toFixed(2)} CPU-seconds per second on this machine before the run`;
  return got < 0.85 * most ? `${line}: the machine is shared or busy, so thread scaling cannot show fully here` : line;
}

export interface QuietOptions {
  /** Length of one sampling window, ms. */
  readonly windowMs?: number;
  /** A window is quiet when the process used at most this share of one core in it. */
  readonly maxShare?: number;
  /** Give up waiting after this long, ms. */
  readonly maxWaitMs?: number;
}

export interface QuietResult {
  readonly waitedMs: number;
  /** False when the process was still busy after maxWaitMs. */
  readonly quiet: boolean;
}

/**
 * Wait until this process's threads are idle: the main thread sleeps, so any CPU time used
 * in a window is background work. Runtimes whose thread pools spin after a run (onnxruntime's
 * do, for tens of milliseconds) would otherwise steal cores from whatever runs next.
 */
export async function waitForQuiet(o: QuietOptions = {}): Promise<QuietResult> {
  const windowMs = o.windowMs ?? 5;
  const maxShare = o.maxShare ?? 0.1;
  const maxWaitMs = o.maxWaitMs ?? 500;
  const t0 = performance.now();
  for (;;) {
    const before = process.cpuUsage();
    const w0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const used = process.cpuUsage(before);
    const wall = performance.now() - w0;
    const waitedMs = performance.now() - t0;
    if ((used.user + used.system) / 1000 <= maxShare * wall) return { waitedMs, quiet: true };
    if (waitedMs >= maxWaitMs) return { waitedMs, quiet: false };
  }
}

/** A `settle` hook for runRounds that waits for quiet and counts handovers that never got there. */
export interface QuietHandovers {
  readonly settle: () => Promise<void>;
  /** The line a report's notes carry about the handovers. */
  note(): string;
}

export function quietHandovers(o: QuietOptions = {}): QuietHandovers {
  const maxWaitMs = o.maxWaitMs ?? 500;
  let count = 0;
  let busy = 0;
  let waited = 0;
  return {
    async settle() {
      const q = await waitForQuiet({ ...o, maxWaitMs });
      count++;
      waited += q.waitedMs;
      if (!q.quiet) busy++;
    },
    note() {
      const line = `before each runtime's turn the process waited until its threads were idle (at most ${maxWaitMs} ms; ${(waited / Math.max(1, count)).toFixed(0)} ms on average): onnxruntime's thread pools spin for tens of milliseconds after a run, which would otherwise slow whichever runtime comes next`;
      return busy === 0 ? line : `${line}; ${busy} of ${count} handovers were still busy after ${maxWaitMs} ms`;
    },
  };
}
