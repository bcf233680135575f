/**
 * `bench:peers`: the toolkit's CPU backends against two peer runtimes on the same seeded
 * inputs in one process: native vs onnxruntime-node (CPU EP) and wasm vs onnxruntime-web
 * (wasm), each pair at the same thread count; matmul f32 at n×n and conv2d at the
 * style-transfer shape 1×32×256×256 with a 3×3 kernel. Backends that are not built yet
 * are listed as unavailable; the peers and js are measured regardless.
 */

import { loadNativeAddon } from '../backends/native/loader.js';
import type { Tensor } from '../index.js';
import { dispose, getBackendName, setBackend, tensor } from '../index.js';
import { makeRecord, withBaseline, withRatio } from './harness.js';
import { machineInfo, parallelismNote, quietHandovers } from './machine.js';
import { OP_BENCHES, type OpCase } from './ops.js';
import { JS_SINGLE_RUN_FLOPS } from './ops-suite.js';
import { conv2dModel, matmulModel } from './peers/onnx-model.js';
import {
  isUnavailable,
  openOrtNode,
  openOrtWeb,
  type PeerFeed,
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
  type BackendStatus,
  backendStatus,
  canSetThreads,
  measureOnBackend,
  OriginalThreads,
  threadedTurns,
} from './toolkit.js';

export { splitRuns };

export interface PeersSuiteOptions extends SuiteRunOptions {
  /** Matrix sides for matmul. */
  readonly sizes: readonly number[];
  /** Thread counts every threaded runtime is measured at. */
  readonly threads: readonly number[];
  /** Image side of the conv2d case (0: no conv2d). */
  readonly convSize: number;
  /** Timed runs per runtime in all, spread over `rounds`. */
  readonly runs: number;
  /** Round-robin rounds (see runPeersSuite); at most `runs`. */
  readonly rounds: number;
  /** Untimed runs per runtime, in the first round. */
  readonly warmup: number;
  readonly seed: number;
  /** Measure the js reference too (slow; capped by jsMaxGflop). */
  readonly js: boolean;
  readonly jsMaxGflop: number;
}

/** Which peer each toolkit backend is compared with. */
export const PEER_OF: Readonly<Record<'native' | 'wasm', PeerName>> = {
  native: 'onnxruntime-node',
  wasm: 'onnxruntime-web',
};

interface PeerCase {
  readonly c: OpCase;
  readonly model: Uint8Array;
  readonly feeds: PeerFeed[];
}

function peerCases(o: PeersSuiteOptions): PeerCase[] {
  const out: PeerCase[] = [];
  for (const n of o.sizes) {
    const c = OP_BENCHES.matmul.makeCase(n, o.seed);
    out.push({
      c,
      model: matmulModel(n, n, n),
      feeds: [
        { name: 'A', dims: c.inputs[0].shape, data: c.inputs[0].data },
        { name: 'B', dims: c.inputs[1].shape, data: c.inputs[1].data },
      ],
    });
  }
  if (o.convSize > 0) {
    const c = OP_BENCHES.conv2d.makeCase(o.convSize, o.seed);
    const [x, w] = c.inputs;
    // The weight is a constant initializer, as in the style-transfer models: the peer may prepack it.
    out.push({
      c,
      model: conv2dModel({
        input: x.shape as [number, number, number, number],
        weight: w.shape as [number, number, number, number],
        padding: 1,
        weightData: w.data,
      }),
      feeds: [{ name: 'X', dims: x.shape, data: x.data }],
    });
  }
  return out;
}

