/**
 * `bench:style`: the fast-style TransformerNet (a named style's ONNX file from the model
 * registry) at each image size on each toolkit backend, against onnxruntime-node (CPU EP) and
 * onnxruntime-web (wasm) running the same file on the same input at the same thread counts,
 * all in one process, round-robin as bench:peers does. Only the network is timed: a tensor in,
 * the output read back; decoding, resizing and encoding images are not. Every output is
 * compared with onnxruntime-node's, and issue 5's speed targets are judged on the records.
 */
import { loadavg } from 'node:os';
import type { BackendName, Tensor } from '../index.js';
import { getBackendName, setBackend } from '../index.js';
import { TransformerNet } from '../models/fast-style/transformer-net.js';
import { MAX_SIZE, MIN_SIZE } from '../models/styles.js';
import { makeRecord, withBaseline, withRatio } from './harness.js';
import { machineInfo, parallelismNote, quietHandovers } from './machine.js';
import type { OpCase } from './ops.js';
import { JS_SINGLE_RUN_FLOPS } from './ops-suite.js';
import { matmulModel } from './peers/onnx-model.js';
import {
  isUnavailable,
  openOrtNode,
  openOrtWeb,
  type PeerName,
  type PeerRunner,
  type PeerSession,
} from './peers/ort.js';
import {
  type BenchRecord,
  type BenchReport,
  recordLabel,
  type SuiteRunOptions,
  type UnavailableBackend,
} from './record.js';
import { type Contestant, contestant, fromSamples, REWARM, runRounds, splitRuns } from './rounds.js';
import {
  checkOutput,
  loadStyleModel,
  STYLE_TOLERANCE,
  styleInput,
  styleTargets,
  transformerNetFlops,
} from './style.js';
import {
  type BackendStatus,
  backendStatus,
  canSetThreads,
  measureOnBackend,
  OriginalThreads,
  threadedTurns,
} from './toolkit.js';
import { REFERENCE_NOTE } from './writers/markdown.js';

export interface StyleSuiteOptions extends SuiteRunOptions {
  /** Named style (its ONNX file comes from the model registry). */
  readonly style: string;
  /** Image sides (square images), multiples of 4. */
  readonly sizes: readonly number[];
  readonly backends: readonly BackendName[];
  /** Thread counts for native, wasm and the peers. */
  readonly threads: readonly number[];
  /** Timed runs per runtime and size in all, spread over `rounds`. */
  readonly runs: number;
  readonly rounds: number;
  /** Untimed runs per runtime and size, in the first round. */
  readonly warmup: number;
  /** Content image scaled to each size (its central square); null: seeded pixel values. */
  readonly content: string | null;
  readonly seed: number;
  /** Run onnxruntime-node and onnxruntime-web beside the toolkit. */
  readonly peers: boolean;
  /** js is not measured where one forward pass exceeds this many GFLOP; over 0.5 GFLOP it runs once. */
  readonly jsMaxGflop: number;
  /**
   * A CPU-emulated WebGPU adapter is not measured where one forward pass exceeds this many GFLOP
   * (its numbers say nothing about GPU speed, and at 512² one run takes minutes).
   */
  readonly emulatedMaxGflop: number;
  /** Seconds one runtime may spend on one size (warm-ups included); later rounds are then skipped. */
  readonly budgetS: number;
}

