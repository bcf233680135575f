/**
 * wasm layout kernels (kernels/layout/wasm.as). Copies move raw elements, so copy, concat,
 * gather, pad and sliceScatter serve every stored dtype (half bits untouched); scatterAdd and
 * padGrad add, in f32 (halves widened), other dtypes running the reference.
 */
import { viewOf } from '../../backends/wasm/backend.js';
import { kernelTable, type WasmTensor, wasmKernel } from '../../backends/wasm/kernel.js';
import { NS_PER_BYTE, type WasmRuntime } from '../../backends/wasm/runtime.js';
import { bytesPerElement, type DType, elementBits } from '../../core/dtype.js';
import { ShapeError } from '../../core/errors.js';
import { contiguousStrides, sizeOf } from '../../core/shape.js';
import type { ConcatAttrs, GatherAttrs, PadAttrs, SliceAttrs } from './layout.js';
import { refKernels } from './ref.js';

/** Bytes per unit of a plain copy: big enough to amortise a thread wake-up, small enough to split. */
const COPY_CHUNK = 1 << 16;
const SCATTER_CHUNK = 256;
const PAD_MODES: Record<PadAttrs['mode'], number> = { constant: 0, reflect: 1, edge: 2 };

/** Dtypes whose elements the copy kernels move (f64 stays on the reference: 8-byte pad values). */
const RAW: readonly DType[] = ['f32', 'f16', 'bf16', 'i32', 'u8', 'i8', 'u32'];

function copyBytes(rt: WasmRuntime, src: number, dst: number, bytes: number): void {
  rt.run('copy_bytes', [src, dst, bytes, COPY_CHUNK], Math.ceil(bytes / COPY_CHUNK), COPY_CHUNK * NS_PER_BYTE);
}

const copy = wasmKernel<unknown>({
  op: 'copy',
  ref: refKernels.copy,
  raw: true,
  accepts: () => true,
  run(rt, [x], _attrs, [y]) {
    copyBytes(rt, x.ptr, y.ptr, x.size * bytesPerElement(x.dtype));
  },
});

const concat = wasmKernel<ConcatAttrs>({
  op: 'concat',
  ref: refKernels.concat,
  raw: true,
  accepts: () => true,
  run(rt, inputs, { axis }, [y]) {
    if (y.size === 0) return;
    const eb = bytesPerElement(y.dtype);
    const outer = sizeOf(y.shape.slice(0, axis));
    const inner = sizeOf(y.shape.slice(axis + 1));
    const outRow = y.shape[axis] * inner * eb;
    let col = 0;
    for (const t of inputs) {
      const rowBytes = t.shape[axis] * inner * eb;
      if (rowBytes > 0)
        rt.run('copy_rows', [t.ptr, y.ptr + col, rowBytes, rowBytes, outRow], outer, rowBytes * NS_PER_BYTE + 20);
      col += rowBytes;
    }
  },
});

/** Indices checked (and negatives wrapped) on the host: the reference's error for out-of-range ones. */
function normalizedIndices(
  rt: WasmRuntime,
  indices: WasmTensor,
  dim: number,
  axis: number,
): { ptr: number; temp: boolean } {
  const view = viewOf(rt, 'i32', indices.ptr, indices.size) as Int32Array;
  let negative = false;
  for (let k = 0; k < view.length; k++) {
    const i = view[k];
    if (i < -dim || i >= dim)
      throw new ShapeError(`gather: index ${i} is out of range for axis ${axis} of size ${dim}`);
    if (i < 0) negative = true;
  }
  if (!negative) return { ptr: indices.ptr, temp: false };
  const ptr = rt.record(Array.from(view, (i) => (i < 0 ? i + dim : i)));
  return { ptr, temp: true };
}

const gather = wasmKernel<GatherAttrs>({
  op: 'gather',
  ref: refKernels.gather,
  raw: true,
  accepts: ([, indices]) => indices.dtype === 'i32',
  run(rt, [x, indices], { axis }, [y]) {
    const dim = x.shape[axis];
    const idx = normalizedIndices(rt, indices, dim, axis);
    try {
      if (y.size === 0) return;
      const outer = sizeOf(x.shape.slice(0, axis));
      const innerBytes = sizeOf(x.shape.slice(axis + 1)) * bytesPerElement(x.dtype);
      rt.run(
        'gather_rows',
        [x.ptr, idx.ptr, y.ptr, dim, indices.size, innerBytes],
        outer * indices.size,
        innerBytes * NS_PER_BYTE + 20,
      );
    } finally {
      if (idx.temp) rt.free(idx.ptr);
    }
  },
});

