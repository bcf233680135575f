/**
 * The addon's Apple path (macOS builds only): when kernels may use the Metal/MPS products, and a
 * Core ML runner (style-transfer:benchmark runs converted .mlpackage files with it).
 * None of it has run on Apple hardware yet, so kernels route work to the GPU only when
 * EAI_NATIVE_METAL=1 asks for it and a self-test on first use agrees with the CPU kernels;
 * otherwise the CPU kernels run (see native-metal/README.md).
 */
import { UsageError } from '../../core/errors.js';
import type { AppleAddon, CoreMLModel, NativeAddon } from './addon.js';
import { nativeAddon } from './loader.js';

export interface MetalState {
  readonly enabled: boolean;
  /** What `info` prints about Metal. */
  readonly status: string;
}

let state: MetalState | undefined;

function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin(seed * 7.1 + i * 0.37);
  return out;
}

/** Both GPU products against the CPU GEMM on an awkward shape (edges in every tile). */
function selfTest(addon: NativeAddon, apple: AppleAddon): string | null {
  const [m, k, n] = [37, 70, 19];
  const a = values(m * k, 1);
  const b = values(k * n, 2);
  const want = new Float32Array(m * n);
  addon.matmul(a, b, want, m, k, n, false, false, [0], [0]);
  const checks: [string, (c: Float32Array) => void][] = [
    ['metalMatmul', (c) => apple.metalMatmul(a, b, c, m, k, n)],
    ['mpsMatmul', (c) => apple.mpsMatmul(a, b, c, m, k, n, false, false)],
  ];
  for (const [name, run] of checks) {
    const got = new Float32Array(m * n);
    try {
      run(got);
    } catch (err) {
      return `${name} failed: ${(err as Error).message}`;
    }
    for (let i = 0; i < got.length; i++) {
      if (!(Math.abs(got[i] - want[i]) <= 1e-3 * (1 + Math.abs(want[i])))) {
        return `${name} disagrees with the CPU kernel at element ${i} (${got[i]} vs ${want[i]})`;
      }
    }
  }
  return null;
}

/** Whether kernels may use Metal/MPS, decided once per process. */
export function metalState(addon: NativeAddon = nativeAddon()): MetalState {
  if (state) return state;
  const apple = addon.apple;
  if (!apple) {
    state = { enabled: false, status: 'not built (macOS only)' };
  } else if (!apple.info().metal) {
    state = { enabled: false, status: 'no Metal device' };
  } else if (process.env.EAI_NATIVE_METAL !== '1') {
    state = {
      enabled: false,
      status: `${apple.info().device ?? 'device'} found; off (set EAI_NATIVE_METAL=1: unverified on hardware)`,
    };
  } else {
    const failure = selfTest(addon, apple);
    state = failure
      ? { enabled: false, status: `off: the self-test failed (${failure})` }
      : { enabled: true, status: `on: ${apple.info().device ?? 'default device'}` };
  }
  return state;
}

/** The Apple entry points when Metal is enabled (see metalState), else null. */
export function enabledApple(addon: NativeAddon): AppleAddon | null {
  return addon.apple && metalState(addon).enabled ? addon.apple : null;
}

export interface CoreMLRunner {
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Named float32 inputs in, named float32 outputs out; runs off the event loop. */
  predict(
    inputs: Record<string, { data: Float32Array; shape: number[] }>,
  ): Promise<Record<string, { data: Float32Array; shape: number[] }>>;
}

/** Load a Core ML model (.mlmodel, .mlpackage or compiled .mlmodelc). macOS with the native addon only. */
export function loadCoreMLModel(path: string): CoreMLRunner {
  const apple = nativeAddon().apple;
  if (!apple) {
    throw new UsageError(
      `Core ML needs macOS and the native addon built there; this is ${process.platform} (cannot load ${path})`,
    );
  }
  const model: CoreMLModel = apple.coremlLoad(path);
  return {
    inputs: model.inputs,
    outputs: model.outputs,
    predict: (inputs) => apple.coremlPredict(model, inputs),
  };
}
