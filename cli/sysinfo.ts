/**
 * The machine as the backends care about it: OS, CPU model and the SIMD features the
 * native kernels dispatch on (AVX2/FMA/AVX-512/SSE4.2 on x86, NEON on arm64), cores,
 * memory, and whether this is Apple Silicon (Metal, MPS and Core ML paths).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** The features `info` reports, by the names Linux's /proc/cpuinfo uses. */
export const X86_FEATURES = ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512_vnni'] as const;
/** arm64: asimd is NEON; asimdhp half-precision SIMD; asimddp dot product; i8mm int8 matmul. */
export const ARM_FEATURES = ['asimd', 'asimdhp', 'asimddp', 'i8mm', 'sve'] as const;

export interface CpuInfo {
  readonly model: string;
  readonly arch: string;
  /** Logical cores. */
  readonly cores: number;
  /** Threads this process may use (cgroups/affinity aware). */
  readonly parallelism: number;
  /** Present features, e.g. ['avx2', 'fma', 'neon']; empty when they could not be read. */
  readonly features: readonly string[];
  /** Where the features came from, or why they are unknown. */
  readonly featureSource: string;
}

export interface SystemInfo {
  readonly os: string;
  readonly platform: string;
  readonly release: string;
  readonly cpu: CpuInfo;
  readonly memory: { readonly totalBytes: number; readonly freeBytes: number };
  readonly appleSilicon: boolean;
  /** macOS on Apple Silicon running an x64 Node under Rosetta: the native arm64 paths are unused. */
  readonly rosetta: boolean;
  readonly node: string;
}

/** Feature flags from /proc/cpuinfo text (x86 `flags`, arm64 `Features`), in `wanted` order. */
export function parseCpuinfoFlags(text: string, wanted: readonly string[]): string[] {
  const line = text.split('\n').find((l) => /^(flags|Features)\s*:/.test(l));
  if (!line) return [];
  const have = new Set(
    line
      .slice(line.indexOf(':') + 1)
      .trim()
      .split(/\s+/),
  );
  return wanted.filter((f) => have.has(f));
}

/** Feature names from macOS `sysctl machdep.cpu.features machdep.cpu.leaf7_features` (upper case, dotted). */
export function parseSysctlFeatures(text: string, wanted: readonly string[]): string[] {
  const have = new Set(
    text
      .toLowerCase()
      .split(/\s+/)
      .map((f) => (f === 'avx1.0' ? 'avx' : f.replace('.', '_'))),
  );
  // Lowered, sysctl's names match Linux's (FMA, AVX2, AVX512F) except SSE4.2 and AVX1.0.
  return wanted.filter((f) => have.has(f));
}

function sysctl(names: readonly string[]): string | undefined {
  try {
    return execFileSync('sysctl', ['-n', ...names], {
      encoding: 'utf8',
      timeout: 2000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return undefined;
  }
}

function cpuFeatures(platform: string, arch: string): { features: string[]; source: string } {
  const wanted = arch === 'arm64' ? ARM_FEATURES : X86_FEATURES;
  let features: string[] = [];
  let source = 'unknown on this platform';
  if (platform === 'linux') {
    try {
      features = parseCpuinfoFlags(readFileSync('/proc/cpuinfo', 'utf8'), wanted);
      source = '/proc/cpuinfo';
    } catch (err) {
      source = `cannot read /proc/cpuinfo: ${(err as Error).message}`;
    }
  } else if (platform === 'darwin' && arch !== 'arm64') {
    const text = sysctl(['machdep.cpu.features', 'machdep.cpu.leaf7_features']);
    if (text !== undefined) {
      features = parseSysctlFeatures(text, wanted);
      source = 'sysctl machdep.cpu';
    } else source = 'sysctl failed';
  } else if (platform === 'darwin') {
    const dot = sysctl(['hw.optional.arm.FEAT_DotProd'])?.trim() === '1';
    const i8mm = sysctl(['hw.optional.arm.FEAT_I8MM'])?.trim() === '1';
    features = ['asimd', 'asimdhp', ...(dot ? ['asimddp'] : []), ...(i8mm ? ['i8mm'] : [])];
    source = 'sysctl hw.optional.arm';
  }
  // AArch64 mandates Advanced SIMD, so NEON is there even when the OS does not say so.
  if (arch === 'arm64') {
    features = features.filter((f) => f !== 'asimd');
    features.unshift('neon');
  }
  return { features, source };
}

function isRosetta(): boolean {
  return sysctl(['sysctl.proc_translated'])?.trim() === '1';
}

export function systemInfo(): SystemInfo {
  const platform = process.platform;
  const arch = process.arch;
  const cpus = os.cpus();
  const { features, source } = cpuFeatures(platform, arch);
  const rosetta = platform === 'darwin' && arch === 'x64' && isRosetta();
  const model =
    cpus[0]?.model?.trim() ||
    (platform === 'darwin' ? sysctl(['machdep.cpu.brand_string'])?.trim() : undefined) ||
    'unknown';
  return {
    os: `${os.type()} ${os.release()}`,
    platform,
    release: os.release(),
    cpu: {
      model,
      arch,
      cores: cpus.length,
      parallelism: os.availableParallelism(),
      features,
      featureSource: source,
    },
    memory: { totalBytes: os.totalmem(), freeBytes: os.freemem() },
    appleSilicon: platform === 'darwin' && (arch === 'arm64' || rosetta),
    rosetta,
    node: process.version,
  };
}
