/**
 * How long a transfer will take, roughly, so that a run of minutes is announced before it starts (with a
 * faster way). The style networks' work is their convolutions (models/fast-style transformerNetFlops; the
 * Magenta transfer network has the same layout); each backend runs them at a typical speed measured with
 * bench:style on a 2-core x86 VM (bench/RESULTS.md, 2 threads): js 0.34 GFLOP/s, CPU-emulated WebGPU
 * 0.46, wasm 77, native 430, WebGPU on an H100 1381. An estimate, not a promise: machines differ tenfold.
 */
import type { BackendName } from '../../core/backend.js';
import { transformerNetFlops } from '../../models/fast-style/transformer-net.js';

/** Typical GFLOP/s of the style network per backend; WebGPU on a CPU-emulated adapter is its own entry. */
export const TYPICAL_GFLOPS: Readonly<Record<BackendName | 'webgpu-emulated', number>> = {
  js: 0.34,
  'webgpu-emulated': 0.46,
  wasm: 77,
  native: 430,
  webgpu: 1381,
};

/** Runs estimated to take longer than this many seconds are announced. */
export const SLOW_RUN_SECONDS = 30;

/** Seconds to stylise `images` images of width × height on a backend (emulated: a CPU-emulated WebGPU adapter). */
export function estimateSeconds(
  backend: BackendName,
  emulated: boolean,
  width: number,
  height: number,
  images = 1,
): number {
  const rate = TYPICAL_GFLOPS[backend === 'webgpu' && emulated ? 'webgpu-emulated' : backend];
  return (images * transformerNetFlops(height, width)) / 1e9 / rate;
}

/** `95` → `about 2 min`, `20` → `about 20 s`. */
export function formatEstimate(seconds: number): string {
  if (seconds < 90) return `about ${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `about ${Math.round(seconds / 60)} min`;
  return `about ${(seconds / 3600).toFixed(1)} h`;
}
