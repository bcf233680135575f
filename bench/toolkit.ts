/**
 * Running a benchmark case on one of the toolkit's backends: which backends exist here
 * (and why not), setting their thread count, and timing an op with every run awaited,
 * every tensor disposed and every fallback-ledger entry reported instead of hidden.
 */
import '../backends/node.js';
import { loadNativeAddon } from '../backends/native/loader.js';
import {
  BACKEND_NAMES,
  type Backend,
  type BackendName,
  type DType,
  dispose,
  type FallbackEntry,
  type FallbackKind,
  fallbackLedger,
  getBackendName,
  initBackend,
  ledgerDelta,
  memory,
  probeBackend,
  setBackend,
  type Tensor,
  tensor,
} from '../index.js';
import { type Measurement, type MeasureOptions, measure } from './harness.js';
import type { OpCase } from './ops.js';
import { type AdapterInfo, adapterFromDetails, EMULATED_LABEL, type UnavailableBackend } from './record.js';

export interface BackendStatus {
  readonly name: BackendName;
  readonly available: boolean;
  /** Why it is unavailable, or what it runs on. */
  readonly reason: string;
  readonly adapter: AdapterInfo | null;
  /** Threads the backend reports by default (js: 1; WebGPU: null). */
  readonly threads: number | null;
}

/**
 * `js,webgpu` or `all` → backend names, in the order given, without repeats.
 * @throws RangeError naming the unknown entry and the choices.
 */
export function parseBackendList(text: string): BackendName[] {
  const out: BackendName[] = [];
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    const names: readonly string[] = name === 'all' ? BACKEND_NAMES : [name];
    for (const n of names) {
      if (!(BACKEND_NAMES as readonly string[]).includes(n)) {
        throw new RangeError(
          `unknown backend '${n}' in '${text}': use a comma list of ${BACKEND_NAMES.join(', ')}, or all`,
        );
      }
      if (!out.includes(n as BackendName)) out.push(n as BackendName);
    }
  }
  if (out.length === 0) throw new RangeError(`no backend named in '${text}': use e.g. js,native or all`);
  return out;
}

export async function backendStatus(name: BackendName): Promise<BackendStatus> {
  const a = await probeBackend(name);
  const t = a.details?.threads;
  return {
    name,
    available: a.available,
    reason: a.reason,
    adapter: name === 'webgpu' ? adapterFromDetails(a.details) : null,
    threads: name === 'js' ? 1 : typeof t === 'number' ? t : null,
  };
}

/** The unavailable entries of `statuses`, as reports list them. */
export function unavailableOf(statuses: readonly BackendStatus[]): UnavailableBackend[] {
  return statuses.filter((s) => !s.available).map((s) => ({ backend: s.name, reason: s.reason }));
}

/** A backend instance that lets its worker/thread-pool size change. */
interface ThreadedBackend extends Backend {
  setThreads(n: number): number | Promise<number>;
}

function isThreaded(b: Backend): b is ThreadedBackend {
  return typeof (b as Partial<ThreadedBackend>).setThreads === 'function';
}

/** How the bench reads and sets a backend's thread count. */
interface ThreadControl {
  get(): number;
  /** Resolves to the count now in effect. */
  set(n: number): Promise<number>;
}

/**
 * The thread control of a ready backend: its own `setThreads` when it has one, else the
 * backend's module-level API (the native addon, setWasmThreads); null when there is none.
 */
async function threadControl(status: BackendStatus): Promise<ThreadControl | null> {
  if (status.name === 'js' || status.name === 'webgpu') return null;
  const backend = await initBackend(status.name);
  if (isThreaded(backend)) {
    let current = status.threads ?? 1;
    return {
      get: () => current,
      set: async (n) => {
        current = await backend.setThreads(n);
        return current;
      },
    };
  }
  if (status.name === 'native') {
    const loaded = loadNativeAddon();
    if (!loaded.ok) return null;
    return { get: () => loaded.addon.info().threads, set: async (n) => loaded.addon.setThreads(n) };
  }
  const wasm = await import('../backends/wasm/index.js');
  return {
    get: () => wasm.wasmBackend().rt.threads,
    set: async (n) => {
      await wasm.setWasmThreads(n);
      return wasm.wasmBackend().rt.threads;
    },
  };
}

