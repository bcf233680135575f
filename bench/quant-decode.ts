/**
 * Decode-shaped quantized matmul: one token (x [1, K]) against the weight shapes of a ~110M
 * Llama layer (768×768 attention, 2048×768 MLP, 32000×768 output head), f32 matmul (x · Wᵀ, as a
 * Linear runs it) against 8- and 4-bit quantizedMatmul at group 64. A decode step reads every
 * weight once, so the figure of merit is weight bytes streamed per second: packed words plus
 * the f32 scales and biases for the quantized ones. Beside them, in the same process: the
 * read bandwidth of a large native `sum` (the memory-bound ceiling on this machine).
 */
import {
  type BackendName,
  dispose,
  getBackendName,
  initBackend,
  matmul,
  type QuantizedWeight,
  quantize,
  quantizedMatmul,
  setBackend,
  sum,
  type Tensor,
  tensor,
} from '../index.js';
import { measure, NOISY_P90_RATIO, seededData } from './harness.js';
import { describeMachine, machineInfo } from './machine.js';
import type { MachineInfo } from './record.js';
import type { Stats } from './stats.js';

/** [N, K] of the weights: 768×768 (q, k, v, o), 2048×768 (MLP up/gate), 32000×768 (the output head). */
export const DECODE_SHAPES: readonly (readonly [number, number])[] = [
  [768, 768],
  [2048, 768],
  [32000, 768],
];

export const QUANT_GROUP = 64;

export type DecodeKind = 'f32' | 'q8' | 'q4';

export interface DecodeRow {
  readonly backend: BackendName;
  readonly n: number;
  readonly k: number;
  readonly kind: DecodeKind;
  /** Weight bytes one product reads: N·K·4 for f32; packed words + f32 scales and biases otherwise. */
  readonly bytes: number;
  readonly stats: Stats;
  /** bytes ÷ median time. */
  readonly gbPerS: number;
  /** f32 median ÷ this median on the same backend and shape (above 1: faster than f32). */
  readonly speedup: number;
}

export interface DecodeReport {
  readonly machine: MachineInfo;
  readonly runs: number;
  readonly warmup: number;
  /** GB/s of a native `sum` over 256 MiB of f32: a read-bandwidth ceiling (null when native was not asked for or is missing). */
  readonly readBandwidth: number | null;
  readonly rows: readonly DecodeRow[];
}

export interface DecodeOptions {
  readonly backends: readonly BackendName[];
  readonly runs: number;
  readonly warmup: number;
  readonly shapes?: readonly (readonly [number, number])[];
}

/** Bytes a product reads from a weight [n, k] stored as `kind`. */
export function weightBytes(kind: DecodeKind, n: number, k: number): number {
  if (kind === 'f32') return n * k * 4;
  const bits = kind === 'q8' ? 8 : 4;
  return (n * k * bits) / 8 + 2 * n * (k / QUANT_GROUP) * 4;
}

async function timed(run: () => Tensor, runs: number, warmup: number): Promise<Stats> {
  const m = await measure(
    () => {
      run().dispose();
    },
    { runs, warmup },
  );
  return m.stats;
}

async function readBandwidth(runs: number): Promise<number | null> {
  try {
    await setBackend('native');
  } catch {
    return null;
  }
  const n = 64 * 2 ** 20;
  const x = tensor(seededData(n, 7), [n]);
  try {
    const stats = await timed(() => sum(x), runs, 2);
    return (n * 4) / stats.median / 1e6;
  } finally {
    x.dispose();
  }
}

export async function runDecodeBench(o: DecodeOptions): Promise<DecodeReport> {
  const previous = getBackendName();
  const rows: DecodeRow[] = [];
  try {
    for (const backend of o.backends) {
      await initBackend(backend);
      await setBackend(backend);
      for (const [n, k] of o.shapes ?? DECODE_SHAPES) {
        const w = tensor(seededData(n * k, 1), [n, k]);
        const x = tensor(seededData(k, 2), [1, k]);
        const quantized: Record<'q8' | 'q4', QuantizedWeight> = {
          q8: quantize(w, { bits: 8, groupSize: QUANT_GROUP }),
          q4: quantize(w, { bits: 4, groupSize: QUANT_GROUP }),
        };
        try {
          const runs: Record<DecodeKind, () => Tensor> = {
            f32: () => matmul(x, w, { transposeB: true }),
            q8: () => quantizedMatmul(x, quantized.q8),
            q4: () => quantizedMatmul(x, quantized.q4),
          };
          let f32Median = 0;
          for (const kind of ['f32', 'q8', 'q4'] as const) {
            const stats = await timed(runs[kind], o.runs, o.warmup);
            if (kind === 'f32') f32Median = stats.median;
            const bytes = weightBytes(kind, n, k);
            rows.push({
              backend,
              n,
              k,
              kind,
              bytes,
              stats,
              gbPerS: bytes / stats.median / 1e6,
              speedup: f32Median / stats.median,
            });
          }
        } finally {
          dispose([w, x, ...Object.values(quantized).flatMap((q) => [q.weight, q.scales, q.biases])]);
        }
      }
    }
    const bandwidth = o.backends.includes('native') ? await readBandwidth(o.runs) : null;
    return { machine: machineInfo(), runs: o.runs, warmup: o.warmup, readBandwidth: bandwidth, rows };
  } finally {
    await setBackend(previous);
  }
}

/** The report as a Markdown table with the machine, the method and the command that made it. */
export function decodeMarkdown(r: DecodeReport, command: string): string {
  const noisy = r.rows.filter((row) => row.stats.p90 > NOISY_P90_RATIO * row.stats.median);
  const lines = [
    `Reproduce: \`${command}\``,
    '',
    `Machine: ${describeMachine(r.machine)}, ${r.machine.date}.`,
    `Median of ${r.runs} timed runs after ${r.warmup} warm-up runs; x is one token [1, K]; group size ${QUANT_GROUP}, f32 scales and biases.`,
    r.readBandwidth === null
      ? 'Read bandwidth: not measured (native not asked for, or unavailable).'
      : `Read bandwidth in the same process (native sum over 256 MiB of f32): ${r.readBandwidth.toFixed(1)} GB/s.`,
    '',
    '| backend | weight [N, K] | kind | weight bytes | median ms | p90 ms | GB/s streamed | × f32 |',
    '|---|---|---|---:|---:|---:|---:|---:|',
    ...r.rows.map(
      (row) =>
        `| ${row.backend} | [${row.n}, ${row.k}] | ${row.kind} | ${(row.bytes / 2 ** 20).toFixed(2)} MiB | ` +
        `${row.stats.median.toFixed(3)} | ${row.stats.p90.toFixed(3)} | ${row.gbPerS.toFixed(2)} | ${row.speedup.toFixed(2)} |`,
    ),
  ];
  if (noisy.length > 0) {
    lines.push(
      '',
      `Noisy (p90 over ${NOISY_P90_RATIO}× the median): ${noisy.map((row) => `${row.backend} [${row.n}, ${row.k}] ${row.kind}`).join(', ')}.`,
    );
  }
  return lines.join('\n');
}
