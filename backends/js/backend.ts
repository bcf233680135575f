/**
 * The js backend: storages are host typed arrays and kernels are the references
 * in kernels/<family>/ref.ts. Always available; the oracle and the last fallback.
 */
import type { Backend, Kernel, Storage, StridedView } from '../../core/backend.js';
import { allocHost, computeDType, fromCompute, type TypedArray, toCompute } from '../../core/dtype.js';
import { sizeOf } from '../../core/shape.js';
import type { HostData, RefKernel, RefKernelTable } from '../../kernels/host.js';

export interface JsStorage extends Storage {
  readonly backend: 'js';
  /** The dtype's host layout: f16 and bf16 as Uint16Array bits. */
  readonly data: TypedArray;
}

function storageOf(data: TypedArray): JsStorage {
  return { backend: 'js', data, byteLength: data.byteLength };
}

/** Copy a strided view into a fresh row-major array of the same layout. */
export function gatherStrided(view: StridedView<JsStorage>): TypedArray {
  const { shape, strides, offset } = view;
  const src = view.storage.data;
  const n = sizeOf(shape);
  const out = allocHost(view.dtype, n);
  const rank = shape.length;
  if (rank === 0) {
    if (n === 1) out[0] = src[offset];
    return out;
  }
  const index = new Array<number>(rank).fill(0);
  let pos = offset;
  const last = rank - 1;
  for (let i = 0; i < n; i++) {
    out[i] = src[pos];
    // Odometer increment, so each step costs O(1) amortised.
    let axis = last;
    index[axis]++;
    pos += strides[axis];
    while (index[axis] === shape[axis] && axis > 0) {
      pos -= strides[axis] * shape[axis];
      index[axis] = 0;
      axis--;
      index[axis]++;
      pos += strides[axis];
    }
  }
  return out;
}

export const jsBackend: Backend<JsStorage> = {
  name: 'js',
  upload(data: TypedArray): JsStorage {
    return storageOf(data.slice());
  },
  async read(storage: JsStorage): Promise<TypedArray> {
    return storage.data.slice();
  },
  readSync(storage: JsStorage): TypedArray {
    return storage.data.slice();
  },
  free(): void {
    // Host arrays are garbage collected; accounting happens in the core.
  },
  contiguous(view: StridedView<JsStorage>): JsStorage {
    return storageOf(gatherStrided(view));
  },
};

/** Adapt a reference kernel to the js backend: widen half-precision inputs, narrow such outputs. */
export function jsKernel<A>(ref: RefKernel<A>): Kernel<A, JsStorage> {
  return (inputs, attrs, outputs) => {
    const hostInputs = inputs.map((t) => ({
      data: toCompute(t.storage.data, t.dtype) as HostData,
      shape: t.shape,
      dtype: computeDType(t.dtype),
    }));
    const computeOutputs = outputs.map((o) => ({ shape: o.shape, dtype: computeDType(o.dtype) }));
    const results = ref(hostInputs, attrs, computeOutputs);
    return results.map((data, i) => storageOf(fromCompute(data, outputs[i].dtype)));
  };
}

export function jsKernels(table: RefKernelTable): Record<string, Kernel<never, never>> {
  return Object.fromEntries(
    Object.entries(table).map(([op, ref]) => [op, jsKernel(ref) as unknown as Kernel<never, never>]),
  );
}