/** Checks before anything loads. @throws RangeError naming the bad value and the fix. */
export function checkStyleOptions(o: Pick<StyleSuiteOptions, 'sizes' | 'threads'>): void {
  if (o.sizes.length === 0) throw new RangeError('bench:style: give at least one size (--sizes 256,512)');
  for (const s of o.sizes) {
    if (!Number.isInteger(s) || s < MIN_SIZE || s > MAX_SIZE || s % 4 !== 0) {
      throw new RangeError(
        `bench:style: size ${s} must be a multiple of 4 from ${MIN_SIZE} to ${MAX_SIZE} (the network's output matches its input only at multiples of 4)`,
      );
    }
  }
  if (o.threads.length === 0) throw new RangeError('bench:style: give at least one thread count (--threads 1,2)');
  for (const t of o.threads) {
    if (!Number.isInteger(t) || t < 1) throw new RangeError(`bench:style: thread count ${t} is not a positive integer`);
  }
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

const loadText = (): string =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(' / ');

/** Ratios within one size: each runtime against onnxruntime-node (and -web) at its thread count, and thread scaling. */
export function compareStyle(records: readonly BenchRecord[]): BenchRecord[] {
  const find = (backend: string, threads: number | null): BenchRecord | undefined =>
    records.find((r) => r.backend === backend && r.threads === threads);
  const threaded = records.filter((r) => r.kind === 'peer' || r.backend === 'native' || r.backend === 'wasm');
  const minThreads = Math.min(...threaded.map((r) => r.threads ?? Number.POSITIVE_INFINITY));
  return records.map((r) => {
    let out = r;
    // WebGPU has no thread count to match a peer's; js is single-threaded.
    const t = r.backend === 'js' ? 1 : r.threads;
    if (r.backend !== 'webgpu' && r.backend !== 'onnxruntime-node' && t !== null) {
      out = withBaseline(out, find('onnxruntime-node', t), `onnxruntime-node ${t}t`);
      if (r.kind === 'toolkit') out = withRatio(out, find('onnxruntime-web', t), `onnxruntime-web ${t}t`);
    }
    if (r.backend !== 'js' && r.threads !== null && r.threads > minThreads) {
      const single = find(r.backend, minThreads);
      if (single) out = withRatio(out, single, recordLabel(single));
    }
    return out;
  });
}

interface SizePlan {
  readonly c: OpCase;
  readonly contestants: Contestant[];
}

export async function runStyleSuite(o: StyleSuiteOptions): Promise<BenchReport> {
  checkStyleOptions(o);
  const machine = o.machine ?? machineInfo();
  const loadAtStart = loadText();
  const unavailable: UnavailableBackend[] = [];
  const model = await loadStyleModel(o.style);
  const op = `fast-style:${model.style}`;
  const shares = splitRuns(o.runs, o.rounds);
  const handovers = quietHandovers();
  const notes: string[] = [
    `timed: the network forward only: a [1,3,S,S] f32 tensor (RGB, 0..255) in, the [1,3,S,S] output read back into JS memory; image decoding, resizing, clamping and encoding are not timed`,
    `model: ${model.entry} from the model registry, read from ${model.path} (${model.bytes.length} bytes, sha256 ${model.sha256}), the fast-style TransformerNet for '${model.style}'; every runtime runs these same bytes`,
    `median of ${plural(o.runs, 'timed run')} after ${plural(o.warmup, 'warm-up run')} per runtime and size, taken round-robin in ${plural(shares.length, 'round')} so a slow spell on a shared machine hits every runtime; each later turn starts with ${plural(REWARM, 'untimed run')}, as the runtimes before it evicted its data from the caches`,
    'toolkit backends: models/fast-style/transformer-net.ts over the core ops, weights uploaded once per backend before timing; native and wasm thread counts set through the backend',
    'onnxruntime-node: CPU execution provider, intraOpNumThreads = threads, interOpNumThreads = 1, graphOptimizationLevel all; onnxruntime-web: wasm backend (SIMD), env.wasm.numThreads = threads, one worker thread of this process per count; one session per runtime for the whole run',
    `agreement: every output against onnxruntime-node's at ${plural(Math.min(...o.threads), 'thread')} on the same input: max |Δ| on the raw output (0..255 scale, unclamped) must be ≤ ${STYLE_TOLERANCE} (issue 5's bound); the 8-bit column is after clamping and rounding`,
    "ratio = the other runtime's median ÷ this one's at the same thread count (above 1: this one is faster); GFLOPS count the convolutions only (a multiply-add = 2)",
  ];
  const statuses: BackendStatus[] = [];
  for (const name of o.backends) {
    const s = await backendStatus(name);
    if (s.available) statuses.push(s);
    else unavailable.push({ backend: name, reason: s.reason });
  }
  const parallelism = await parallelismNote(o.threads);
  if (parallelism) notes.push(parallelism);

  const runners = new Map<string, PeerRunner>();
  const sessions = new Map<string, Promise<PeerSession>>();
  const nets = new Map<BackendName, TransformerNet>();
  const previous = getBackendName();
  const originals = new OriginalThreads();
  try {
    if (o.peers) {
      const probe = matmulModel(2, 2, 2);
      for (const t of o.threads) {
        for (const opened of [await openOrtNode(t), await openOrtWeb(t, probe)]) {
          if (isUnavailable(opened)) unavailable.push({ backend: `${opened.name} ${t}t`, reason: opened.reason });
          else runners.set(`${opened.name} ${t}`, opened);
        }
      }
      const versions = [...new Map([...runners.values()].map((r) => [r.name, r.version])).entries()];
      if (versions.length > 0) notes.push(`peer versions: ${versions.map(([n, v]) => `${n} ${v}`).join(', ')}`);
    }
    const session = (runner: PeerRunner): Promise<PeerSession> => {
      const key = `${runner.name} ${runner.threads}`;
      let s = sessions.get(key);
      if (!s) {
        s = runner.open(model.bytes);
        sessions.set(key, s);
      }
      return s;
    };
    // Weights go onto each backend once, before any timing, and stay for every size and round.
    const netOn = async (name: BackendName): Promise<TransformerNet> => {
      let net = nets.get(name);
      if (!net) {
        const before = getBackendName();
        await setBackend(name);
        try {
          net = TransformerNet.fromOnnx(model.onnx);
        } finally {
          await setBackend(before);
        }
        nets.set(name, net);
      }
      return net;
    };
    const settable = new Map<string, boolean>();
    for (const s of statuses) settable.set(s.name, await canSetThreads(s));

    const plans: SizePlan[] = [];
    for (const size of o.sizes) {
      const input = await styleInput(size, o.content, o.seed);
      if (plans.length === 0) notes.push(`input: ${input.description.replace(/ \d+×\d+$/, ' S×S')}`);
      const shape = [1, 3, size, size];
      const flops = transformerNetFlops(size, size);
      const c: OpCase = {
        op,
        size,
        shape: `[${shape.join(',')}]`,
        inputs: [{ shape, data: input.data }],
        flops,
        run: ([x]: readonly Tensor[]) => {
          const net = nets.get(getBackendName());
          if (!net) throw new Error(`bench:style: no network loaded on ${getBackendName()}`);
          return net.forward(x);
        },
      };
      const feeds = [{ name: model.onnx.graph.inputs[0]?.name ?? 'input', dims: shape, data: input.data }];
      const contestants: Contestant[] = [];
      for (const t of o.threads) {
        for (const peer of ['onnxruntime-node', 'onnxruntime-web'] as const satisfies readonly PeerName[]) {
          const runner = runners.get(`${peer} ${t}`);
          if (!runner) continue;
          contestants.push(
            contestant(peer, 'peer', t, async (warmup, runs) => {
              const r = await (await session(runner)).run(feeds, warmup, runs);
              return { samples: r.samples, output: r.output };
            }),
          );
        }
        for (const status of statuses) {
          if (status.name === 'js' || status.name === 'webgpu') continue;
          // A backend whose count cannot be set runs once, at its own count.
          if (!settable.get(status.name) && t !== o.threads[0]) continue;
          contestants.push(toolkitContestant(status, t, c, o, netOn, originals));
        }
      }
      const webgpu = statuses.find((s) => s.name === 'webgpu');
      if (webgpu?.adapter?.emulated && flops > o.emulatedMaxGflop * 1e9) {
        notes.push(
          `webgpu not measured at ${size}²: its adapter (${webgpu.adapter.description}) is CPU-emulated and one forward pass is ${(flops / 1e9).toFixed(1)} GFLOP, over --emulated-max-gflop ${o.emulatedMaxGflop}`,
        );
      } else if (webgpu) {
        contestants.push(toolkitContestant(webgpu, null, c, o, netOn, originals));
      }
      const js = statuses.find((s) => s.name === 'js');
      if (js) {
        if (flops > o.jsMaxGflop * 1e9) {
          notes.push(
            `js not measured at ${size}²: one forward pass is ${(flops / 1e9).toFixed(1)} GFLOP, over --js-max-gflop ${o.jsMaxGflop} (the reference kernels would take minutes per run)`,
          );
        } else {
          const jsc = toolkitContestant(js, 1, c, o, netOn, originals);
          if (flops > JS_SINGLE_RUN_FLOPS) {
            jsc.once = true;
            jsc.notes.add('js: 1 run, no warm-up (slow reference kernels)');
          }
          contestants.push(jsc);
        }
      }
      for (const ct of contestants) ct.budgetMs = o.budgetS * 1000;
      plans.push({ c, contestants });
    }
    o.onPlan?.(plans.reduce((n, p) => n + p.contestants.length * shares.length, 0));

    const records: BenchRecord[] = [];
    for (const { c, contestants } of plans) {
      await runRounds(contestants, {
        shares,
        warmup: o.warmup,
        signal: o.signal,
        settle: handovers.settle,
        rewarm: REWARM,
        onMeasured: (label) => o.onMeasured?.(`${c.size}² ${label}`),
        onFailure: (ct, err) => notes.push(`${c.size}² on ${ct.label} failed: ${err.message}`),
      });
      const minThreads = Math.min(...o.threads);
      const reference = contestants.find(
        (ct) => ct.backend === 'onnxruntime-node' && ct.threads === minThreads && ct.output,
      );
      if (o.peers && !reference) notes.push(`${c.size}²: no onnxruntime-node output, so outputs were not checked`);
      const sizeRecords: BenchRecord[] = [];
      for (const ct of contestants) {
        if (ct.failed || ct.samples.length === 0) continue;
        const status = statuses.find((s) => s.name === ct.backend);
        const check =
          reference?.output && ct !== reference && ct.output
            ? checkOutput(ct.output, reference.output, reference.label)
            : undefined;
        sizeRecords.push(
          makeRecord(
            {
              suite: 'style',
              op: c.op,
              size: c.size,
              shape: c.shape,
              backend: ct.backend,
              kind: ct.kind,
              threads: ct.backend === 'webgpu' ? null : ct.threads,
              dtype: 'f32',
              flops: c.flops,
              machine,
              adapter: status?.adapter ?? null,
              notes: [...ct.notes, ...(ct === reference ? [REFERENCE_NOTE] : [])],
              fallbacks: ct.fallbacks,
              check,
            },
            fromSamples(ct.samples, ct.warmup),
          ),
        );
      }
      records.push(...compareStyle(sizeRecords));
    }
    notes.push(handovers.note());
    notes.push(`load average (1 / 5 / 15 min): ${loadAtStart} at the start, ${loadText()} at the end`);
    return {
      suite: 'style',
      command: o.command,
      machine,
      records,
      unavailable,
      notes,
      targets: styleTargets(records, o.threads),
    };
  } finally {
    await originals.restore();
    for (const s of sessions.values()) await s.then((x) => x.close()).catch(() => {});
    for (const r of runners.values()) await r.close();
    for (const [name, net] of nets) {
      await setBackend(name);
      net.dispose();
    }
    await setBackend(previous);
  }
}

/** A toolkit backend at `threads` (null: WebGPU, which has no count) as a contestant of the rounds. */
function toolkitContestant(
  status: BackendStatus,
  threads: number | null,
  c: OpCase,
  o: StyleSuiteOptions,
  netOn: (name: BackendName) => Promise<TransformerNet>,
  originals: OriginalThreads,
): Contestant {
  const turn = threadedTurns(status, threads, originals);
  const label = status.name === 'webgpu' || status.name === 'js' ? status.name : `${status.name} ${threads}t`;
  return contestant(
    status.name,
    'toolkit',
    threads ?? 0,
    async (warmup, runs, budgetMs) => {
      let output: Float32Array | undefined;
      const done = await turn(warmup, async (w) => {
        await netOn(status.name);
        return measureOnBackend(
          status,
          c,
          'f32',
          { warmup: w, runs, signal: o.signal, budgetMs },
          { onOutput: (v) => (output = v) },
        );
      });
      return {
        samples: [...done.run.measurement.samples],
        output,
        notes: done.notes,
        fallbacks: done.run.fallbacks,
        ...(done.threads ? { threads: done.threads } : {}),
      };
    },
    label,
  );
}
