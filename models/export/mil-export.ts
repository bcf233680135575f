/**
 * A traced graph (./graph.ts) as a Core ML ML Program (iOS 16 / specification version 7, opset CoreML6),
 * written the way coremltools writes one:
 *
 * - every constant is a `const` op whose `val` is an immediate tensor, or for 10 elements or more a blob in
 *   weights/weight.bin (./../io/mil-blob.ts); every op carries a `name` attribute;
 * - float16 compute by default: inputs are declared float32 and cast to fp16 first, every float constant is
 *   stored as fp16, and each output is cast back to float32 (coremltools' default `compute_precision`);
 * - palettization (`quantizeBits` 4, 6 or 8): every float weight of more than 2048 elements becomes a
 *   `constexpr_lut_to_dense` op — a 2^n-entry look-up table found by exact 1-D k-means (./palettize.ts) and
 *   n-bit indices packed LSB-first — whose inputs are attributes, as coremltools serialises iOS 16 constexpr ops.
 *
 * Each core op becomes the MIL op with the same semantics (conv, instance_norm, layer_norm, matmul, …) or a
 * short composition where iOS 16 has none (group norm through instance_norm on [N, G, ·], conditional instance
 * norm, RMS norm, variance, attention). Reflect/replicate padding inside a convolution becomes a `pad` op.
 * What is verified and how: docs/conversion.md.
 * @module
 */
import type { DType } from '../../core/dtype.js';
import { UsageError } from '../../core/errors.js';
import {
  type CoreMLMetadata,
  type CoreMLModel,
  immediateTensor,
  type MilOperation,
  type MilValue,
  scalarString,
  tensorType,
  WEIGHT_FILE_REF,
} from '../../core/io/coreml.js';
import { ARRAY_DTYPE, MIL_DTYPE, OPSET_OF_SPEC } from '../../core/io/coreml-schema.js';
import { BLOB_DTYPE, type BlobDType, BlobWriter } from '../../core/io/mil-blob.js';
import type { Graph, GraphNode } from './graph.js';
import { packIndices, palettize } from './palettize.js';

export const COREML_SPEC_VERSION = 7;
/** coremltools' `weight_threshold`: smaller weights are kept in fp16 when palettizing. */
export const PALETTIZE_MIN_ELEMENTS = 2048;
/** coremltools writes constants of this many elements or more to weight.bin. */
const BLOB_MIN_ELEMENTS = 10;

export type ComputePrecision = 'float16' | 'float32';

export interface MilExportOptions {
  /** Default float16 (weights and activations), as coremltools' default for ML Programs. */
  readonly precision?: ComputePrecision;
  /** Palettize weights with a k-means look-up table of 2^bits entries. */
  readonly quantizeBits?: 4 | 6 | 8;
  readonly metadata?: CoreMLMetadata;
  /** Called after each weight is palettized (k-means can take a while on large models). */
  readonly onWeight?: (done: number, total: number) => void;
  /** Checked between weights: aborting stops the export (it writes nothing). */
  readonly signal?: AbortSignal;
}

export interface MilExport {
  readonly model: CoreMLModel;
  /** weights/weight.bin as parts to write in order. */
  readonly weights: Uint8Array[];
  /** Palettized weights and their reconstruction error (RMS of dequantized − original). */
  readonly palettized: readonly { readonly name: string; readonly elements: number; readonly rmsError: number }[];
}

interface Out {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: number;
}

const IDENT = /[^A-Za-z0-9_]/g;

class Builder {
  readonly ops: MilOperation[] = [];
  readonly blobs = new BlobWriter();
  readonly names = new Map<number, Out>();
  readonly palettized: { name: string; elements: number; rmsError: number }[] = [];
  #counter = 0;

  constructor(
    readonly graph: Graph,
    readonly compute: number,
    readonly bits: number | undefined,
  ) {}

  fresh(hint: string): string {
    return `${hint.replace(IDENT, '_')}_${this.#counter++}`;
  }

  /** The MIL dtype a core dtype is computed in. */
  dtypeOf(dtype: DType): number {
    if (dtype === 'i32') return MIL_DTYPE.INT32;
    if (dtype === 'u8') return MIL_DTYPE.BOOL;
    return this.compute;
  }

