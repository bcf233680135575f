/**
 * What a benchmark produces: one record per (op, size, backend, threads) measured, and a
 * report that holds the records of one run with the backends that could not take part.
 * Every writer (JSON, Markdown, HTML, RESULTS.md) reads these types and nothing else.
 */
import type { FallbackEntry } from '../core/ledger.js';

export interface MachineInfo {
  /** CPU model as the OS reports it, e.g. `AMD EPYC 7B13`. */
  readonly cpu: string;
  /** Logical cores this process may use. */
  readonly cores: number;
  /** SIMD features the kernels dispatch on, e.g. `avx2 fma avx512f`. */
  readonly cpuFeatures: string;
  readonly os: string;
  readonly arch: string;
  readonly node: string;
  /** 1-minute load average when the run started (0 where the OS has none): a busy machine gives noisy numbers. */
  readonly loadAverage: number;
  /** ISO 8601 time the run started. */
  readonly date: string;
}

/** What every suite (bench:ops, bench:peers, bench:style) takes besides its own measurements. */
export interface SuiteRunOptions {
  /** The command line, recorded so the run can be repeated. */
  readonly command: string;
  readonly signal?: AbortSignal;
  /** Called once the runtimes are probed, with the number of measurements to come (progress bars). */
  readonly onPlan?: (total: number) => void;
  /** Called after each measurement. */
  readonly onMeasured?: (label: string) => void;
  readonly machine?: MachineInfo;
}

/** The WebGPU adapter a result ran on, as the backend's probe described it. */
export interface AdapterInfo {
  readonly description: string;
  readonly vendor: string;
  readonly architecture: string;
  readonly isFallbackAdapter: boolean;
  /** CPU-emulated (a fallback adapter or SwiftShader): its timings say nothing about GPU speed. */
  readonly emulated: boolean;
}

/** The label every output puts beside a CPU-emulated adapter's numbers. */
export const EMULATED_LABEL = 'CPU-emulated — not GPU speed';

/** How far one runtime's output is from a reference runtime's on the same input. */
export interface OutputCheck {
  /** Label of the reference, e.g. `onnxruntime-node 1t`. */
  readonly reference: string;
  /** Largest |output − reference| over all elements, in the output's own units (0..255 for images). */
  readonly maxAbsDiff: number;
  /** The same after both are clamped to 0..255 and rounded, as the saved 8-bit image would be. */
  readonly maxAbsDiff8bit: number;
  /** The largest `maxAbsDiff` that counts as the same computation. */
  readonly tolerance: number;
  readonly ok: boolean;
}

export interface BenchRecord {
  /** `ops`, `peers`, … (the command that measured it). */
  readonly suite: string;
  readonly op: string;
  /** The size parameter of the op (matrix side, image side). */
  readonly size: number;
  /** Operand shapes, e.g. `[1024,1024]x[1024,1024]`. */
  readonly shape: string;
  /** A toolkit backend (`js`, `wasm`, `webgpu`, `native`) or a peer (`onnxruntime-node`, `onnxruntime-web`). */
  readonly backend: string;
  /** Whether `backend` is one of ours or a peer runtime. */
  readonly kind: 'toolkit' | 'peer';
  /** Threads the backend was given; null where the count does not apply or could not be set. */
  readonly threads: number | null;
  readonly dtype: string;
  readonly medianMs: number;
  readonly minMs: number;
  readonly p90Ms: number;
  readonly meanMs: number;
  readonly stddevMs: number;
  /** Floating-point operations of one run, when known. */
  readonly flops: number | null;
  /** GFLOP/s at the median time; null when the FLOP count is unknown. */
  readonly gflops: number | null;
  readonly runs: number;
  readonly warmup: number;
  readonly machine: MachineInfo;
  /** The WebGPU adapter, for results that ran on one; null otherwise. */
  readonly adapter: AdapterInfo | null;
  /** Label of the record this one is compared with (`js`, `onnxruntime-node 2t`), measured in the same run. */
  readonly baseline: string | null;
  /** Baseline median ÷ this median: above 1 means faster than the baseline. */
  readonly ratio: number | null;
  /** Other same-run comparisons, keyed by the other record's label (e.g. thread scaling `native 1t`). */
  readonly ratios: Readonly<Record<string, number>>;
  /** Caveats a reader must see: fewer runs, per-op fallback, emulated adapter, … */
  readonly notes: readonly string[];
  /** Op runs that did not execute on this backend's own kernels while it was measured (the fallback ledger's entries). */
  readonly fallbacks: readonly FallbackEntry[];
  /** Output compared with a reference runtime's (suites that check agreement numerically). */
  readonly check?: OutputCheck;
  /** Most live tensor bytes during the runs (weights, inputs and activations), where measured. */
  readonly peakMemoryBytes?: number;
}

