/**
 * The functions native-metal/build/Release/eai_native.node exports. Arrays are read and
 * written in place (zero-copy); shapes and sizes are element counts. Every function
 * validates its arguments and throws a JS Error naming itself instead of reading out
 * of bounds. The TypeScript kernels in kernels/<family>/native.ts are the only callers.
 */

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
export type CastArray = F32 | Int32Array | Uint8Array | Int8Array | Uint32Array;

export interface NativeAddon {
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

  // elementwise (kernels/elementwise/native.cc)
  unary(op: string, x: F32, y: F32): void;
  /** Arithmetic ops write a Float32Array, comparisons a Uint8Array. */
  binary(op: string, a: F32, b: F32, y: F32 | Uint8Array, aShape: number[], bShape: number[], outShape: number[]): void;
  where(
    cond: Uint8Array,
    a: F32,
    b: F32,
    y: F32,
    cShape: number[],
    aShape: number[],
    bShape: number[],
    outShape: number[],
  ): void;
  clamp(x: F32, y: F32, min: number, max: number): void;
  /** Between the f32, i32, u8, i8 and u32 arrays: floats truncate toward zero, integers saturate. */
  cast(x: CastArray, y: CastArray): void;

  // reduce (kernels/reduce/native.cc): x viewed as [outer, r, inner], y as [outer, inner]
  reduce(op: string, x: F32, y: F32, outer: number, r: number, inner: number, correction: number): void;
  argReduce(op: 'argmax' | 'argmin', x: F32, y: Int32Array, outer: number, r: number, inner: number): void;

  // layout (kernels/layout/native.cc)
  gatherRows(
    x: ArrayBufferView,
    indices: Int32Array,
    y: ArrayBufferView,
    outer: number,
    dim: number,
    inner: number,
  ): void;
  scatterAddRows(g: F32, indices: Int32Array, y: F32, outer: number, dim: number, inner: number): void;
  pad(
    x: ArrayBufferView,
    y: ArrayBufferView,
    shape: number[],
    pads: number[],
    mode: string,
    fill: ArrayBufferView,
  ): void;
  padGrad(g: F32, y: F32, shape: number[], pads: number[], mode: string): void;

  // matmul (kernels/matmul/native.cc): batch t multiplies a[aOffsets[t]…] by b[bOffsets[t]…]
  matmul(
    a: F32,
    b: F32,
    c: F32,
    m: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
    aOffsets: number[],
    bOffsets: number[],
  ): void;
  matmulAsync(
    a: F32,
    b: F32,
    c: F32,
    m: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
    aOffsets: number[],
    bOffsets: number[],
  ): Promise<F32>;

  // softmax (kernels/softmax/native.cc): lines of length n with stride inner
  softmax(x: F32, y: F32, outer: number, n: number, inner: number, log: boolean): void;

  // norm (kernels/norm/native.cc): parameter element for (row r, column j) is ((r % rmod)·rmul + ⌊j / jdiv⌋)
  normRows(
    x: F32,
    y: F32,
    rows: number,
    length: number,
    center: boolean,
    eps: number,
    scale: F32 | null,
    scaleIndex: number[],
    shift: F32 | null,
    shiftIndex: number[],
  ): void;

  // loss (kernels/loss/native.cc): ignoreIndex NaN when none
  crossEntropy(
    logits: F32,
    targets: Int32Array,
    y: F32,
    rows: number,
    classes: number,
    ignoreIndex: number,
    smoothing: number,
  ): void;
  crossEntropyGrad(
    logits: F32,
    targets: Int32Array,
    g: F32,
    y: F32,
    rows: number,
    classes: number,
    ignoreIndex: number,
    smoothing: number,
  ): void;

  // rope (kernels/rope/native.cc)
  rope(
    x: F32,
    y: F32,
    rows: number,
    seq: number,
    d: number,
    offset: number,
    base: number,
    traditional: boolean,
    dims: number,
    scale: number,
    inverse: boolean,
  ): void;

  // attention (kernels/attention/native.cc): dims [B, Hq, Hkv, T, S, D, Dv]; mask strides over [B, Hq, T, S]
  attention(
    q: F32,
    k: F32,
    v: F32,
    mask: F32 | null,
    y: F32,
    dims: number[],
    maskStrides: number[],
    scale: number,
    causal: boolean,
  ): void;
  attentionBackward(
    q: F32,
    k: F32,
    v: F32,
    o: F32,
    dO: F32,
    mask: F32 | null,
    dq: F32,
    dk: F32,
    dv: F32,
    dims: number[],
    maskStrides: number[],
    scale: number,
    causal: boolean,
  ): void;

  // conv (kernels/conv/native.cc): geometry [N, C, H, W, O, kH, kW, OH, OW, sh, sw, pt, pl, dh, dw, groups]
  conv2d(x: F32, w: F32, bias: F32 | null, y: F32, geometry: number[]): void;
  convTranspose2d(x: F32, w: F32, bias: F32 | null, y: F32, geometry: number[]): void;
  /** geometry as conv2d's with OH, OW the gradient's (possibly smaller) extent. */
  conv2dWeightGrad(x: F32, g: F32, y: F32, geometry: number[]): void;
  conv2dAsync(x: F32, w: F32, bias: F32 | null, y: F32, geometry: number[]): Promise<F32>;

  // pool (kernels/pool/native.cc): window [N, C, H, W, OH, OW, kh, kw, sh, sw, pt, pl, dh, dw].
  // max/avg: x → pooled y; select: keys x, values → pooled y; maxGrad: keys x, pooled grad → y;
  // avgGrad: pooled grad x → y.
  pool2d(
    mode: 'max' | 'select' | 'maxGrad' | 'avg' | 'avgGrad',
    x: F32,
    other: F32 | null,
    y: F32,
    window: number[],
    countIncludePad: boolean,
  ): void;

  // image (kernels/image/native.cc): geometry [N, C, H, W, OH, OW]; grad: x is the output's
  // gradient and y the input's
  resize(x: F32, y: F32, geometry: number[], mode: string, coordinate: string, grad: boolean): void;

  /** macOS builds: Metal/MPS/Core ML entry points; false elsewhere. */
  readonly apple: false | AppleAddon;
}

/** The Apple path (native-metal/src/apple/*.mm), compiled only on macOS and unverified on hardware. */
export interface AppleAddon {
  info(): AppleInfo;
  /** Metal compute kernel (kernels/matmul/matmul.metal): c = a·b for row-major a [m, k], b [k, n]. */
  metalMatmul(a: F32, b: F32, c: F32, m: number, k: number, n: number): void;
  /** Int8 weights with one f32 scale per output column: c = a · (wq ∘ scales). */
  metalQuantMatmul(a: F32, wq: Int8Array, scales: F32, c: F32, m: number, k: number, n: number): void;
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
