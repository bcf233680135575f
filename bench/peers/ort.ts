/**
 * The peer runtimes, each behind the same small interface: onnxruntime-node (the native
 * CPU execution provider, intra-op threads set) and onnxruntime-web's wasm backend run in
 * Node. onnxruntime-web reads `env.wasm.numThreads` once, when its wasm module starts, so
 * each thread count gets its own worker thread (same process) holding its own instance;
 * the worker times its own runs, so no message passing is inside a timed region.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export type PeerName = 'onnxruntime-node' | 'onnxruntime-web';

export interface PeerFeed {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

export interface PeerJob {
  readonly model: Uint8Array;
  readonly feeds: readonly PeerFeed[];
  readonly warmup: number;
  readonly runs: number;
}

export interface PeerResult {
  /** Milliseconds per timed `session.run`, in order. */
  readonly samples: number[];
  /** The first output of the last run (for checking both sides computed the same thing). */
  readonly output: Float32Array;
}

/**
 * A model loaded once and run many times: suites that take their runs in several rounds keep
 * one session for all of them, so later rounds never time a fresh session's first run.
 */
export interface PeerSession {
  /** `warmup` untimed runs, then `runs` timed ones on the same feeds. */
  run(feeds: readonly PeerFeed[], warmup: number, runs: number): Promise<PeerResult>;
  close(): Promise<void>;
}

export interface PeerRunner {
  readonly name: PeerName;
  readonly threads: number;
  /** The runtime's version, e.g. `1.30.0`. */
  readonly version: string;
  /** Create a session for `model` (not timed). */
  open(model: Uint8Array): Promise<PeerSession>;
  /** A session for `job.model`, its runs, and the session released again. */
  run(job: PeerJob): Promise<PeerResult>;
  close(): Promise<void>;
}

/** A peer that could not start, with why (missing package, failed wasm start). */
export interface PeerUnavailable {
  readonly name: PeerName;
  readonly reason: string;
}

const require = createRequire(import.meta.url);

function packageVersion(entry: string): string {
  // The package's own package.json is not in its exports map: walk up from the entry file.
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const v = (require(file) as { version?: unknown }).version;
      return typeof v === 'string' ? v : 'unknown';
    }
  }
  return 'unknown';
}