/** Whether `status`'s thread count can be changed from here (js and WebGPU have none to change). */
export async function canSetThreads(status: BackendStatus): Promise<boolean> {
  return status.available && (await threadControl(status)) !== null;
}

export interface ThreadSetting {
  /** The count now in effect, or null when it is unknown. */
  readonly threads: number | null;
  /** Set when the request could not be honoured. */
  readonly note: string | null;
  /** The backend's pool generation now (see poolGeneration). */
  readonly generation: number;
  /** Puts the previous count back. */
  restore(): Promise<void>;
}

/**
 * Bumped whenever a backend's thread count changes: its threads (and their scratch memory)
 * are new, so the next run pays thread start-up and page faults that are not kernel speed.
 */
const generations = new Map<BackendName, number>();

export function poolGeneration(name: BackendName): number {
  return generations.get(name) ?? 0;
}

/** The pool generation a contestant last ran on (null: it has not run yet). */
export interface PoolWatch {
  generation: number | null;
}

/**
 * Warm-up runs for a measurement: at least one when the pool was rebuilt since this contestant
 * last ran (by its own thread change or by another contestant's), as later rounds skip warm-up.
 */
export function warmupAfter(setting: ThreadSetting | null, warmup: number, watch: PoolWatch): number {
  if (!setting) return warmup;
  const rebuilt = watch.generation !== setting.generation;
  watch.generation = setting.generation;
  return rebuilt ? Math.max(warmup, 1) : warmup;
}

/**
 * The thread counts backends had before a suite changed them, put back once at its end:
 * restoring after every round would rebuild a pool between rounds for nothing.
 */
export class OriginalThreads {
  readonly #restore = new Map<BackendName, () => Promise<void>>();

