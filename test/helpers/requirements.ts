/**
 * What a test needs from the machine (a backend, the browser), and whether CI requires it.
 * A suite whose need is missing is skipped with the reason in its title, so the summary shows
 * skips, not passes; where CI requires the need (EAI_REQUIRE_BACKENDS, set by .ci/run) the
 * suite runs anyway and fails on what is missing.
 */
import { existsSync } from 'node:fs';
import * as T from '../../index.js';

/** Backends that must exist here (EAI_REQUIRE_BACKENDS=webgpu,native,wasm). */
export const requiredBackends = (process.env.EAI_REQUIRE_BACKENDS ?? '').split(',').filter(Boolean) as T.BackendName[];

/** Why tests needing `backend` cannot run here, or null when they run (available, or required). */
export async function backendSkipReason(backend: T.BackendName): Promise<string | null> {
  if (requiredBackends.includes(backend)) return null;
  const avail = await T.probeBackend(backend);
  return avail.available ? null : `${backend} is unavailable here: ${avail.reason}`;
}

/** Debian's chromium (EAI_CHROMIUM overrides): headless browser tests drive it with Playwright. */
export const CHROMIUM = process.env.EAI_CHROMIUM ?? '/usr/bin/chromium';

function ciSet(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

/** Why browser tests cannot run here, or null when they run (the browser is required on CI and with webgpu). */
export function chromiumSkipReason(): string | null {
  if (existsSync(CHROMIUM) || ciSet() || requiredBackends.includes('webgpu')) return null;
  return `${CHROMIUM} is not installed (bash scripts/install-system-deps.sh chromium, or set EAI_CHROMIUM)`;
}

/** A suite title that carries the skip reason when there is one. */
export function titled(title: string, skip: string | null): string {
  return skip ? `${title} [skipped: ${skip}]` : title;
}
