/**
 * Finds and loads the native addon (native-metal/build/Release/eai_native.node, or
 * the file EAI_NATIVE_ADDON names). Never throws: a missing, unloadable or stale
 * binary becomes a reason the probe reports, so the other backends keep working.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeAddon } from './addon.js';

/** Must equal kAbiVersion in native-metal/src/addon.cc: a mismatch means a stale build. */
export const ADDON_ABI_VERSION = 3;

export type LoadResult =
  | { readonly ok: true; readonly addon: NativeAddon; readonly path: string }
  | { readonly ok: false; readonly reason: string; readonly path: string };

/** The folder holding native-metal/ (the package root), from this file's location in the source or dist tree. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'native-metal', 'binding.gyp'))) return dir;
    dir = path.dirname(dir);
  }
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
}

export function defaultAddonPath(): string {
  return path.join(packageRoot(), 'native-metal', 'build', 'Release', 'eai_native.node');
}

/** Where the install step records why it did not build the addon (see native-metal/build.mjs). */
export function buildStatusPath(): string {
  return path.join(packageRoot(), 'native-metal', 'build-status.json');
}

/** The install step's own account of a failed or skipped build, if it left one. */
function buildFailure(statusFile: string): string | null {
  try {
    const status = JSON.parse(readFileSync(statusFile, 'utf8')) as { ok?: boolean; reason?: string };
    return status.ok === false && typeof status.reason === 'string' ? status.reason : null;
  } catch {
    return null;
  }
}

export interface LoadOptions {
  /** The path came from EAI_NATIVE_ADDON (the reason says so). */
  readonly fromEnv?: boolean;
  /** build-status.json written by native-metal/build.mjs (default: the package's). */
  readonly statusFile?: string;
}

/** Load the addon at `file`, or say why it cannot be used. Never throws. */
export function loadNativeAddonFrom(file: string, options: LoadOptions = {}): LoadResult {
  if (!existsSync(file)) {
    if (options.fromEnv) {
      return {
        ok: false,
        path: file,
        reason: `EAI_NATIVE_ADDON points at ${file}, which does not exist (unset it to use the built addon)`,
      };
    }
    const why = buildFailure(options.statusFile ?? buildStatusPath());
    const reason = why
      ? `no native addon built at ${file}: ${why}. Fix that and run \`npm run build:native\``
      : `no native addon built at ${file} (run \`npm run build:native\`; it needs a C++ compiler, make and python3)`;
    return { ok: false, path: file, reason };
  }
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (err) {
    const message = (err as Error).message.split('\n')[0];
    return {
      ok: false,
      path: file,
      reason: `the native addon at ${file} failed to load: ${message} (rebuild it: \`npm run build:native\`)`,
    };
  }
  if (addon.abiVersion !== ADDON_ABI_VERSION) {
    return {
      ok: false,
      path: file,
      reason: `the native addon at ${file} is version ${String(addon.abiVersion)} but this toolkit needs ${ADDON_ABI_VERSION} (a stale build: run \`npm run build:native\`)`,
    };
  }
  return { ok: true, addon, path: file };
}

let cached: LoadResult | undefined;

/** Load once per process; EAI_NATIVE_ADDON overrides the path (tests point it at a missing file). */
export function loadNativeAddon(): LoadResult {
  if (cached) return cached;
  const fromEnv = process.env.EAI_NATIVE_ADDON;
  cached = fromEnv
    ? loadNativeAddonFrom(path.resolve(fromEnv), { fromEnv: true })
    : loadNativeAddonFrom(defaultAddonPath());
  return cached;
}

/** Forget the cached result (tests that change EAI_NATIVE_ADDON). A loaded addon stays loaded. */
export function resetNativeAddonCache(): void {
  cached = undefined;
}

/** The loaded addon, for kernels: only called once the backend exists, so it was loaded. */
export function nativeAddon(): NativeAddon {
  const r = loadNativeAddon();
  if (!r.ok) throw new Error(`native backend: ${r.reason}`);
  return r.addon;
}
