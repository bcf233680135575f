/**
 * `efficientai-toolkit info`: the machine, the backends (available or why not, with
 * what each plug-in reports), the kernels per backend, fallback counts and live memory.
 */
import type { Availability, BackendName } from '../../core/backend.js';
import type { FallbackEntry } from '../../core/ledger.js';
import { formatBytes } from '../../node/progress.js';
import { type BuiltinHelp, wrap } from '../help.js';
import type { Runtime } from '../runtime.js';
import { type SystemInfo, systemInfo, X86_FEATURES } from '../sysinfo.js';

export const infoHelp: BuiltinHelp = {
  name: 'info',
  summary: 'Show the machine, CPU features, backends, kernels, fallbacks and live memory',
  description:
    'Reports the OS, CPU model and SIMD features, cores and memory, whether this is Apple Silicon, the Node version, ' +
    'and for each backend whether it is available (and why not), what its plug-in reports (adapter, threads, addon), ' +
    'and how many kernels it has. The current backend is the one every command uses: --backend, else the config ' +
    "file's, else auto. " +
    'With --json one JSON object is printed on stdout.',
  examples: ['efficientai-toolkit info', 'efficientai-toolkit info --json', 'efficientai-toolkit info --backend wasm'],
};

export interface BackendReport extends Availability {
  /** Ops this backend has its own kernel for. */
  readonly kernels: readonly string[];
}

export interface InfoReport {
  readonly version: string;
  readonly system: SystemInfo;
  readonly currentBackend: BackendName;
  /** What `--backend auto` would choose. */
  readonly autoBackend: BackendName | null;
  readonly backends: Record<BackendName, BackendReport>;
  /** Every op with a kernel on some backend. */
  readonly ops: readonly string[];
  /** The fallback ledger so far: every run that did not execute on the chosen backend's own kernel. */
  readonly fallbacks: readonly FallbackEntry[];
  readonly memory: ReturnType<Runtime['memory']>;
}

export async function collectInfo(
  runtime: Runtime,
  version: string,
  system: SystemInfo = systemInfo(),
): Promise<InfoReport> {
  const availability = await runtime.backendAvailability();
  const backends = {} as Record<BackendName, BackendReport>;
  for (const name of runtime.BACKEND_NAMES) {
    backends[name] = { ...availability[name], kernels: runtime.kernelNames(name).sort() };
  }
  const ranked = runtime.BACKEND_NAMES.filter((n) => availability[n].available).sort(
    (a, b) => availability[b].autoRank - availability[a].autoRank,
  );
  return {
    version,
    system,
    currentBackend: runtime.getBackendName(),
    autoBackend: ranked[0] ?? null,
    backends,
    ops: runtime.allOpNames(),
    fallbacks: runtime.fallbackLedger(),
    memory: runtime.memory(),
  };
}

function rows(pairs: readonly (readonly [string, string])[], indent = 2): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${' '.repeat(indent)}${k.padEnd(width)}  ${v}`).join('\n');
}

function cpuFeatureLine(s: SystemInfo): string {
  const have = s.cpu.features;
  if (have.length === 0) return `none detected (${s.cpu.featureSource})`;
  const missing = s.cpu.arch === 'arm64' ? [] : X86_FEATURES.filter((f) => !have.includes(f));
  return `${have.join(' ')}${missing.length > 0 ? `; missing: ${missing.join(' ')}` : ''} (${s.cpu.featureSource})`;
}

/** The report as aligned text, wrapped at `width` columns. */
export function formatInfo(r: InfoReport, width = 100): string {
  const s = r.system;
  const apple = s.appleSilicon
    ? s.rosetta
      ? 'yes, but Node runs under Rosetta (x64): install an arm64 Node'
      : 'yes'
    : 'no';
  const system = rows([
    ['OS', `${s.os} (${s.platform})`],
    ['CPU', `${s.cpu.model} (${s.cpu.arch})`],
    ['CPU features', cpuFeatureLine(s)],
    ['Cores', `${s.cpu.cores} logical, ${s.cpu.parallelism} usable`],
    ['Memory', `${formatBytes(s.memory.totalBytes)} total, ${formatBytes(s.memory.freeBytes)} free`],
    ['Apple Silicon', apple],
    ['Node', s.node],
  ]);

  const names = Object.keys(r.backends) as BackendName[];
  const nameWidth = Math.max(...names.map((n) => n.length));
  const backendLines: string[] = [];
  for (const name of names) {
    const b = r.backends[name];
    const marker = name === r.currentBackend ? '*' : ' ';
    const state = b.available ? `available, ${b.kernels.length}/${r.ops.length} kernels` : 'unavailable';
    backendLines.push(`${marker} ${name.padEnd(nameWidth)}  ${state}: ${b.reason}`);
    for (const [k, v] of Object.entries(b.details ?? {}))
      backendLines.push(`  ${' '.repeat(nameWidth)}    ${k}: ${String(v)}`);
  }
  const fallbacks = r.fallbacks.map(
    (f) => [`${f.op} (${f.kind})`, `${f.from} -> ${f.to}, ${f.count}×: ${f.why}`] as const,
  );
  const perBackend = Object.entries(r.memory.backends)
    .filter(([, m]) => m.tensors > 0 || m.bytes > 0)
    .map(([n, m]) => `${n}: ${m.tensors} tensors, ${formatBytes(m.bytes)}`);

  return [
    `efficientai-toolkit ${r.version}`,
    `System\n${system}`,
    `Backends (* current: ${r.currentBackend}; auto picks: ${r.autoBackend ?? 'none'})\n${backendLines.join('\n')}`,
    `Kernels\n${wrap(`${r.ops.length} ops have a kernel on some backend${r.ops.length > 0 ? `: ${r.ops.join(' ')}` : ''}`, width, 2)}`,
    `Fallbacks\n${fallbacks.length === 0 ? '  none so far' : rows(fallbacks)}`,
    `Memory\n  ${r.memory.tensors} live tensors, ${formatBytes(r.memory.bytes)}${perBackend.length > 0 ? ` (${perBackend.join('; ')})` : ''}`,
  ].join('\n\n');
}