  value(id: number): Out {
    const v = this.names.get(id);
    if (!v) throw new UsageError(`Core ML export: value ${id} is used before it is defined`);
    return v;
  }

  op(
    type: string,
    inputs: Readonly<Record<string, string | readonly string[]>>,
    out: Out,
    attributes: Record<string, MilValue> = {},
  ): Out {
    this.ops.push({
      type,
      inputs: Object.fromEntries(
        Object.entries(inputs).map(([k, v]) => [
          k,
          { arguments: (Array.isArray(v) ? v : [v]).map((name) => ({ name })) },
        ]),
      ),
      outputs: [{ name: out.name, type: tensorType(out.dtype, out.shape) }],
      attributes: { name: scalarString(out.name), ...attributes },
    });
    return out;
  }

  tmp(hint: string, shape: readonly number[], dtype: number = this.compute): Out {
    return { name: this.fresh(hint), shape, dtype };
  }

  /** A `const` op; values in their natural form (floats, ints, 0/1, strings). */
  constant(
    hint: string,
    dtype: number,
    shape: readonly number[],
    values: ArrayLike<number> | readonly string[],
  ): string {
    const out = this.tmp(hint, shape, dtype);
    this.ops.push({
      type: 'const',
      outputs: [{ name: out.name, type: tensorType(dtype, shape) }],
      attributes: { name: scalarString(out.name), val: this.constValue(dtype, shape, values) },
    });
    return out.name;
  }

  constValue(dtype: number, shape: readonly number[], values: ArrayLike<number> | readonly string[]): MilValue {
    const blob = blobData(dtype, values);
    if (values.length >= BLOB_MIN_ELEMENTS && blob) {
      const offset = this.blobs.add(blob.dtype, blob.bytes);
      return { type: tensorType(dtype, shape), blobFileValue: { fileName: WEIGHT_FILE_REF, offset } };
    }
    return immediateTensor(dtype, shape, values);
  }

  ints(hint: string, values: readonly number[]): string {
    return this.constant(hint, MIL_DTYPE.INT32, [values.length], values);
  }
  int(hint: string, v: number): string {
    return this.constant(hint, MIL_DTYPE.INT32, [], [v]);
  }
  bool(hint: string, v: boolean): string {
    return this.constant(hint, MIL_DTYPE.BOOL, [], [v ? 1 : 0]);
  }
  str(hint: string, s: string): string {
    return this.constant(hint, MIL_DTYPE.STRING, [], [s]);
  }
  /** A scalar in the compute dtype. */
  float(hint: string, v: number): string {
    return this.constant(hint, this.compute, [], [v]);
  }
  fp32(hint: string, v: number): string {
    return this.constant(hint, MIL_DTYPE.FLOAT32, [], [v]);
  }
  fill(hint: string, v: number, length: number): string {
    return this.constant(hint, this.compute, [length], new Float32Array(length).fill(v));
  }

  /** A graph constant: a `const`, or for large float weights when palettizing, a `constexpr_lut_to_dense`. */
  graphConstant(id: number): Out {
    const c = this.graph.constants.get(id)!;
    const dtype = this.dtypeOf(c.dtype);
    const out = { name: this.fresh(c.name), shape: c.shape, dtype };
    if (this.bits !== undefined && dtype === this.compute && c.data.length > PALETTIZE_MIN_ELEMENTS) {
      const values = Float32Array.from(c.data as ArrayLike<number>);
      const { lut, indices, rmsError } = palettize(values, this.bits, this.compute === MIL_DTYPE.FLOAT16);
      const packed = packIndices(indices, this.bits);
      this.ops.push({
        type: 'constexpr_lut_to_dense',
        outputs: [{ name: out.name, type: tensorType(dtype, c.shape) }],
        attributes: {
          name: scalarString(out.name),
          lut: this.constValue(dtype, [lut.length], lut),
          indices: this.constValue(MIL_DTYPE.UINT8, [packed.length], packed),
          shape: immediateTensor(MIL_DTYPE.UINT32, [c.shape.length], c.shape),
        },
      });
      this.palettized.push({ name: c.name, elements: values.length, rmsError });
    } else {
      const name = this.constant(c.name, dtype, c.shape, c.data as ArrayLike<number>);
      return { ...out, name };
    }
    return out;
  }
}

