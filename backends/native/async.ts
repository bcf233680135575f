/**
 * Standalone native work that runs off the event loop (an AsyncWorker on libuv's pool,
 * using the addon's threads): long products for benchmarks and servers. The arrays are
 * read in place and stay referenced by the addon until the promise settles.
 */
import { UsageError } from '../../core/errors.js';
import { sizeOf } from '../../core/shape.js';
import {
  effectiveKernel,
  type PaddingSpec,
  type Pair,
  requireRank4,
  resolvePadding,
  toPair,
  windowOutput,
} from '../../kernels/conv/window.js';
import { nativeAddon } from './loader.js';

export interface MatmulAsyncOptions {
  readonly transposeA?: boolean;
  readonly transposeB?: boolean;
  /** Write the product here (m·n elements) instead of a new array. */
  readonly out?: Float32Array;
}

/** c [m, n] = op(a) · op(b) for row-major a [m, k] (or [k, m] transposed) and b [k, n] (or [n, k]). */
export function matmulAsync(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  options: MatmulAsyncOptions = {},
): Promise<Float32Array> {
  for (const [name, v] of [
    ['m', m],
    ['k', k],
    ['n', n],
  ] as const) {
    if (!Number.isInteger(v) || v < 0)
      throw new UsageError(`matmulAsync: ${name} must be a non-negative integer, got ${v}`);
  }
  if (a.length !== m * k) throw new UsageError(`matmulAsync: a has ${a.length} elements; m·k = ${m * k}`);
  if (b.length !== k * n) throw new UsageError(`matmulAsync: b has ${b.length} elements; k·n = ${k * n}`);
  const out = options.out ?? new Float32Array(m * n);
  if (out.length !== m * n) throw new UsageError(`matmulAsync: out has ${out.length} elements; m·n = ${m * n}`);
  return nativeAddon().matmulAsync(
    a,
    b,
    out,
    m,
    k,
    n,
    options.transposeA ?? false,
    options.transposeB ?? false,
    [0],
    [0],
  );
}

export interface Conv2dAsyncOptions {
  readonly bias?: Float32Array;
  readonly stride?: number | Pair;
  /** A number, [ph, pw], [top, bottom, left, right], 'same' or 'valid' (as conv2d). */
  readonly padding?: PaddingSpec;
  readonly dilation?: number | Pair;
  readonly groups?: number;
}

export interface HostTensorF32 {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** conv2d (NCHW, PyTorch semantics, zero padding) of x [N, C, H, W] with w [O, C/groups, kH, kW], off the event loop. */
export function conv2dAsync(
  x: HostTensorF32,
  w: HostTensorF32,
  options: Conv2dAsyncOptions = {},
): Promise<HostTensorF32> {
  const op = 'conv2dAsync';
  requireRank4(op, 'input', x.shape, '[N, C, H, W]');
  requireRank4(op, 'weight', w.shape, '[O, C/groups, kH, kW]');
  const [n, c, h, wd] = x.shape;
  const [o, cg, kh, kw] = w.shape;
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0 || o % groups !== 0 || cg * groups !== c) {
    throw new UsageError(`${op}: groups ${groups} must divide C ${c} and O ${o}, with weight [O, C/groups, kH, kW]`);
  }
  if (x.data.length !== sizeOf(x.shape) || w.data.length !== sizeOf(w.shape)) {
    throw new UsageError(`${op}: x or w has a different number of elements than its shape`);
  }
  if (options.bias && options.bias.length !== o)
    throw new UsageError(`${op}: bias must hold ${o} values (one per output channel)`);
  const stride = toPair(op, 'stride', options.stride ?? 1, 1);
  const dilation = toPair(op, 'dilation', options.dilation ?? 1, 1);
  const eff: Pair = [effectiveKernel(kh, dilation[0]), effectiveKernel(kw, dilation[1])];
  const padding = resolvePadding(op, options.padding ?? 0, [h, wd], eff, stride);
  const [oh, ow] = windowOutput(op, x.shape, eff, stride, padding);
  const y = new Float32Array(n * o * oh * ow);
  const geometry = [
    n,
    c,
    h,
    wd,
    o,
    kh,
    kw,
    oh,
    ow,
    stride[0],
    stride[1],
    padding[0],
    padding[2],
    dilation[0],
    dilation[1],
    groups,
  ];
  return nativeAddon()
    .conv2dAsync(x.data, w.data, options.bias ?? null, y, geometry)
    .then((data) => ({ data, shape: [n, o, oh, ow] }));
}
