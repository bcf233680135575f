/**
 * `bench:sd`: Stable Diffusion on the CPU backends against PyTorch.
 *
 * 1. One UNet step at SD 1.5's real shapes (./sd-unet.ts: generated weights, latents [2, 4, 64, 64], 77
 *    tokens) per backend and thread count, each in its own process (./sd-step-child.ts) so its max RSS is its
 *    own; PyTorch CPU (Debian's python3-torch, ./peers/torch_sd_unet.py) over the same weights and inputs, in
 *    the same run. Every output is compared with PyTorch's.
 * 2. The whole tiny-sd img2img per backend, in this process: latency, peak tensor memory, the same result on
 *    every run, and agreement across backends (mean |Δ| on the 0..255 scale, issue 12's target ≤ 1).
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as T from '../index.js';
import { repoRoot } from '../node/paths.js';
import { makeRecord, measure } from './harness.js';
import { machineInfo } from './machine.js';
import { withPeakTensorBytes } from './peak-memory.js';
import type { BenchRecord, BenchReport, UnavailableBackend } from './record.js';
import type { StepChildResult } from './sd-step-child.js';
import { SD15_STEP, SD15_UNET_CONFIG } from './sd-unet.js';
import { summarize } from './stats.js';
import { backendStatus, fallbackNotes } from './toolkit.js';

/** The peer's interpreter: Debian's python3 (python3-torch), not a pyenv shim without torch. */
export const PEER_PYTHON = '/usr/bin/python3';
/** Debian's libopenblas0-pthread. */
const OPENBLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-pthread';

/**
 * The peer's environment: this machine sets OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for old-OpenBLAS safety,
 * which selects a slower kernel, so both are unset for the peer only; OpenBLAS stays at one thread under
 * torch's own threads; glibc keeps large blocks in its heap (no mmap/munmap per activation); OPENBLAS_VERBOSE
 * makes OpenBLAS name the kernel it picked.
 */
export function peerEnv(base: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; described: string } {
  const env = { ...base };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  env.OPENBLAS_NUM_THREADS = '1';
  // Debian's torch calls whatever libblas.so.3 the alternatives pick: ask for OpenBLAS by path where it exists.
  if (existsSync(OPENBLAS_DIR)) env.LD_LIBRARY_PATH = [OPENBLAS_DIR, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  env.OPENBLAS_VERBOSE = '2';
  env.GLIBC_TUNABLES = 'glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=1073741824';
  return {
    env,
    described:
      'env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OPENBLAS_VERBOSE=2 ' +
      (existsSync(OPENBLAS_DIR) ? `LD_LIBRARY_PATH=${OPENBLAS_DIR} ` : '') +
      `GLIBC_TUNABLES=${env.GLIBC_TUNABLES}`,
  };
}

export interface SdSuiteOptions {
  /** Backends for the UNet step (js and CPU-emulated WebGPU take hours at these shapes: refused with why). */
  readonly backends: readonly T.BackendName[];
  readonly threads: readonly number[];
  readonly runs: number;
  readonly warmup: number;
  readonly seed: number;
  /** Skip the PyTorch peer. */
  readonly noPeer: boolean;
  /** A diffusers UNet config in place of SD 1.5's (tests use a small one); the latent side is its sample_size. */
  readonly unetConfig?: object;
  /** tiny-sd img2img per backend; empty: skipped. */
  readonly img2img: { readonly backends: readonly T.BackendName[]; readonly size: number; readonly steps: number };
  readonly img2imgRuns: number;
  /** The compiled child script (dist/bench/sd-step-child.js). */
  readonly childScript: string;
  readonly command: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (what: string) => void;
}

/** Run `cmd args` to completion; stdout's last line parsed as JSON. */
async function runJson<R>(
  cmd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<{ result: R; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], signal });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) {
        reject(
          new Error(
            `${cmd} ${args.slice(0, 2).join(' ')} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`,
          ),
        );
        return;
      }
      try {
        resolve({ result: JSON.parse(last) as R, stderr: err });
      } catch {
        reject(new Error(`${cmd}: no JSON result on stdout (${last.slice(0, 200)})`));
      }
    });
  });
}