function blobData(
  dtype: number,
  values: ArrayLike<number> | readonly string[],
): { dtype: BlobDType; bytes: Uint8Array } | null {
  const nums = values as ArrayLike<number>;
  switch (dtype) {
    case MIL_DTYPE.FLOAT16: {
      const v = immediateTensor(dtype, [nums.length], nums).immediateValue?.tensor?.bytes?.values as Uint8Array;
      return { dtype: BLOB_DTYPE.Float16, bytes: v };
    }
    case MIL_DTYPE.FLOAT32: {
      const f = Float32Array.from(nums);
      return { dtype: BLOB_DTYPE.Float32, bytes: new Uint8Array(f.buffer) };
    }
    case MIL_DTYPE.UINT8:
      return { dtype: BLOB_DTYPE.UInt8, bytes: Uint8Array.from(nums) };
    case MIL_DTYPE.INT8:
      return { dtype: BLOB_DTYPE.Int8, bytes: new Uint8Array(Int8Array.from(nums).buffer) };
    default:
      return null;
  }
}

type Emit = (b: Builder, node: GraphNode, x: readonly Out[], out: Out) => void;

const SAME_NAME_UNARY: readonly string[] = [
  'relu',
  'sigmoid',
  'tanh',
  'exp',
  'sqrt',
  'abs',
  'sign',
  'square',
  'sin',
  'cos',
  'erf',
  'silu',
];
const BINARY: Readonly<Record<string, string>> = {
  add: 'add',
  sub: 'sub',
  mul: 'mul',
  div: 'real_div',
  pow: 'pow',
  maximum: 'maximum',
  minimum: 'minimum',
};
const COMPARE: Readonly<Record<string, string>> = {
  equal: 'equal',
  notEqual: 'not_equal',
  less: 'less',
  lessEqual: 'less_equal',
  greater: 'greater',
  greaterEqual: 'greater_equal',
};
const REDUCE: Readonly<Record<string, string>> = {
  sum: 'reduce_sum',
  mean: 'reduce_mean',
  max: 'reduce_max',
  min: 'reduce_min',
  prod: 'reduce_prod',
  logsumexp: 'reduce_log_sum_exp',
};

function reduce(b: Builder, type: string, x: Out, axes: readonly number[], keep: boolean, out?: Out): Out {
  const rank = x.shape.length;
  const norm = axes.map((a) => (a < 0 ? a + rank : a));
  const shape = keep ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !norm.includes(i));
  return b.op(
    type,
    { x: x.name, axes: b.ints('axes', norm), keep_dims: b.bool('keep_dims', keep) },
    out ?? b.tmp(type, shape, x.dtype),
  );
}

function reshape(b: Builder, x: Out, shape: readonly number[], out?: Out): Out {
  return b.op('reshape', { x: x.name, shape: b.ints('shape', shape) }, out ?? b.tmp('reshape', shape, x.dtype));
}

function argReduce(b: Builder, type: string, n: GraphNode, x: Out, out: Out): void {
  const axis = b.int('axis', n.attrs.axis as number);
  b.op(type, { x: x.name, axis, keep_dims: b.bool('keep_dims', n.attrs.keepDims as boolean) }, out);
}

/** y · scale + shift, with scale and shift [C] or [N, C] broadcast over y [N, C, ...]. */
function affine(b: Builder, y: Out, scale: Out | undefined, shift: Out | undefined, out: Out): void {
  const param = (p: Out) => reshape(b, p, [...p.shape, ...new Array<number>(y.shape.length - 2).fill(1)]);
  let r = y;
  if (scale) r = b.op('mul', { x: r.name, y: param(scale).name }, shift ? b.tmp('scaled', y.shape) : out);
  if (shift) r = b.op('add', { x: r.name, y: param(shift).name }, out);
  if (!scale && !shift) b.op('identity', { x: r.name }, out);
}

