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
