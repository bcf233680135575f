/**
 * What reference kernels (kernels/<family>/ref.ts) work on: plain host arrays.
 * f16 and bf16 never reach a reference: the js backend widens them to f32 on the way in
 * and narrows results on the way out, so each reference is written once per op.
 */
import type { TensorInfo } from '../core/backend.js';
import { allocHost, computeDType, type DType } from '../core/dtype.js';
import { sizeOf } from '../core/shape.js';

export type HostData = Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array | Uint32Array;

export interface HostTensor {
  readonly data: HostData;
  readonly shape: readonly number[];
  /** Never 'f16' or 'bf16' inside a reference (see above). */
  readonly dtype: DType;
}

/** A reference kernel: inputs are contiguous row-major; returns one array per output info. */
export type RefKernel<A> = (inputs: readonly HostTensor[], attrs: A, outputs: readonly TensorInfo[]) => HostData[];

// biome-ignore lint/suspicious/noExplicitAny: a table holds kernels of many attribute types
export type RefKernelTable = Readonly<Record<string, RefKernel<any>>>;

/** Allocate the array for output `info` (half-precision outputs are computed as f32). */
export function allocOutput(info: TensorInfo): HostData {
  return allocHost(computeDType(info.dtype), sizeOf(info.shape)) as HostData;
}

/** Row-major copy of `data` (of `shape`) with its axes reordered by `perm`. */
export function permuteHost(data: HostData, shape: readonly number[], perm: readonly number[]): HostData {
  const inStrides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i];
  }
  const outShape = perm.map((p) => shape[p]);
  const strides = perm.map((p) => inStrides[p]);
  const out = data.slice(0, 0).constructor as new (n: number) => HostData;
  const y = new out(data.length);
  const index = new Array<number>(perm.length).fill(0);
  let src = 0;
  for (let i = 0; i < y.length; i++) {
    y[i] = data[src];
    for (let a = perm.length - 1; a >= 0; a--) {
      index[a]++;
      src += strides[a];
      if (index[a] < outShape[a]) break;
      src -= strides[a] * outShape[a];
      index[a] = 0;
    }
  }
  return y;
}
