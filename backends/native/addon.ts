/**
 * The functions native-metal/build/Release/eai_native.node exports. Arrays are read and
 * written in place (zero-copy); shapes and sizes are element counts. Every function
 * validates its arguments and throws a JS Error naming itself instead of reading out
 * of bounds. The TypeScript kernels in kernels/<family>/native.ts are the only callers.
 */
import type { FamilyFunctions } from './families.js';

export interface AddonInfo {
  /** Features the CPU reports, e.g. 'sse4.2 avx avx2 fma f16c avx512f'. */
  readonly cpuFeatures: string;
  /** The instruction set the kernels use now: 'avx512f', 'avx2+fma', 'neon' or the baseline. */
  readonly isa: string;
  readonly gemmKernel: string;
  readonly threads: number;
  readonly arch: string;
  readonly compiler?: string;
}

export interface AppleInfo {
  readonly metal: boolean;
  readonly device?: string;
  readonly mps: boolean;
  readonly coreml: boolean;
}

/** An opaque Core ML model handle (macOS only). */
export interface CoreMLModel {
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

export type F32 = Float32Array;

/** The addon: the functions of native-metal/src (here) and those every kernel family adds (its native.ts). */
export interface NativeAddon extends FamilyFunctions {
  readonly abiVersion: number;
  info(): AddonInfo;
  /** Lower (or restore with 'auto') the instruction set; returns the one now in use. */
  setIsa(name: 'auto' | 'baseline' | 'avx2' | 'avx512' | 'neon'): string;
  setThreads(n: number): number;
  /**
   * The calling core's f32 multiply-add peak with the active ISA, from register-only FMA
   * chains run for about `ms`: what benchmarks compare a GEMM's GFLOPS with.
   */
  fmaPeak(ms: number): { gflops: number; lanes: number; isa: string };
  /** dst (row-major, same element type) ← the strided view of src. */
  stridedCopy(src: ArrayBufferView, dst: ArrayBufferView, shape: number[], strides: number[], offset: number): void;
  /** dst's strided view ← src (row-major); the rest of dst is left as it is. */
  stridedWrite(src: ArrayBufferView, dst: ArrayBufferView, shape: number[], strides: number[], offset: number): void;
  f16ToF32(src: Uint16Array, dst: F32): void;
  f32ToF16(src: F32, dst: Uint16Array): void;
  bf16ToF32(src: Uint16Array, dst: F32): void;
  /** Rounds to nearest even; NaN stays a quiet NaN. */
  f32ToBf16(src: F32, dst: Uint16Array): void;

  /** macOS builds: Metal/MPS/Core ML entry points; false elsewhere. */
  readonly apple: false | AppleAddon;
}

/** The Apple path (native-metal/src/apple/*.mm), compiled only on macOS and unverified on hardware. */
export interface AppleAddon {
  info(): AppleInfo;
  /** Metal compute kernel (kernels/matmul/matmul.metal): c = a·b for row-major a [m, k], b [k, n]. */
  metalMatmul(a: F32, b: F32, c: F32, m: number, k: number, n: number): void;
  /** conv2d as Metal compute (kernels/conv/conv.metal); geometry as the CPU conv2d's. */
  metalConv2d(x: F32, w: F32, bias: F32 | null, y: F32, geometry: number[]): void;
  /** MPSMatrixMultiplication with optional transposes. */
  mpsMatmul(a: F32, b: F32, c: F32, m: number, k: number, n: number, transA: boolean, transB: boolean): void;
  coremlLoad(path: string): CoreMLModel;
  coremlPredict(
    model: CoreMLModel,
    inputs: Record<string, { data: F32; shape: number[] }>,
  ): Promise<Record<string, { data: F32; shape: number[] }>>;
}