/** Largest |a − b| scaled by the reference's largest magnitude (at least 1). */
export function relativeError(a: Float32Array, ref: Float32Array): number {
  if (a.length !== ref.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return diff / scale;
}

/** Outputs further apart than this (relative) mean the two sides did not compute the same thing. */
export const OUTPUT_TOLERANCE = 1e-3;

async function toolkitOutput(status: BackendStatus, c: OpCase): Promise<Float32Array> {
  const previous = getBackendName();
  await setBackend(status.name);
  let xs: Tensor[] = [];
  try {
    xs = c.inputs.map((i) => tensor(i.data, i.shape, 'f32'));
    const y = c.run(xs);
    try {
      return Float32Array.from(await y.data());
    } finally {
      y.dispose();
    }
  } finally {
    dispose(xs);
    await setBackend(previous);
  }
}

export async function runPeersSuite(o: PeersSuiteOptions): Promise<BenchReport> {
  if (o.threads.length === 0) throw new RangeError('bench:peers: give at least one thread count (--threads 1,2)');
  for (const t of o.threads) {
    if (!Number.isInteger(t) || t < 1) throw new RangeError(`bench:peers: thread count ${t} is not a positive integer`);
  }
  const machine = o.machine ?? machineInfo();
  const unavailable: UnavailableBackend[] = [];
  const notes: string[] = [
    `median of ${o.runs} timed runs after ${o.warmup} warm-up runs, all runtimes on the same seeded f32 inputs in this process`,
    `runs taken round-robin in ${Math.min(o.rounds, o.runs)} rounds (each runtime takes its share of the runs per round), so a slow spell on a shared machine hits every runtime; each later turn starts with ${REWARM} untimed run, as the runtimes before it evicted its data from the caches`,
    'ratio = peer median ÷ toolkit median at the same thread count (above 1: the toolkit is faster); "× vs X 1t" columns are thread scaling',
    'onnxruntime-node: CPU execution provider, intraOpNumThreads = threads, interOpNumThreads = 1, graphOptimizationLevel all',
    'onnxruntime-web: wasm backend (SIMD) with env.wasm.numThreads = threads, one worker thread of this process per thread count',
    'matmul: both operands are graph inputs; conv2d: the weight is a constant initializer (as in a trained model), stride 1, padding 1, no bias',
  ];
  const handovers = quietHandovers();
  const statuses: BackendStatus[] = [];
  for (const name of ['native', 'wasm'] as const) {
    const s = await backendStatus(name);
    if (s.available) statuses.push(s);
    else unavailable.push({ backend: name, reason: s.reason });
  }
  const js = o.js ? await backendStatus('js') : undefined;
  const parallelism = await parallelismNote(o.threads);
  if (parallelism) notes.push(parallelism);

  const runners = new Map<string, PeerRunner>();
  const key = (name: PeerName, t: number): string => `${name} ${t}`;
  const probe = matmulModel(2, 2, 2);
  const originals = new OriginalThreads();
  try {
    for (const t of o.threads) {
      for (const opened of [await openOrtNode(t), await openOrtWeb(t, probe)]) {
        if (isUnavailable(opened)) unavailable.push({ backend: `${opened.name} ${t}t`, reason: opened.reason });
        else runners.set(key(opened.name, t), opened);
      }
    }
    const versions = [...new Map([...runners.values()].map((r) => [r.name, r.version])).entries()];
    if (versions.length > 0) notes.push(`peer versions: ${versions.map(([n, v]) => `${n} ${v}`).join(', ')}`);

    const settable = new Map<string, boolean>();
    for (const s of statuses) settable.set(s.name, await canSetThreads(s));
    const cases = peerCases(o);
    const rounds = splitRuns(o.runs, o.rounds);
    o.onPlan?.(
      cases.length *
        (runners.size +
          statuses.reduce((n, s) => n + (settable.get(s.name) ? o.threads.length : 1), 0) +
          (js?.available ? 1 : 0)) *
        rounds.length,
    );
    const records: BenchRecord[] = [];
    for (const pc of cases) {
      const { c } = pc;
      const contestants: Contestant[] = [];
      // One session per peer for the whole case, as bench:style does: later rounds must not time a
      // fresh session's first run (only the first round warms up).
      const sessions: PeerSession[] = [];
      for (const t of o.threads) {
        for (const peer of ['onnxruntime-node', 'onnxruntime-web'] as const) {
          const runner = runners.get(key(peer, t));
          if (!runner) continue;
          let session: Promise<PeerSession> | undefined;
          contestants.push(
            contestant(peer, 'peer', t, async (warmup, runs) => {
              session ??= runner.open(pc.model).then((opened) => {
                sessions.push(opened);
                return opened;
              });
              const r = await (await session).run(pc.feeds, warmup, runs);
              return { samples: r.samples, output: r.output };
            }),
          );
        }
        for (const status of statuses) {
          // A backend whose count cannot be set runs once, at its own count, not once per requested count.
          if (!settable.get(status.name) && t !== o.threads[0]) continue;
          const turn = threadedTurns(status, t, originals);
          contestants.push(
            contestant(status.name, 'toolkit', t, async (warmup, runs) => {
              const { run, notes, threads } = await turn(warmup, (w) =>
                measureOnBackend(status, c, 'f32', { runs, warmup: w, signal: o.signal }),
              );
              return { samples: [...run.measurement.samples], notes, fallbacks: run.fallbacks, threads: threads ?? t };
            }),
          );
        }
      }
      if (js?.available) {
        if (c.flops !== null && c.flops > o.jsMaxGflop * 1e9) {
          notes.push(
            `${c.op} ${c.size}: js not measured (${(c.flops / 1e9).toFixed(1)} GFLOP > --js-max-gflop ${o.jsMaxGflop})`,
          );
        } else {
          const single = c.flops !== null && c.flops > JS_SINGLE_RUN_FLOPS;
          const jsc = contestant('js', 'toolkit', 1, async (warmup, runs) => {
            const run = await measureOnBackend(js, c, 'f32', { runs, warmup, signal: o.signal });
            return { samples: [...run.measurement.samples], notes: run.notes, fallbacks: run.fallbacks };
          });
          if (single) {
            jsc.once = true;
            jsc.notes.add('js: 1 run, no warm-up (slow reference kernel)');
          }
          contestants.push(jsc);
        }
      }

      try {
        await runRounds(contestants, {
          shares: rounds,
          warmup: o.warmup,
          signal: o.signal,
          settle: handovers.settle,
          rewarm: REWARM,
          onMeasured: (label) => o.onMeasured?.(`${c.op} ${c.size} ${label}`),
          onFailure: (ct, err) => notes.push(`${c.op} ${c.size} on ${ct.label} failed: ${err.message}`),
        });
      } finally {
        for (const session of sessions) await session.close();
      }

      const reference = contestants.find((ct) => ct.backend === 'onnxruntime-node' && ct.output)?.output;
      const caseRecords: BenchRecord[] = [];
      for (const ct of contestants) {
        if (ct.failed || ct.samples.length === 0) continue;
        // The toolkit's output is read once, after timing: the check costs no timed run.
        let output = ct.output;
        const status = statuses.find((s) => s.name === ct.backend);
        if (!output && status) output = await toolkitOutput(status, c);
        if (reference && output) {
          const err = relativeError(output, reference);
          if (err > OUTPUT_TOLERANCE) {
            ct.notes.add(
              `output differs from onnxruntime-node's by ${err.toExponential(2)} (relative): not the same computation`,
            );
          }
        }
        caseRecords.push(
          makeRecord(
            {
              suite: 'peers',
              op: c.op,
              size: c.size,
              shape: c.shape,
              backend: ct.backend,
              kind: ct.kind,
              threads: ct.threads,
              dtype: 'f32',
              flops: c.flops,
              machine,
              adapter: null,
              notes: [...ct.notes],
              fallbacks: ct.fallbacks,
            },
            fromSamples(ct.samples, ct.warmup),
          ),
        );
      }
      records.push(...compareCase(caseRecords));
    }
    notes.push(handovers.note());
    const peak = peakNote(records);
    if (peak) notes.push(peak);
    return { suite: 'peers', command: o.command, machine, records, unavailable, notes };
  } finally {
    await originals.restore();
    for (const r of runners.values()) await r.close();
  }
}

/**
 * One core's measured FMA peak beside the 1-thread matmul GFLOPS at the largest size: a
 * ratio target between two GEMMs is bounded by how far the faster one is from this ceiling.
 */
function peakNote(records: readonly BenchRecord[]): string | null {
  const loaded = loadNativeAddon();
  if (!loaded.ok) return null;
  const peak = loaded.addon.fmaPeak(300);
  const matmuls = records.filter((r) => r.op === 'matmul' && r.threads === 1 && r.gflops !== null);
  const size = Math.max(...matmuls.map((r) => r.size));
  const shares = matmuls
    .filter((r) => r.size === size && (r.backend === 'native' || r.backend === 'onnxruntime-node'))
    .map((r) => `${r.backend} ${Math.round(((r.gflops as number) / peak.gflops) * 100)}%`);
  const line = `one core's f32 FMA peak here: ${peak.gflops.toFixed(0)} GFLOPS (${peak.isa}, register-only multiply-add chains in the native addon)`;
  return shares.length > 0 ? `${line}; matmul ${size} at 1 thread reaches ${shares.join(', ')} of it` : line;
}

/** Ratios within one case: toolkit vs its peer at the same threads, js vs onnxruntime-node 1t, thread scaling. */
export function compareCase(records: readonly BenchRecord[]): BenchRecord[] {
  const find = (backend: string, threads: number | null): BenchRecord | undefined =>
    records.find((r) => r.backend === backend && r.threads === threads);
  const threaded = records.filter((r) => r.backend !== 'js' && r.threads !== null);
  const minThreads = Math.min(...threaded.map((r) => r.threads as number));
  return records.map((r) => {
    let out = r;
    if (r.backend === 'native' || r.backend === 'wasm') {
      const peer = PEER_OF[r.backend];
      out = withBaseline(out, find(peer, r.threads), `${peer} ${r.threads}t`);
    } else if (r.backend === 'js') {
      out = withBaseline(out, find('onnxruntime-node', minThreads), `onnxruntime-node ${minThreads}t`);
    }
    if (r.backend !== 'js' && r.threads !== null && r.threads > minThreads) {
      const single = find(r.backend, minThreads);
      if (single) out = withRatio(out, single, recordLabel(single));
    }
    return out;
  });
}