  /** Remember how to undo the first change made to `name`. */
  note(name: BackendName, setting: ThreadSetting): void {
    if (!this.#restore.has(name)) this.#restore.set(name, () => setting.restore());
  }

  async restore(): Promise<void> {
    for (const r of this.#restore.values()) await r();
    this.#restore.clear();
  }
}

/** What one turn of a toolkit contestant gives back: its run, the thread notes, the count in effect. */
export interface ThreadedTurn {
  readonly run: ToolkitRun;
  /** The thread-setting note (if any), then the run's own notes. */
  readonly notes: string[];
  readonly threads: number | null;
}

/**
 * The turns of one toolkit contestant of a round-robin suite at `threads` (null: a backend with
 * no count, WebGPU): each sets the count (remembered in `originals` for the suite to restore),
 * adds a warm-up when the pool was rebuilt since this contestant's last turn, then measures.
 */
export function threadedTurns(
  status: BackendStatus,
  threads: number | null,
  originals: OriginalThreads,
): (warmup: number, measure: (warmup: number) => Promise<ToolkitRun>) => Promise<ThreadedTurn> {
  const watch: PoolWatch = { generation: null };
  return async (warmup, measure) => {
    const setting = threads === null ? null : await setBackendThreads(status, threads);
    if (setting) originals.note(status.name, setting);
    const run = await measure(warmupAfter(setting, warmup, watch));
    return {
      run,
      notes: [...(setting?.note ? [setting.note] : []), ...run.notes],
      threads: setting?.threads ?? threads,
    };
  };
}

/**
 * Give `status.name` `threads` threads for the next measurements. Backends without a thread
 * control run at their own count and the note says so (js is single-threaded by design).
 */
export async function setBackendThreads(status: BackendStatus, threads: number): Promise<ThreadSetting> {
  const none = async (): Promise<void> => {};
  if (status.name === 'js') {
    return {
      threads: 1,
      note: threads === 1 ? null : 'js is single-threaded: ran on 1 thread',
      generation: 0,
      restore: none,
    };
  }
  if (status.name === 'webgpu') return { threads: null, note: null, generation: 0, restore: none };
  const control = await threadControl(status);
  if (!control) {
    return {
      threads: status.threads,
      note: `${status.name}: the thread count cannot be set from here; ran at its default${status.threads === null ? '' : ` of ${status.threads}`}`,
      generation: 0,
      restore: none,
    };
  }
  const before = control.get();
  const set = async (n: number): Promise<number> => {
    const was = control.get();
    try {
      return await control.set(n);
    } finally {
      if (control.get() !== was) generations.set(status.name, poolGeneration(status.name) + 1);
    }
  };
  let now: number;
  try {
    now = await set(threads);
  } catch (err) {
    return {
      threads: control.get(),
      note: `${status.name} refused ${threads} threads (${(err as Error).message}); ran at ${control.get()}`,
      generation: poolGeneration(status.name),
      restore: none,
    };
  }
  return {
    threads: now,
    note: now === threads ? null : `${status.name} gave ${now} threads when asked for ${threads}`,
    generation: poolGeneration(status.name),
    restore: async () => {
      await set(before);
    },
  };
}

/** Milliseconds of warm-up a real GPU gets before timing (see MeasureOptions.warmupMs). */
export const GPU_WARMUP_MS = 500;

export interface ToolkitRun {
  readonly measurement: Measurement;
  /** Fallbacks and leaks seen while measuring, and the emulation label. */
  readonly notes: string[];
  /** The fallback ledger's entries made while measuring. */
  readonly fallbacks: FallbackEntry[];
}

const FALLBACK_NOTES: Readonly<Record<FallbackKind, (e: FallbackEntry) => string>> = {
  fallback: (e) =>
    `${e.op} ran on ${e.to} through per-op fallback (${e.why}): this is ${e.to}'s speed, not ${e.from}'s`,
  reference: (e) => `${e.op} ran the ${e.to} reference kernel on ${e.from} (${e.why}): not ${e.from}'s kernel speed`,
  copy: (e) => `${e.op} copied an input from ${e.from} to ${e.to} on every run (${e.why})`,
};

/** A reader's note for each fallback-ledger entry of a measurement: the time is partly not this backend's. */
export function fallbackNotes(entries: readonly FallbackEntry[]): string[] {
  return entries.map((e) => FALLBACK_NOTES[e.kind](e));
}

/** Wait until `y` exists: a backend sync, else (no synchronous reads) a read; CPU backends are already done. */
async function complete(backend: Backend, y: Tensor): Promise<void> {
  if (backend.sync) await backend.sync();
  else if (!backend.readSync) await y.data();
}

export interface BackendRunOptions {
  /**
   * Read every output back into JS memory inside the timed run (what a caller that uses the
   * result pays, and what the peers' `session.run` includes) and hand the last one here.
   * Without it a run only waits until the output exists.
   */
  readonly onOutput?: (values: Float32Array) => void;
}

/**
 * Time `c` on `status.name`: inputs made once (untimed) from the seeded data, then each run
 * issues the op, awaits completion (or reads the output back, see BackendRunOptions) and
 * disposes the output. The previous backend is restored.
 */
export async function measureOnBackend(
  status: BackendStatus,
  c: OpCase,
  dtype: DType,
  options: MeasureOptions,
  run: BackendRunOptions = {},
): Promise<ToolkitRun> {
  const previous = getBackendName();
  await setBackend(status.name);
  const backend = await initBackend(status.name);
  const notes: string[] = [];
  if (status.adapter?.emulated) notes.push(EMULATED_LABEL);
  const live = memory().tensors;
  const ledgerBefore = fallbackLedger();
  let fallbacks: FallbackEntry[] = [];
  let xs: Tensor[] = [];
  try {
    xs = c.inputs.map((i) => tensor(i.data, i.shape, dtype));
    if (backend.sync) await backend.sync();
    let last: Float32Array | undefined;
    // A real GPU gets half a second of warm-up: its clocks drop while CPU runtimes take their turns.
    const gpuWarmup = status.name === 'webgpu' && status.adapter && !status.adapter.emulated ? GPU_WARMUP_MS : 0;
    const measurement = await measure(
      async () => {
        const y = c.run(xs);
        try {
          if (run.onOutput) {
            // data() is a host copy already: keeping it costs nothing more inside the timed run.
            const v = await y.data();
            last = v instanceof Float32Array ? v : Float32Array.from(v);
          } else await complete(backend, y);
        } finally {
          y.dispose();
        }
      },
      { warmupMs: gpuWarmup, ...options },
    );
    if (last && run.onOutput) run.onOutput(last);
    fallbacks = ledgerDelta(ledgerBefore, fallbackLedger());
    notes.push(...fallbackNotes(fallbacks));
    return { measurement, notes, fallbacks };
  } finally {
    dispose(xs);
    const leaked = memory().tensors - live;
    if (leaked > 0) notes.push(`${leaked} tensor(s) still live after the run: a leak in ${c.op} on ${status.name}`);
    await setBackend(previous);
  }
}