const EMIT: Readonly<Record<string, Emit>> = {
  ...Object.fromEntries(
    SAME_NAME_UNARY.map((op) => [
      op,
      (b: Builder, _n: GraphNode, x: readonly Out[], out: Out) => void b.op(op, { x: x[0].name }, out),
    ]),
  ),
  ...Object.fromEntries(
    Object.entries(BINARY).map(([op, t]) => [
      op,
      (b: Builder, _n: GraphNode, x: readonly Out[], out: Out) => void b.op(t, { x: x[0].name, y: x[1].name }, out),
    ]),
  ),
  ...Object.fromEntries(
    Object.entries(COMPARE).map(([op, t]) => [
      op,
      (b: Builder, _n: GraphNode, x: readonly Out[], out: Out) => void b.op(t, { x: x[0].name, y: x[1].name }, out),
    ]),
  ),
  ...Object.fromEntries(
    Object.entries(REDUCE).map(([op, t]) => [
      op,
      (b: Builder, n: GraphNode, x: readonly Out[], out: Out) =>
        void reduce(b, t, x[0], n.attrs.axes as number[], n.attrs.keepDims as boolean, out),
    ]),
  ),
  neg: (b, _n, x, out) => b.op('mul', { x: x[0].name, y: b.float('minus_one', -1) }, out),
  log: (b, _n, x, out) => b.op('log', { x: x[0].name }, out),
  rsqrt: (b, _n, x, out) => b.op('rsqrt', { x: x[0].name }, out),
  gelu: (b, _n, x, out) => b.op('gelu', { x: x[0].name, mode: b.str('mode', 'EXACT') }, out),
  copy: (b, _n, x, out) => b.op('identity', { x: x[0].name }, out),
  clamp: (b, n, x, out) => {
    const { min, max } = n.attrs as { min: number; max: number };
    if (Number.isFinite(min) && Number.isFinite(max)) {
      b.op('clip', { x: x[0].name, alpha: b.float('alpha', min), beta: b.float('beta', max) }, out);
    } else if (Number.isFinite(min)) {
      b.op('maximum', { x: x[0].name, y: b.float('min', min) }, out);
    } else if (Number.isFinite(max)) {
      b.op('minimum', { x: x[0].name, y: b.float('max', max) }, out);
    } else b.op('identity', { x: x[0].name }, out);
  },
  cast: (b, n, x, out) => {
    const to = n.attrs.dtype as DType;
    if (out.dtype === x[0].dtype) {
      b.op('identity', { x: x[0].name }, out);
      return;
    }
    const name = {
      [MIL_DTYPE.INT32]: 'int32',
      [MIL_DTYPE.FLOAT16]: 'fp16',
      [MIL_DTYPE.FLOAT32]: 'fp32',
      [MIL_DTYPE.BOOL]: 'bool',
    }[out.dtype];
    if (!name || (to === 'u8' && x[0].dtype !== MIL_DTYPE.BOOL)) {
      throw new UsageError(`Core ML export: cast to ${to} from a non-boolean value has no MIL equivalent`);
    }
    b.op('cast', { x: x[0].name, dtype: b.str('dtype', name) }, out);
  },
  where: (b, _n, x, out) => b.op('select', { cond: x[0].name, a: x[1].name, b: x[2].name }, out),
  reshape: (b, n, x, out) => void reshape(b, x[0], n.attrs.shape as number[], out),
  permute: (b, n, x, out) => b.op('transpose', { x: x[0].name, perm: b.ints('perm', n.attrs.perm as number[]) }, out),
  expand: (b, n, x, out) => {
    const target = n.attrs.shape as number[];
    const src = [...new Array<number>(target.length - x[0].shape.length).fill(1), ...x[0].shape];
    const padded = src.length === x[0].shape.length ? x[0] : reshape(b, x[0], src);
    b.op(
      'tile',
      {
        x: padded.name,
        reps: b.ints(
          'reps',
          target.map((d, i) => (src[i] === d ? 1 : d)),
        ),
      },
      out,
    );
  },
  concat: (b, n, x, out) =>
    b.op(
      'concat',
      {
        values: x.map((v) => v.name),
        axis: b.int('axis', n.attrs.axis as number),
        interleave: b.bool('interleave', false),
      },
      out,
    ),
  gather: (b, n, x, out) =>
    b.op('gather', { x: x[0].name, indices: x[1].name, axis: b.int('axis', n.attrs.axis as number) }, out),
  slice: (b, n, x, out) => {
    // Core slices have positive steps and in-range begins (kernels/layout/layout.ts).
    const { begin, size, step } = n.attrs as { begin: number[]; size: number[]; step: number[] };
    const ends = begin.map((s, i) => s + (size[i] - 1) * step[i] + 1);
    b.op(
      'slice_by_index',
      { x: x[0].name, begin: b.ints('begin', begin), end: b.ints('end', ends), stride: b.ints('stride', step) },
      out,
    );
  },
  pad: (b, n, x, out) => {
    const { pads, mode, value } = n.attrs as { pads: [number, number][]; mode: string; value: number };
    const first = pads.findIndex(([p, q]) => p > 0 || q > 0);
    const tail = first < 0 ? pads.slice(-1) : pads.slice(first);
    const milMode = { constant: 'constant', reflect: 'reflect', edge: 'replicate' }[mode] as string;
    b.op(
      'pad',
      {
        x: x[0].name,
        pad: b.ints('pad', tail.flat()),
        mode: b.str('mode', milMode),
        constant_val: b.float('constant_val', value),
      },
      out,
    );
  },
  conv2d: (b, n, x, out) => {
    const a = n.attrs as { stride: number[]; padding: number[]; dilation: number[]; groups: number; padMode?: string };
    let input = x[0];
    let pad = a.padding;
    if (a.padMode) {
      const [t, bo, l, r] = a.padding;
      const shape = [input.shape[0], input.shape[1], input.shape[2] + t + bo, input.shape[3] + l + r];
      const mode = a.padMode === 'replicate' ? 'replicate' : 'reflect';
      input = b.op(
        'pad',
        { x: input.name, pad: b.ints('pad', [t, bo, l, r]), mode: b.str('mode', mode) },
        b.tmp('pad', shape),
      );
      pad = [0, 0, 0, 0];
    }
    const inputs: Record<string, string> = {
      x: input.name,
      weight: x[1].name,
      strides: b.ints('strides', a.stride),
      pad_type: b.str('pad_type', 'custom'),
      pad: b.ints('pad', pad),
      dilations: b.ints('dilations', a.dilation),
      groups: b.int('groups', a.groups),
    };
    if (x[2]) inputs.bias = x[2].name;
    b.op('conv', inputs, out);
  },
  resize: (b, n, x, out) => {
    const { size, mode, coordinate } = n.attrs as { size: [number, number]; mode: string; coordinate: string };
    const [h, w] = [x[0].shape[2], x[0].shape[3]];
    if (mode === 'nearest') {
      if (coordinate !== 'asymmetric' || size[0] % h !== 0 || size[1] % w !== 0) {
        throw new UsageError(
          `Core ML export: nearest resize ${h}×${w} → ${size.join('×')} (${coordinate}) is not an integer upsampling; only those convert`,
        );
      }
      b.op(
        'upsample_nearest_neighbor',
        {
          x: x[0].name,
          scale_factor_height: b.fp32('scale_h', size[0] / h),
          scale_factor_width: b.fp32('scale_w', size[1] / w),
        },
        out,
      );
      return;
    }
    const sampling = { asymmetric: 'DEFAULT', halfPixel: 'UNALIGN_CORNERS', alignCorners: 'STRICT_ALIGN_CORNERS' }[
      coordinate
    ] as string;
    b.op(
      'resize_bilinear',
      {
        x: x[0].name,
        target_size_height: b.int('height', size[0]),
        target_size_width: b.int('width', size[1]),
        sampling_mode: b.str('sampling_mode', sampling),
      },
      out,
    );
  },
  matmul: (b, n, x, out) => {
    const { transposeA, transposeB } = n.attrs as { transposeA: boolean; transposeB: boolean };
    b.op(
      'matmul',
      {
        x: x[0].name,
        y: x[1].name,
        transpose_x: b.bool('transpose_x', transposeA),
        transpose_y: b.bool('transpose_y', transposeB),
      },
      out,
    );
  },
  layerNorm: (b, n, x, out) => {
    const { eps, hasWeight, hasBias } = n.attrs as { eps: number; hasWeight: boolean; hasBias: boolean };
    const inputs: Record<string, string> = {
      x: x[0].name,
      axes: b.ints('axes', [x[0].shape.length - 1]),
      epsilon: b.float('epsilon', eps),
    };
    if (hasWeight) inputs.gamma = x[1].name;
    if (hasBias) inputs.beta = x[hasWeight ? 2 : 1].name;
    b.op('layer_norm', inputs, out);
  },
  rmsNorm: (b, n, x, out) => {
    const { eps, hasWeight } = n.attrs as { eps: number; hasWeight: boolean };
    const ms = reduce(b, 'reduce_mean', b.op('square', { x: x[0].name }, b.tmp('square', x[0].shape)), [-1], true);
    const inv = b.op(
      'rsqrt',
      { x: b.op('add', { x: ms.name, y: b.float('eps', eps) }, b.tmp('add', ms.shape)).name },
      b.tmp('rsqrt', ms.shape),
    );
    if (!hasWeight) {
      b.op('mul', { x: x[0].name, y: inv.name }, out);
      return;
    }
    const normed = b.op('mul', { x: x[0].name, y: inv.name }, b.tmp('normed', x[0].shape));
    b.op('mul', { x: normed.name, y: x[1].name }, out);
  },
  instanceNorm: (b, n, x, out) => {
    const { eps, hasScale, hasShift } = n.attrs as { eps: number; hasScale: boolean; hasShift: boolean };
    const scale = hasScale ? x[1] : undefined;
    const shift = hasShift ? x[hasScale ? 2 : 1] : undefined;
    const isConst = (k: number) => b.graph.constants.has(n.inputs[k]);
    const direct =
      (!scale || (scale.shape.length === 1 && isConst(1))) &&
      (!shift || (shift.shape.length === 1 && isConst(hasScale ? 2 : 1)));
    const inputs: Record<string, string> = { x: x[0].name, epsilon: b.float('epsilon', eps) };
    if (direct) {
      if (scale) inputs.gamma = scale.name;
      if (shift) inputs.beta = shift.name;
      b.op('instance_norm', inputs, out);
      return;
    }
    // Per-sample (conditional) or computed scale and shift: normalise, then the affine.
    const y = b.op('instance_norm', inputs, b.tmp('instance_norm', x[0].shape));
    affine(b, y, scale, shift, out);
  },
  groupNorm: (b, n, x, out) => {
    const { groups, eps, hasWeight, hasBias } = n.attrs as {
      groups: number;
      eps: number;
      hasWeight: boolean;
      hasBias: boolean;
    };
    const shape = x[0].shape;
    const rest = shape.slice(1).reduce((p, d) => p * d, 1) / groups;
    const grouped = reshape(b, x[0], [shape[0], groups, rest]);
    const normed = b.op(
      'instance_norm',
      { x: grouped.name, epsilon: b.float('epsilon', eps) },
      b.tmp('instance_norm', grouped.shape),
    );
    const back = reshape(b, normed, shape);
    affine(b, back, hasWeight ? x[1] : undefined, hasBias ? x[hasWeight ? 2 : 1] : undefined, out);
  },
  variance: (b, n, x, out) => {
    const { axes, keepDims, correction } = n.attrs as { axes: number[]; keepDims: boolean; correction: number };
    const count = axes.reduce((p, a) => p * x[0].shape[a], 1);
    const m = reduce(b, 'reduce_mean', x[0], axes, true);
    const d = b.op('sub', { x: x[0].name, y: m.name }, b.tmp('centered', x[0].shape));
    const sq = b.op('square', { x: d.name }, b.tmp('square', x[0].shape));
    const v = reduce(b, 'reduce_mean', sq, axes, keepDims);
    b.op('mul', { x: v.name, y: b.float('bessel', count / Math.max(count - correction, 0)) }, out);
  },
  softmax: (b, n, x, out) => b.op('softmax', { x: x[0].name, axis: b.int('axis', n.attrs.axis as number) }, out),
  logSoftmax: (b, n, x, out) => {
    const lse = reduce(b, 'reduce_log_sum_exp', x[0], [n.attrs.axis as number], true);
    b.op('sub', { x: x[0].name, y: lse.name }, out);
  },
  argmax: (b, n, x, out) => argReduce(b, 'reduce_argmax', n, x[0], out),
  argmin: (b, n, x, out) => argReduce(b, 'reduce_argmin', n, x[0], out),
  avgPool2d: (b, n, x, out) => {
    const a = n.attrs as { kernel: number[]; stride: number[]; padding: number[]; countIncludePad: boolean };
    b.op(
      'avg_pool',
      {
        x: x[0].name,
        kernel_sizes: b.ints('kernel_sizes', a.kernel),
        strides: b.ints('strides', a.stride),
        pad_type: b.str('pad_type', 'custom'),
        pad: b.ints('pad', a.padding),
        exclude_padding_from_average: b.bool('exclude_padding', !a.countIncludePad),
      },
      out,
    );
  },
  maxPool2d: (b, n, x, out) => {
    const a = n.attrs as { kernel: number[]; stride: number[]; padding: number[]; dilation: number[] };
    if (a.dilation.some((d) => d !== 1))
      throw new UsageError('Core ML export: max pooling with dilation has no MIL equivalent');
    b.op(
      'max_pool',
      {
        x: x[0].name,
        kernel_sizes: b.ints('kernel_sizes', a.kernel),
        strides: b.ints('strides', a.stride),
        pad_type: b.str('pad_type', 'custom'),
        pad: b.ints('pad', a.padding),
      },
      out,
    );
  },
  scaledDotProductAttention: (b, n, x, out) => {
    const { scale, causal } = n.attrs as { scale: number; causal: boolean };
    const [q, k, v, mask] = x;
    const [batch, heads, T] = q.shape;
    const [, kvHeads, S] = k.shape;
    const repeat = (t: Out) => {
      if (kvHeads === heads) return t;
      const g = heads / kvHeads;
      const five = reshape(b, t, [batch, kvHeads, 1, t.shape[2], t.shape[3]]);
      const wide = b.op(
        'tile',
        { x: five.name, reps: b.ints('reps', [1, 1, g, 1, 1]) },
        b.tmp('tile', [batch, kvHeads, g, t.shape[2], t.shape[3]]),
      );
      return reshape(b, wide, [batch, heads, t.shape[2], t.shape[3]]);
    };
    const scoresShape = [batch, heads, T, S];
    let scores = b.op(
      'matmul',
      {
        x: q.name,
        y: repeat(k).name,
        transpose_x: b.bool('transpose_x', false),
        transpose_y: b.bool('transpose_y', true),
      },
      b.tmp('scores', scoresShape),
    );
    scores = b.op('mul', { x: scores.name, y: b.float('scale', scale) }, b.tmp('scaled', scoresShape));
    if (mask) scores = b.op('add', { x: scores.name, y: mask.name }, b.tmp('masked', scoresShape));
    if (causal) {
      const m = new Float32Array(T * S);
      // -65504 is fp16's lowest finite value: softmax gives those keys zero weight.
      for (let t = 0; t < T; t++) for (let s = 0; s < S; s++) m[t * S + s] = s > t + S - T ? -65504 : 0;
      scores = b.op(
        'add',
        { x: scores.name, y: b.constant('causal', b.compute, [T, S], m) },
        b.tmp('causal', scoresShape),
      );
    }
    const p = b.op('softmax', { x: scores.name, axis: b.int('axis', -1) }, b.tmp('weights', scoresShape));
    b.op(
      'matmul',
      {
        x: p.name,
        y: repeat(v).name,
        transpose_x: b.bool('transpose_x', false),
        transpose_y: b.bool('transpose_y', false),
      },
      out,
    );
  },
};