const scatterAdd = wasmKernel<GatherAttrs & { inputShape: readonly number[] }>({
  op: 'scatterAdd',
  ref: refKernels.scatterAdd,
  accepts: ([g, indices]) => g.dtype === 'f32' && indices.dtype === 'i32',
  run(rt, [g, indices], { axis, inputShape }, [y]) {
    const dim = inputShape[axis];
    const idx = normalizedIndices(rt, indices, dim, axis);
    try {
      if (y.size === 0) return;
      const outer = sizeOf(inputShape.slice(0, axis));
      const inner = sizeOf(inputShape.slice(axis + 1));
      const chunks = Math.ceil(inner / SCATTER_CHUNK);
      if (chunks === 0) return;
      rt.run(
        'scatter_add_f32',
        [g.ptr, idx.ptr, y.ptr, dim, indices.size, inner],
        outer * chunks,
        (indices.size + dim) * Math.min(inner, SCATTER_CHUNK) * 0.5,
      );
    } finally {
      if (idx.temp) rt.free(idx.ptr);
    }
  },
});

const sliceScatter = wasmKernel<SliceAttrs & { inputShape: readonly number[] }>({
  op: 'sliceScatter',
  ref: refKernels.sliceScatter,
  raw: true,
  accepts: () => true,
  run(rt, [g], { begin, size, step, inputShape }, [y]) {
    const eb = bytesPerElement(y.dtype);
    new Uint8Array(rt.buffer, y.ptr, y.size * eb).fill(0);
    const n = sizeOf(size);
    if (n === 0) return;
    const full = contiguousStrides(inputShape);
    const strides = size.map((_, a) => full[a] * step[a]);
    const offset = begin.reduce((s, b, a) => s + b * full[a], 0);
    const rowLength = size.length ? size[size.length - 1] : 1;
    const meta = rt.record([size.length, ...size, ...strides]);
    try {
      rt.run('strided_scatter', [g.ptr, y.ptr, eb, offset, meta], n / rowLength, rowLength + 20);
    } finally {
      rt.free(meta);
    }
  },
});

function padMeta(rt: WasmRuntime, shape: readonly number[], attrs: PadAttrs, dtype: DType): number {
  return rt.record([
    shape.length,
    PAD_MODES[attrs.mode],
    elementBits(attrs.value, dtype),
    ...shape,
    ...attrs.pads.map((p) => p[0]),
    ...attrs.pads.map((p) => p[1]),
  ]);
}

const pad = wasmKernel<PadAttrs>({
  op: 'pad',
  ref: refKernels.pad,
  raw: true,
  accepts: ([x]) => RAW.includes(x.dtype),
  run(rt, [x], attrs, [y]) {
    if (y.size === 0) return;
    const eb = bytesPerElement(x.dtype);
    if (x.shape.length === 0) {
      copyBytes(rt, x.ptr, y.ptr, eb);
      return;
    }
    const rowLength = y.shape[y.shape.length - 1];
    const meta = padMeta(rt, x.shape, attrs, x.dtype);
    try {
      rt.run('pad_rows', [x.ptr, y.ptr, eb, meta], y.size / rowLength, rowLength + 20);
    } finally {
      rt.free(meta);
    }
  },
});

const padGrad = wasmKernel<PadAttrs & { inputShape: readonly number[] }>({
  op: 'padGrad',
  ref: refKernels.padGrad,
  run(rt, [g], attrs, [y]) {
    if (y.size === 0) return;
    const { inputShape, pads } = attrs;
    let lead = 0;
    while (lead < inputShape.length - 1 && pads[lead][0] === 0 && pads[lead][1] === 0) lead++;
    const units = sizeOf(inputShape.slice(0, lead));
    const meta = padMeta(rt, inputShape, attrs, 'f32');
    try {
      rt.run('pad_grad_f32', [g.ptr, y.ptr, lead, meta], units, (g.size / units) * 3);
    } finally {
      rt.free(meta);
    }
  },
});

export const wasmKernels = kernelTable({ copy, concat, gather, scatterAdd, sliceScatter, pad, padGrad });