async function readF32(path: string): Promise<Float32Array> {
  const b = await readFile(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function agreement(ours: Float32Array, peer: Float32Array): { max: number; scale: number } {
  let max = 0;
  let scale = 0;
  for (let i = 0; i < peer.length; i++) {
    const d = Math.abs(ours[i] - peer[i]);
    max = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(max, d);
    scale = Math.max(scale, Math.abs(peer[i]));
  }
  return { max, scale };
}

interface PeerResult {
  readonly samples: number[];
  readonly warmup: number;
  readonly maxRssBytes: number;
  readonly torch: string;
  readonly threads: number;
  readonly interopThreads: number;
  readonly blas: string[];
  readonly parameters: number;
}

const GB = 1e9;
/** The note prefix of a UNet output's agreement with PyTorch's. */
const AGREEMENT = 'output vs pytorch';

/** Measure; never throws for one runtime's failure (it is listed as unavailable with the reason). */
export async function runSdSuite(options: SdSuiteOptions): Promise<BenchReport> {
  const machine = machineInfo();
  const records: BenchRecord[] = [];
  const unavailable: UnavailableBackend[] = [];
  const notes: string[] = [];
  const config = options.unetConfig ?? SD15_UNET_CONFIG;
  const configArg = options.unetConfig ? [JSON.stringify(options.unetConfig)] : [];
  const latent = (config as { sample_size?: number }).sample_size ?? SD15_STEP.latent;
  const shape = `UNet step: latents [${SD15_STEP.batch},4,${latent},${latent}], text [${SD15_STEP.batch},${SD15_STEP.tokens},D], t=${SD15_STEP.timestep}`;
  const op = options.unetConfig ? 'unet-step (small config)' : 'sd15-unet-step';
  const dir = await mkdtemp(join(tmpdir(), 'eai-bench-sd-'));
  try {
    if (!existsSync(options.childScript)) {
      throw new Error(`${options.childScript} is missing: run npm run build first`);
    }
    options.onProgress?.('generating weights');
    const written = await runJson<{ parameters: number }>(
      process.execPath,
      [options.childScript, 'write', dir, String(options.seed), ...configArg],
      process.env,
      options.signal,
    );
    notes.push(
      `UNet: ${options.unetConfig ? 'a small test config' : 'SD 1.5 (runwayml/stable-diffusion-v1-5 unet/config.json)'}, ${(written.result.parameters / 1e6).toFixed(1)} M parameters, seeded random weights (bench/sd-unet.ts), float32.`,
      "Each UNet-step measurement runs in its own process; peak memory is that process's max RSS (getrusage): weights, inputs, activations and the runtime itself.",
    );
    const stepTargets: { label: string; out: string; record: BenchRecord }[] = [];
    for (const backend of options.backends) {
      const status = await backendStatus(backend);
      if (!status.available) {
        unavailable.push({ backend, reason: status.reason });
        continue;
      }
      if (backend === 'js' || (backend === 'webgpu' && status.adapter?.emulated !== false)) {
        unavailable.push({
          backend,
          reason:
            backend === 'js'
              ? 'js (float64 reference loops) would take hours at these shapes: not run'
              : 'WebGPU here is CPU-emulated (SwiftShader): hours per step, and not GPU speed: not run',
        });
        continue;
      }
      for (const threads of backend === 'webgpu' ? [0] : options.threads) {
        options.signal?.throwIfAborted();
        options.onProgress?.(`UNet step on ${backend}${threads ? ` ${threads}t` : ''}`);
        const out = join(dir, `out-${backend}-${threads}.f32`);
        try {
          const { result: r } = await runJson<StepChildResult>(
            process.execPath,
            [
              options.childScript,
              'step',
              backend,
              String(threads || 1),
              String(options.runs),
              String(options.warmup),
              String(options.seed),
              out,
              ...configArg,
            ],
            process.env,
            options.signal,
          );
          const m = { samples: r.samples, warmup: r.warmup, runs: r.samples.length };
          const record = makeRecord(
            {
              suite: 'sd',
              op,
              size: latent,
              shape,
              backend,
              kind: 'toolkit',
              threads: r.threads,
              dtype: 'f32',
              flops: null,
              machine,
              adapter: status.adapter,
              fallbacks: r.fallbacks ?? [],
              notes: [
                `peak tensor memory ${(r.peakTensorBytes / GB).toFixed(2)} GB`,
                ...(r.threadNote ? [r.threadNote] : []),
                ...fallbackNotes(r.fallbacks ?? []),
              ],
            },
            { ...m, stats: summarize(r.samples) },
          );
          const withMem = { ...record, peakMemoryBytes: r.maxRssBytes };
          records.push(withMem);
          stepTargets.push({ label: `${backend} ${r.threads ?? ''}t`, out, record: withMem });
        } catch (err) {
          unavailable.push({ backend: `${backend} ${threads}t`, reason: (err as Error).message });
        }
      }
    }
    if (!options.noPeer) {
      const script = join(repoRoot(), 'bench', 'peers', 'torch_sd_unet.py');
      const { env, described } = peerEnv(process.env);
      for (const threads of options.threads) {
        options.signal?.throwIfAborted();
        options.onProgress?.(`PyTorch ${threads}t`);
        const out = join(dir, `out-torch-${threads}.f32`);
        try {
          const { result: r, stderr } = await runJson<PeerResult>(
            PEER_PYTHON,
            [script, dir, String(threads), String(options.runs), String(options.warmup), out],
            env,
            options.signal,
          );
          // OPENBLAS_VERBOSE=2 makes a DYNAMIC_ARCH OpenBLAS print the core it picked; the peer also asks it.
          const core = /Core:\s*(\S+)/.exec(stderr)?.[1];
          const record = makeRecord(
            {
              suite: 'sd',
              op,
              size: latent,
              shape,
              backend: `pytorch ${r.torch}`,
              kind: 'peer',
              threads: r.threads,
              dtype: 'f32',
              flops: null,
              machine,
              adapter: null,
              notes: [
                `${r.blas.join('; ')}${core ? `; OPENBLAS_VERBOSE: Core ${core}` : ''}; interop threads ${r.interopThreads}`,
                `run as: ${described} ${PEER_PYTHON} bench/peers/torch_sd_unet.py`,
              ],
            },
            { samples: r.samples, warmup: r.warmup, runs: r.samples.length, stats: summarize(r.samples) },
          );
          records.push({ ...record, peakMemoryBytes: r.maxRssBytes });
          const peer = await readF32(out);
          for (const t of stepTargets) {
            const i = records.indexOf(t.record);
            if (i < 0 || records[i].notes.some((n) => n.startsWith(AGREEMENT))) continue;
            const d = agreement(await readF32(t.out), peer);
            // float32 both sides, different summation orders: the same computation within 1e-3 of the scale.
            const tolerance = 1e-3 * Math.max(d.scale, 1);
            records[i] = {
              ...records[i],
              notes: [
                ...records[i].notes,
                `${AGREEMENT} ${r.threads}t: max |Δ| ${d.max.toExponential(1)} of max |y| ${d.scale.toFixed(2)} (${d.max <= tolerance ? 'within' : 'OVER'} ${tolerance.toExponential(0)})`,
              ],
            };
          }
        } catch (err) {
          unavailable.push({ backend: `pytorch ${threads}t`, reason: (err as Error).message });
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  if (options.img2img.backends.length > 0) {
    await img2imgRecords(options, machine, records, unavailable, notes);
  }
  return { suite: 'sd', command: options.command, machine, records, unavailable, notes };
}

async function img2imgRecords(
  options: SdSuiteOptions,
  machine: ReturnType<typeof machineInfo>,
  records: BenchRecord[],
  unavailable: UnavailableBackend[],
  notes: string[],
): Promise<void> {
  const { loadStableDiffusion } = await import('../models/sd/load.js');
  const { StableDiffusion } = await import('../models/sd/pipeline.js');
  const { diskFolder } = await import('../node/io/model-folder.js');
  const { defaultModelsDir } = await import('../node/paths.js');
  const { seededData } = await import('./harness.js');
  const models = defaultModelsDir();
  if (!models || !existsSync(join(models, 'tiny-sd'))) {
    unavailable.push({ backend: 'img2img', reason: 'tiny-sd not found (EAI_MODELS_DIR)' });
    return;
  }
  const { size, steps } = options.img2img;
  const strength = 0.6;
  const sd = new StableDiffusion(await loadStableDiffusion(await diskFolder(join(models, 'tiny-sd'))));
  const pixels = Float32Array.from(seededData(3 * size * size, options.seed), (v) => 127.5 + 127.5 * v);
  const outputs = new Map<string, Float32Array>();
  const previous = T.getBackendName();
  notes.push(
    `img2img: tiny-sd, ${size}×${size}, DDIM ${steps} steps at strength ${strength} (${Math.floor(steps * strength)} denoising steps), guidance 7.5, seed ${options.seed}; peak memory = live tensor bytes (in-process).`,
  );
  try {
    for (const backend of options.img2img.backends) {
      options.signal?.throwIfAborted();
      const status = await backendStatus(backend);
      if (!status.available) {
        unavailable.push({ backend: `img2img ${backend}`, reason: status.reason });
        continue;
      }
      options.onProgress?.(`tiny-sd img2img on ${backend}`);
      await T.setBackend(backend);
      const image = T.tensor(pixels, [1, 3, size, size]);
      const runOnce = async (): Promise<Float32Array> => {
        const r = await sd.generate({
          prompt: 'a watercolor painting of a lighthouse',
          image,
          steps,
          strength,
          guidance: 7.5,
          seed: options.seed,
          signal: options.signal,
        });
        const px = Float32Array.from(await r.image.data(), (v) => 255 * v);
        r.image.dispose();
        return px;
      };
      const seen: Float32Array[] = [];
      const { result: m, peakBytes } = await withPeakTensorBytes(() =>
        measure(
          async () => {
            seen.push(await runOnce());
          },
          { runs: options.img2imgRuns, warmup: 1 },
        ),
      );
      image.dispose();
      const deterministic = seen.every((s) => s.every((v, i) => v === seen[0][i]));
      outputs.set(backend, seen[0]);
      const ref = outputs.values().next().value as Float32Array;
      let sum = 0;
      for (let i = 0; i < ref.length; i++) sum += Math.abs(ref[i] - seen[0][i]);
      const meanDelta = sum / ref.length;
      const first = [...outputs.keys()][0];
      records.push({
        ...makeRecord(
          {
            suite: 'sd',
            op: 'tiny-sd img2img',
            size,
            shape: `[1,3,${size},${size}], ${steps} steps × ${strength}`,
            backend,
            kind: 'toolkit',
            threads: status.threads,
            dtype: 'f32',
            flops: null,
            machine,
            adapter: status.adapter,
            notes: [
              `${deterministic ? 'identical' : 'DIFFERENT'} output on every run (${seen.length})`,
              ...(backend === first
                ? []
                : [
                    `mean |Δ| vs ${first} ${meanDelta.toPrecision(2)} on 0..255 (target ≤ 1: ${meanDelta <= 1 ? 'met' : 'NOT met'})`,
                  ]),
              ...(status.adapter?.emulated ? ['CPU-emulated WebGPU adapter: not GPU speed'] : []),
            ],
          },
          m,
        ),
        peakMemoryBytes: peakBytes,
      });
    }
  } finally {
    sd.dispose();
    await T.setBackend(previous);
  }
}

/** The bench:sd table for RESULTS.md and the terminal. */
export function sdSummary(report: BenchReport): string {
  const peers = report.records.filter((r) => r.kind === 'peer' && r.op === report.records[0]?.op);
  const lines = [
    '| case | runtime | threads | runs (+warm-up) | median s | min s | peak memory GB | time vs PyTorch (same threads) | output vs PyTorch |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of report.records) {
    const peer = peers.find((p) => p.threads === r.threads && p !== r && r.op === p.op);
    const ratio = peer ? (r.medianMs / peer.medianMs).toFixed(2) : '';
    const check = r.notes.find((n) => n.startsWith(AGREEMENT))?.replace(/^output vs pytorch \d+t: /, '') ?? '';
    const mem = r.peakMemoryBytes === undefined ? '' : (r.peakMemoryBytes / GB).toFixed(2);
    const memRatio =
      peer?.peakMemoryBytes && r.peakMemoryBytes ? ` (${(r.peakMemoryBytes / peer.peakMemoryBytes).toFixed(2)}×)` : '';
    lines.push(
      `| ${r.op} | ${r.backend} | ${r.threads ?? '—'} | ${r.runs} (+${r.warmup}) | ${(r.medianMs / 1000).toFixed(2)} | ${(r.minMs / 1000).toFixed(2)} | ${mem}${memRatio} | ${ratio ? `${ratio}×` : ''} | ${check} |`,
    );
  }
  return lines.join('\n');
}