/** Core ops this exporter translates. */
export const MIL_EXPORTABLE_OPS: ReadonlySet<string> = new Set(Object.keys(EMIT));

/** Build the ML Program for `graph`. */
export function exportMil(graph: Graph, options: MilExportOptions = {}): MilExport {
  const missing = [...new Set(graph.nodes.map((n) => n.op).filter((op) => !MIL_EXPORTABLE_OPS.has(op)))];
  if (missing.length > 0) {
    throw new UsageError(
      `Core ML export: no MIL translation for the op(s) ${missing.join(', ')} (supported: ${[...MIL_EXPORTABLE_OPS].sort().join(', ')})`,
    );
  }
  const fp16 = (options.precision ?? 'float16') === 'float16';
  const compute = fp16 ? MIL_DTYPE.FLOAT16 : MIL_DTYPE.FLOAT32;
  const b = new Builder(graph, compute, options.quantizeBits);
  // Core ML takes float32 (or int32) arrays; integer inputs (token ids) are declared float32 and cast, as
  // Apple's Stable Diffusion text encoders take them.
  const fnInputs = graph.inputs.map((i) => {
    if (i.value.dtype !== 'f32' && i.value.dtype !== 'i32') {
      throw new UsageError(
        `Core ML export: input "${i.name}" is ${i.value.dtype}; only float32 and int32 inputs convert`,
      );
    }
    return { name: i.name, type: tensorType(MIL_DTYPE.FLOAT32, i.value.shape) };
  });
  for (const i of graph.inputs) {
    const declared = { name: i.name, shape: i.value.shape, dtype: MIL_DTYPE.FLOAT32 };
    let value: Out = declared;
    if (i.value.dtype === 'i32') {
      value = b.op(
        'cast',
        { x: i.name, dtype: b.str('dtype', 'int32') },
        b.tmp(`${i.name}_int32`, i.value.shape, MIL_DTYPE.INT32),
      );
    } else if (fp16) {
      value = b.op(
        'cast',
        { x: i.name, dtype: b.str('dtype', 'fp16') },
        b.tmp(`${i.name}_fp16`, i.value.shape, compute),
      );
    }
    b.names.set(i.value.id, value);
  }
  const weightCount = [...graph.constants.values()].filter((c) => c.data.length > PALETTIZE_MIN_ELEMENTS).length;
  let weightsDone = 0;
  const outputIds = new Map(graph.outputs.map((o) => [o.value.id, o.name]));
  for (const node of graph.nodes) {
    const x = node.inputs.map((id) => {
      if (!b.names.has(id) && graph.constants.has(id)) {
        options.signal?.throwIfAborted();
        const before = b.palettized.length;
        b.names.set(id, b.graphConstant(id));
        if (b.palettized.length > before) options.onWeight?.(++weightsDone, weightCount);
      }
      return b.value(id);
    });
    const info = graph.values.get(node.outputs[0])!;
    const outName = outputIds.get(node.outputs[0]);
    const dtype = b.dtypeOf(info.dtype);
    // An output computed in fp16 gets a cast to fp32 under its own name.
    const direct = outName !== undefined && (dtype !== compute || !fp16) ? outName : b.fresh(node.op);
    const out: Out = { name: direct, shape: info.shape, dtype };
    EMIT[node.op](b, node, x, out);
    b.names.set(node.outputs[0], out);
  }
  for (const o of graph.outputs) {
    const v = b.value(o.value.id);
    if (v.name !== o.name) {
      if (v.dtype === compute && fp16)
        b.op(
          'cast',
          { x: v.name, dtype: b.str('dtype', 'fp32') },
          { name: o.name, shape: v.shape, dtype: MIL_DTYPE.FLOAT32 },
        );
      else b.op('identity', { x: v.name }, { name: o.name, shape: v.shape, dtype: v.dtype });
    }
  }
  const ioType = (shape: readonly number[], dtype: DType) => ({
    multiArrayType: { shape: [...shape], dataType: dtype === 'i32' ? ARRAY_DTYPE.INT32 : ARRAY_DTYPE.FLOAT32 },
  });
  const opset = OPSET_OF_SPEC[COREML_SPEC_VERSION];
  const model: CoreMLModel = {
    specificationVersion: COREML_SPEC_VERSION,
    description: {
      input: graph.inputs.map((i) => ({ name: i.name, type: ioType(i.value.shape, 'f32') })),
      output: graph.outputs.map((o) => ({
        name: o.name,
        type: ioType(o.value.shape, o.value.dtype === 'i32' ? 'i32' : 'f32'),
      })),
      ...(options.metadata ? { metadata: options.metadata } : {}),
    },
    mlProgram: {
      version: 1,
      functions: {
        main: {
          inputs: fnInputs,
          opset,
          block_specializations: { [opset]: { outputs: graph.outputs.map((o) => o.name), operations: b.ops } },
        },
      },
    },
  };
  return { model, weights: b.blobs.finish(), palettized: b.palettized };
}
