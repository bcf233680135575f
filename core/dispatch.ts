/**
 * The registry keyed by (op, backend), backend selection, and per-op fallback.
 *
 * Backend choice: explicit `setBackend(name)`, else `setBackend('auto')` takes the
 * available backend with the highest autoRank (native with Metal > WebGPU on a real
 * adapter > native CPU > wasm > js; each plug-in reports its rank from its probe).
 * A backend that lacks a kernel falls back per op to the next ready backend that
 * has it, in rank order ending with js; each run is recorded in the fallback ledger (ledger.ts),
 * which warns once per entry and, in strict mode, throws instead.
 * Fallback targets must read synchronously (CPU-visible memory), because the engine
 * hands their results back to the caller's backend within the same op.
 */
import {
  type Availability,
  BACKEND_NAMES,
  type Backend,
  type BackendName,
  type BackendPlugin,
  type Kernel,
  type Storage,
} from './backend.js';
import { BackendError } from './errors.js';
import { recordFallback } from './ledger.js';

const plugins = new Map<BackendName, BackendPlugin>();
const instances = new Map<BackendName, Backend>();
const availability = new Map<BackendName, Availability>();
const kernels = new Map<string, Map<BackendName, Kernel>>();
let current: BackendName | undefined;

export function registerBackend(plugin: BackendPlugin): void {
  plugins.set(plugin.name, plugin);
}

/** Install an already-created backend (the js backend is ready without probing). */
export function installBackend(backend: Backend, avail: Availability): void {
  instances.set(backend.name, backend);
  availability.set(backend.name, avail);
  current ??= backend.name;
}

export function registerKernel<A, S extends Storage>(op: string, backend: BackendName, kernel: Kernel<A, S>): void {
  let byBackend = kernels.get(op);
  if (!byBackend) {
    byBackend = new Map();
    kernels.set(op, byBackend);
  }
  byBackend.set(backend, kernel as unknown as Kernel);
}

/** Register one family's table of kernels for a backend. */
export function registerKernels(backend: BackendName, table: Readonly<Record<string, Kernel<never, never>>>): void {
  for (const [op, kernel] of Object.entries(table)) registerKernel(op, backend, kernel);
}

export function hasKernel(op: string, backend: BackendName): boolean {
  return kernels.get(op)?.has(backend) ?? false;
}

export function kernelNames(backend: BackendName): string[] {
  return [...kernels.entries()].filter(([, m]) => m.has(backend)).map(([op]) => op);
}

export function allOpNames(): string[] {
  return [...kernels.keys()].sort();
}

/** Probe a backend (cached): never throws, reports why it is unavailable. */
export async function probeBackend(name: BackendName): Promise<Availability> {
  const known = availability.get(name);
  if (known) return known;
  const plugin = plugins.get(name);
  if (!plugin) {
    return { available: false, reason: `no ${name} backend is registered in this build`, autoRank: -1 };
  }
  let result: Availability;
  try {
    result = await plugin.probe();
  } catch (err) {
    result = { available: false, reason: `probe failed: ${(err as Error).message}`, autoRank: -1 };
  }
  availability.set(name, result);
  return result;
}

export async function backendAvailability(): Promise<Record<BackendName, Availability>> {
  const out = {} as Record<BackendName, Availability>;
  for (const name of BACKEND_NAMES) out[name] = await probeBackend(name);
  return out;
}

function parseBackendName(name: string): BackendName | 'auto' {
  if (name === 'auto' || (BACKEND_NAMES as readonly string[]).includes(name)) return name as BackendName | 'auto';
  throw new BackendError(`unknown backend '${name}': choose one of ${[...BACKEND_NAMES, 'auto'].join(', ')}`);
}

/** Make a backend ready (probe + create) without making it current. */
export async function initBackend(name: BackendName): Promise<Backend> {
  const ready = instances.get(name);
  if (ready) return ready;
  const avail = await probeBackend(name);
  if (!avail.available) {
    const others = await availableBackendNames();
    throw new BackendError(`backend '${name}' is unavailable: ${avail.reason}. Available: ${others.join(', ')}`);
  }
  const backend = await plugins.get(name)!.create();
  instances.set(name, backend);
  return backend;
}

export async function availableBackendNames(): Promise<BackendName[]> {
  const out: BackendName[] = [];
  for (const name of BACKEND_NAMES) if ((await probeBackend(name)).available) out.push(name);
  return out;
}

/** Choose the backend ops run on. 'auto' takes the highest-ranked available one. */
export async function setBackend(name: string): Promise<BackendName> {
  const parsed = parseBackendName(name);
  let chosen: BackendName;
  if (parsed === 'auto') {
    const all = await backendAvailability();
    const ranked = BACKEND_NAMES.filter((n) => all[n].available).sort((a, b) => all[b].autoRank - all[a].autoRank);
    if (ranked.length === 0) throw new BackendError('no backend is available (the js backend should always be)');
    chosen = ranked[0];
  } else {
    chosen = parsed;
  }
  await initBackend(chosen);
  current = chosen;
  return chosen;
}

export function getBackendName(): BackendName {
  if (!current)
    throw new BackendError(
      'no backend is installed: import the toolkit through its entry point (index.js at the package root)',
    );
  return current;
}

export function getBackend(name: BackendName = getBackendName()): Backend {
  const backend = instances.get(name);
  if (!backend) throw new BackendError(`backend '${name}' is not initialised: call await setBackend('${name}') first`);
  return backend;
}

export function readyBackendNames(): BackendName[] {
  return [...instances.keys()];
}

/**
 * The backend that will run `op` when `preferred` is current: itself if it has the
 * kernel, else the highest-ranked ready backend that has it (js last).
 */
export function resolveKernel(op: string, preferred: BackendName): { backend: BackendName; kernel: Kernel } {
  const byBackend = kernels.get(op);
  const own = byBackend?.get(preferred);
  if (own) return { backend: preferred, kernel: own };
  const candidates = readyBackendNames()
    .filter((n) => n !== preferred && byBackend?.has(n) && instances.get(n)?.readSync !== undefined)
    .sort((a, b) => (availability.get(b)?.autoRank ?? 0) - (availability.get(a)?.autoRank ?? 0));
  if (candidates.length === 0) {
    throw new BackendError(`no backend has a kernel for op '${op}' (current backend: ${preferred})`);
  }
  const to = candidates[0];
  recordFallback(op, 'fallback', preferred, to, `${preferred} has no kernel for it`);
  return { backend: to, kernel: byBackend!.get(to)! };
}