/** A speed target (issue 5's for style transfer), judged on one run's records. */
export interface TargetResult {
  /** e.g. `fastest CPU backend ≤ 1.0× onnxruntime-node's time at 512², 2 threads`. */
  readonly target: string;
  readonly size: number;
  readonly threads: number;
  /** The fastest CPU backend (js, wasm, native) at this thread count, or null when none was measured. */
  readonly runtime: string | null;
  readonly peer: string;
  /** Our median ÷ the peer's median (time: below 1 is faster). */
  readonly timeRatio: number | null;
  /** The most `timeRatio` may be. */
  readonly limit: number;
  /** null: could not be judged (`reason` says why). */
  readonly met: boolean | null;
  readonly reason?: string;
}

export interface UnavailableBackend {
  readonly backend: string;
  readonly reason: string;
}

export interface BenchReport {
  readonly suite: string;
  /** The command line that reproduces the run. */
  readonly command: string;
  readonly machine: MachineInfo;
  readonly records: readonly BenchRecord[];
  /** Backends and peers that were asked for but could not run, with why. */
  readonly unavailable: readonly UnavailableBackend[];
  /** Run-wide remarks (methodology, caps). */
  readonly notes: readonly string[];
  /** Speed targets judged on this run's records (bench:style). */
  readonly targets?: readonly TargetResult[];
}

/** `into` with `more` added: counts of the same (op, kind, from, to, why) summed (rounds measured apart). */
export function addFallbacks(into: readonly FallbackEntry[], more: readonly FallbackEntry[]): FallbackEntry[] {
  const out = into.map((e) => ({ ...e }));
  for (const e of more) {
    const i = out.findIndex(
      (o) => o.op === e.op && o.kind === e.kind && o.from === e.from && o.to === e.to && o.why === e.why,
    );
    if (i >= 0) out[i] = { ...out[i], count: out[i].count + e.count };
    else out.push({ ...e });
  }
  return out;
}

/** `native 2t`, `js`, `onnxruntime-web 1t`: how tables and ratio keys name a record. */
export function recordLabel(r: Pick<BenchRecord, 'backend' | 'threads' | 'kind'>): string {
  const threaded = r.threads !== null && (r.kind === 'peer' || r.backend === 'native' || r.backend === 'wasm');
  return threaded ? `${r.backend} ${r.threads}t` : r.backend;
}

/** The backend cell of a table: the label, plus the emulation warning where it applies. */
export function backendCell(r: BenchRecord): string {
  return r.adapter?.emulated ? `${recordLabel(r)} (${EMULATED_LABEL})` : recordLabel(r);
}

/**
 * Adapter facts from a WebGPU probe's details (backends/webgpu/device.ts describeAdapter).
 * Emulated when the adapter says it is a fallback, SwiftShader names itself, or the probe
 * already judged it emulated (llvmpipe and other software rasterisers).
 */
export function adapterFromDetails(
  details: Readonly<Record<string, string | number | boolean>> | undefined,
): AdapterInfo | null {
  if (!details || typeof details.description !== 'string') return null;
  const text = (key: string): string => (typeof details[key] === 'string' ? (details[key] as string) : '(unknown)');
  const isFallbackAdapter = details.isFallbackAdapter === true;
  const named = [details.description, details.vendor, details.architecture, details.device].join(' ');
  return {
    description: details.description,
    vendor: text('vendor'),
    architecture: text('architecture'),
    isFallbackAdapter,
    emulated: isFallbackAdapter || details.emulated === true || /swiftshader/i.test(named),
  };
}
