/**
 * Picks the backend the worker runs on. `auto` tries the available backends in the plug-ins'
 * rank order (WebGPU on a real adapter > wasm > CPU-emulated WebGPU > js) and takes the first
 * that starts; a named backend is tried first and, if it cannot start, the page is told why
 * and the auto order takes over. js always starts.
 */
import * as T from '../../../index.js';
import type { BackendPreference, BackendStatus } from '../protocol.js';

export interface BackendChoice {
  readonly backend: T.BackendName;
  readonly backends: readonly BackendStatus[];
  readonly failed: readonly { readonly name: string; readonly error: string }[];
  /** wasm worker threads (the calling thread included) when wasm runs, else null. */
  readonly threads: number | null;
}

export async function chooseBackend(preference: BackendPreference): Promise<BackendChoice> {
  const all = await T.backendAvailability();
  const backends: BackendStatus[] = T.BACKEND_NAMES.map((name) => ({
    name,
    available: all[name].available,
    reason: all[name].reason,
    autoRank: all[name].autoRank,
    details: all[name].details ?? {},
  }));
  const ranked = backends
    .filter((b) => b.available)
    .sort((a, b) => b.autoRank - a.autoRank)
    .map((b) => b.name as T.BackendName);
  const order = preference === 'auto' ? ranked : [preference, ...ranked.filter((n) => n !== preference)];
  const failed: { name: string; error: string }[] = [];
  for (const name of order) {
    if (!all[name].available) {
      failed.push({ name, error: all[name].reason });
      continue;
    }
    try {
      const backend = await T.setBackend(name);
      const threads = all.wasm.details?.threads;
      return { backend, backends, failed, threads: backend === 'wasm' && typeof threads === 'number' ? threads : null };
    } catch (err) {
      failed.push({ name, error: (err as Error).message });
    }
  }
  throw new T.BackendError(`No backend could start: ${failed.map((f) => `${f.name}: ${f.error}`).join('; ')}`);
}