function checkCounts(warmup: number, runs: number): void {
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`peer job: runs must be ≥ 1, got ${runs}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`peer job: warmup must be ≥ 0, got ${warmup}`);
}

/** PeerRunner.run from PeerRunner.open: one session for one job. */
async function runOnce(open: (model: Uint8Array) => Promise<PeerSession>, job: PeerJob): Promise<PeerResult> {
  checkCounts(job.warmup, job.runs);
  const session = await open(job.model);
  try {
    return await session.run(job.feeds, job.warmup, job.runs);
  } finally {
    await session.close();
  }
}

type OrtNode = typeof import('onnxruntime-node');

/** onnxruntime-node with `threads` intra-op threads (inter-op 1: a one-node graph has no parallel branches). */
export async function openOrtNode(threads: number): Promise<PeerRunner | PeerUnavailable> {
  const name = 'onnxruntime-node';
  let ort: OrtNode;
  let version = 'unknown';
  try {
    ort = (await import('onnxruntime-node')) as OrtNode;
    version = packageVersion(require.resolve('onnxruntime-node'));
  } catch (err) {
    return {
      name,
      reason: `onnxruntime-node could not be loaded (${(err as Error).message}); it is a dev dependency: npm install`,
    };
  }
  const open = async (model: Uint8Array): Promise<PeerSession> => {
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    const outputName = session.outputNames[0];
    return {
      async run(feedList, warmup, runs) {
        checkCounts(warmup, runs);
        const feeds: Record<string, InstanceType<OrtNode['Tensor']>> = {};
        for (const f of feedList) feeds[f.name] = new ort.Tensor('float32', f.data, [...f.dims]);
        for (let i = 0; i < warmup; i++) await session.run(feeds);
        const samples: number[] = [];
        let output = new Float32Array(0);
        for (let i = 0; i < runs; i++) {
          const t0 = performance.now();
          const r = await session.run(feeds);
          samples.push(performance.now() - t0);
          if (i === runs - 1) output = Float32Array.from(r[outputName].data as Float32Array);
        }
        return { samples, output };
      },
      close: () => session.release(),
    };
  };
  return { name, threads, version, open, run: (job) => runOnce(open, job), async close() {} };
}

/** The worker's source: plain JavaScript, so it runs the same from the TypeScript sources and from dist/. */
const WEB_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
let ortPromise = null;
function loadOrt() {
  ortPromise ??= (async () => {
    const ort = workerData.esm ? await import(workerData.entry) : require(workerData.entry);
    ort.env.wasm.numThreads = workerData.threads;
    ort.env.logLevel = 'error';
    return ort;
  })();
  return ortPromise;
}
const sessions = new Map();
let nextSession = 1;
parentPort.on('message', async (job) => {
  try {
    const ort = await loadOrt();
    if (job.kind === 'hello') {
      const s = await ort.InferenceSession.create(job.model, { executionProviders: ['wasm'] });
      await s.release();
      parentPort.postMessage({ id: job.id, version: ort.env.versions.web, threads: ort.env.wasm.numThreads });
      return;
    }
    if (job.kind === 'open') {
      const session = await ort.InferenceSession.create(job.model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      const sid = nextSession++;
      sessions.set(sid, session);
      parentPort.postMessage({ id: job.id, session: sid });
      return;
    }
    const session = sessions.get(job.session);
    if (!session) throw new Error('no open session ' + job.session);
    if (job.kind === 'close') {
      sessions.delete(job.session);
      await session.release();
      parentPort.postMessage({ id: job.id });
      return;
    }
    const feeds = {};
    for (const f of job.feeds) feeds[f.name] = new ort.Tensor('float32', f.data, f.dims);
    const outputName = session.outputNames[0];
    for (let i = 0; i < job.warmup; i++) await session.run(feeds);
    const samples = [];
    let output = null;
    for (let i = 0; i < job.runs; i++) {
      const t0 = performance.now();
      const r = await session.run(feeds);
      samples.push(performance.now() - t0);
      if (i === job.runs - 1) output = Float32Array.from(r[outputName].data);
    }
    parentPort.postMessage({ id: job.id, samples, output }, [output.buffer]);
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String((err && err.message) || err) });
  }
});
`;

interface WorkerReply {
  readonly id: number;
  readonly error?: string;
  readonly samples?: number[];
  readonly output?: Float32Array;
  readonly version?: string;
  readonly threads?: number;
  readonly session?: number;
}

function webEntry(): { entry: string; esm: boolean } {
  const cjs = require.resolve('onnxruntime-web');
  const mjs = join(dirname(cjs), 'ort.node.min.mjs');
  return existsSync(mjs) ? { entry: pathToFileURL(mjs).href, esm: true } : { entry: cjs, esm: false };
}

/**
 * onnxruntime-web's wasm backend (SIMD, `threads` threads) in a worker thread of this
 * process. Starting it runs a one-node model, so a broken wasm start is reported here.
 */
export async function openOrtWeb(threads: number, probeModel: Uint8Array): Promise<PeerRunner | PeerUnavailable> {
  const name = 'onnxruntime-web';
  let where: { entry: string; esm: boolean };
  try {
    where = webEntry();
  } catch (err) {
    return {
      name,
      reason: `onnxruntime-web could not be found (${(err as Error).message}); it is a dev dependency: npm install`,
    };
  }
  const worker = new Worker(WEB_WORKER, { eval: true, workerData: { ...where, threads } });
  worker.unref();
  let nextId = 1;
  const pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  const failAll = (err: Error): void => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('message', (r: WorkerReply) => {
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (r.error !== undefined) p.reject(new Error(`onnxruntime-web: ${r.error}`));
    else p.resolve(r);
  });
  worker.on('error', (err) => failAll(new Error(`onnxruntime-web worker failed: ${err.message}`)));
  worker.on('exit', (code) => failAll(new Error(`onnxruntime-web worker exited (code ${code})`)));
  const call = (msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<WorkerReply> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ ...msg, id }, transfer);
    }).finally(() => {
      if (pending.size === 0) worker.unref();
    }) as Promise<WorkerReply>;

  let version: string;
  try {
    const hello = await call({ kind: 'hello', model: probeModel });
    version = hello.version ?? 'unknown';
  } catch (err) {
    await worker.terminate();
    return { name, reason: (err as Error).message };
  }
  const open = async (model: Uint8Array): Promise<PeerSession> => {
    const { session } = await call({ kind: 'open', model });
    return {
      async run(feeds, warmup, runs) {
        checkCounts(warmup, runs);
        // Copies: the caller keeps its arrays (they feed the other runtimes too).
        const r = await call({
          kind: 'run',
          session,
          feeds: feeds.map((f) => ({ name: f.name, dims: [...f.dims], data: f.data })),
          warmup,
          runs,
        });
        return { samples: r.samples ?? [], output: r.output ?? new Float32Array(0) };
      },
      async close() {
        await call({ kind: 'close', session });
      },
    };
  };
  return {
    name,
    threads,
    version,
    open,
    run: (job) => runOnce(open, job),
    async close() {
      await worker.terminate();
    },
  };
}

export function isUnavailable(r: PeerRunner | PeerUnavailable): r is PeerUnavailable {
  return 'reason' in r;
}
