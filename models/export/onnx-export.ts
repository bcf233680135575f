/**
 * A traced graph (./graph.ts) as an ONNX model, opset 17 (https://onnx.ai/onnx/operators/), encoded with
 * onnx-proto (protobufjs code generated from onnx.proto). Each core op becomes the ONNX operator with the same
 * semantics, or a short composition where opset 17 has none: GELU (exact, erf), SiLU, RMS norm, group norm
 * (an InstanceNormalization over the groups, then the per-channel affine), conditional instance norm (per-sample
 * scale and shift), variance and attention. Reflect/replicate padding inside a convolution becomes a Pad before
 * the Conv. Shapes are the traced ones (fixed input shapes).
 *
 * The result is checked where it is used: tests run it in onnxruntime-node against the toolkit's own output.
 * @module
 */
import onnxProto from 'onnx-proto';
import { type DType, f32ArrayToF16, type TypedArray } from '../../core/dtype.js';
import { UsageError } from '../../core/errors.js';
import type { Graph, GraphNode } from './graph.js';

const { onnx } = onnxProto;

export const ONNX_OPSET = 17;
/** IR version 8 goes with opsets up to 17 (onnx 1.12–1.13). */
const IR_VERSION = 8;

/** ONNX TensorProto.DataType codes (onnx.proto). */
const DATA_TYPE: Readonly<Record<DType, number>> = {
  f32: 1,
  u8: 2,
  i8: 3,
  i32: 6,
  f16: 10,
  f64: 11,
  u32: 12,
  bf16: 16,
};
const INT64 = 7;
const BOOL = 9;
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

interface Attribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  ints?: number[];
}

export const attr = {
  int: (name: string, i: number): Attribute => ({ name, type: ATTR.INT, i }),
  ints: (name: string, ints: readonly number[]): Attribute => ({ name, type: ATTR.INTS, ints: [...ints] }),
  float: (name: string, f: number): Attribute => ({ name, type: ATTR.FLOAT, f }),
  str: (name: string, s: string): Attribute => ({ name, type: ATTR.STRING, s: new TextEncoder().encode(s) }),
};

export interface OnnxExportOptions {
  /** Stored as the model's producer and graph name. */
  readonly graphName?: string;
  /** `doc_string` of the model. */
  readonly doc?: string;
  /**
   * Keep the weights in a second file beside the model (ONNX external data), named this (relative to the
   * model). Needed past protobuf's 2 GB message limit (a Stable Diffusion UNet in float32).
   */
  readonly externalData?: string;
}

/** The model, and with `externalData` the weight file's parts in order. */
export interface OnnxExport {
  readonly model: Uint8Array;
  readonly data: readonly Uint8Array[];
}

/** Weights larger than this go to the external file when there is one (ONNX's own default threshold is 1 KB). */
const EXTERNAL_MIN_BYTES = 1024;
/** External tensors start at multiples of this (what onnx's writer aligns to for memory mapping). */
const EXTERNAL_ALIGN = 4096;

function rawBytes(data: TypedArray | BigInt64Array, dtype: DType | 'i64'): Uint8Array {
  if (dtype === 'f16' && data instanceof Float32Array) {
    const bits = f32ArrayToF16(data);
    return new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength).slice();
  }
  if (dtype === 'f32' && !(data instanceof Float32Array))
    return rawBytes(Float32Array.from(data as ArrayLike<number>), dtype);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
}

/** Builds the node list; one instance per export. */
class Emitter {
  readonly nodes: unknown[] = [];
  readonly initializers: unknown[] = [];
  #counter = 0;
  readonly #outputs: ReadonlyMap<number, string>;

  constructor(readonly graph: Graph) {
    this.#outputs = new Map(graph.outputs.map((o) => [o.value.id, o.name]));
  }

  fresh(hint: string): string {
    return `${hint}_${this.#counter++}`;
  }

  name(id: number): string {
    const output = this.#outputs.get(id);
    if (output) return output;
    const input = this.graph.inputs.find((i) => i.value.id === id);
    if (input) return input.name;
    const c = this.graph.constants.get(id);
    if (c) return c.name;
    return `v${id}`;
  }

  node(opType: string, inputs: readonly string[], attrs: Attribute[] = [], output?: string): string {
    const out = output ?? this.fresh(opType.toLowerCase());
    this.nodes.push({ opType, input: [...inputs], output: [out], attribute: attrs, name: out });
    return out;
  }

  initializer(values: TypedArray | BigInt64Array, dims: readonly number[], dtype: DType | 'i64', hint: string): string {
    const name = this.fresh(hint);
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: dtype === 'i64' ? INT64 : DATA_TYPE[dtype],
      rawData: rawBytes(values, dtype),
    });
    return name;
  }

  ints(values: readonly number[], hint = 'ints'): string {
    return this.initializer(BigInt64Array.from(values.map((v) => BigInt(v))), [values.length], 'i64', hint);
  }

  scalar(value: number, dtype: DType, hint = 'scalar'): string {
    const arr = dtype === 'i32' ? Int32Array.of(value) : dtype === 'u8' ? Uint8Array.of(value) : Float32Array.of(value);
    return this.initializer(arr, [], dtype, hint);
  }

  /** Ones (or another value) of a 1-D float shape: a default scale or shift. */
  fill(value: number, length: number, dtype: DType, hint: string): string {
    return this.initializer(new Float32Array(length).fill(value), [length], dtype, hint);
  }
}

type Translate = (e: Emitter, node: GraphNode, x: readonly string[], out: string) => void;

const UNARY: Readonly<Record<string, string>> = {
  neg: 'Neg',
  abs: 'Abs',
  sign: 'Sign',
  exp: 'Exp',
  log: 'Log',
  sqrt: 'Sqrt',
  sin: 'Sin',
  cos: 'Cos',
  tanh: 'Tanh',
  sigmoid: 'Sigmoid',
  relu: 'Relu',
  erf: 'Erf',
  copy: 'Identity',
};

const BINARY: Readonly<Record<string, string>> = {
  add: 'Add',
  sub: 'Sub',
  mul: 'Mul',
  div: 'Div',
  pow: 'Pow',
  maximum: 'Max',
  minimum: 'Min',
};

const COMPARE: Readonly<Record<string, [string, boolean]>> = {
  equal: ['Equal', false],
  less: ['Less', false],
  lessEqual: ['LessOrEqual', false],
  greater: ['Greater', false],
  greaterEqual: ['GreaterOrEqual', false],
  notEqual: ['Equal', true],
};

/** Opset 17 ReduceSum takes axes as an input; the others as an attribute. */
const REDUCE: Readonly<Record<string, string>> = {
  sum: 'ReduceSum',
  mean: 'ReduceMean',
  max: 'ReduceMax',
  min: 'ReduceMin',
  prod: 'ReduceProd',
  logsumexp: 'ReduceLogSumExp',
};

function inputInfo(e: Emitter, node: GraphNode, k: number) {
  return e.graph.values.get(node.inputs[k]) as { shape: readonly number[]; dtype: DType };
}

function reduce(e: Emitter, op: string, x: string, axes: readonly number[], keepDims: boolean, out?: string): string {
  if (op === 'ReduceSum') return e.node(op, [x, e.ints(axes, 'axes')], [attr.int('keepdims', keepDims ? 1 : 0)], out);
  return e.node(op, [x], [attr.ints('axes', axes), attr.int('keepdims', keepDims ? 1 : 0)], out);
}

/** y = x·scale + shift with scale, shift [C] or [N, C] broadcast over x [N, C, ...]. */
function affine(
  e: Emitter,
  y: string,
  xRank: number,
  scale: string | undefined,
  shift: string | undefined,
  sShape: readonly number[] | undefined,
  out: string,
): void {
  const shaped = (p: string, shape: readonly number[]) =>
    e.node('Reshape', [p, e.ints([...shape, ...new Array<number>(xRank - 2).fill(1)], 'shape')]);
  let r = y;
  if (scale) r = e.node('Mul', [r, shaped(scale, sShape as readonly number[])], [], shift ? undefined : out);
  if (shift) r = e.node('Add', [r, shaped(shift, sShape as readonly number[])], [], out);
  if (!scale && !shift) e.node('Identity', [r], [], out);
}

const TRANSLATE: Readonly<Record<string, Translate>> = {
  ...Object.fromEntries(Object.entries(UNARY).map(([op, t]) => [op, (e, _n, x, out) => e.node(t, [x[0]], [], out)])),
  ...Object.fromEntries(Object.entries(BINARY).map(([op, t]) => [op, (e, _n, x, out) => e.node(t, x, [], out)])),
  ...Object.fromEntries(
    Object.entries(COMPARE).map(([op, [t, negate]]) => [
      op,
      (e: Emitter, _n: GraphNode, x: readonly string[], out: string) => {
        let b = e.node(t, x);
        if (negate) b = e.node('Not', [b]);
        e.node('Cast', [b], [attr.int('to', DATA_TYPE.u8)], out);
      },
    ]),
  ),
  ...Object.fromEntries(
    Object.entries(REDUCE).map(([op, t]) => [
      op,
      (e: Emitter, n: GraphNode, x: readonly string[], out: string) => {
        reduce(e, t, x[0], n.attrs.axes as number[], n.attrs.keepDims as boolean, out);
      },
    ]),
  ),
  rsqrt: (e, _n, x, out) => e.node('Reciprocal', [e.node('Sqrt', [x[0]])], [], out),
  square: (e, _n, x, out) => e.node('Mul', [x[0], x[0]], [], out),
  gelu: (e, n, x, out) => {
    const dt = inputInfo(e, n, 0).dtype;
    const inner = e.node('Erf', [e.node('Div', [x[0], e.scalar(Math.SQRT2, dt)])]);
    const half = e.node('Mul', [x[0], e.scalar(0.5, dt)]);
    e.node('Mul', [half, e.node('Add', [inner, e.scalar(1, dt)])], [], out);
  },
  silu: (e, _n, x, out) => e.node('Mul', [x[0], e.node('Sigmoid', [x[0]])], [], out),
  clamp: (e, n, x, out) => {
    const dt = inputInfo(e, n, 0).dtype;
    const lo = n.attrs.min as number;
    const hi = n.attrs.max as number;
    const inputs = [x[0], Number.isFinite(lo) ? e.scalar(lo, dt) : '', Number.isFinite(hi) ? e.scalar(hi, dt) : ''];
    e.node('Clip', inputs, [], out);
  },
  cast: (e, n, x, out) => e.node('Cast', [x[0]], [attr.int('to', DATA_TYPE[n.attrs.dtype as DType])], out),
  where: (e, _n, x, out) => e.node('Where', [e.node('Cast', [x[0]], [attr.int('to', BOOL)]), x[1], x[2]], [], out),
  reshape: (e, n, x, out) => e.node('Reshape', [x[0], e.ints(n.attrs.shape as number[], 'shape')], [], out),
  permute: (e, n, x, out) => e.node('Transpose', [x[0]], [attr.ints('perm', n.attrs.perm as number[])], out),
  expand: (e, n, x, out) => e.node('Expand', [x[0], e.ints(n.attrs.shape as number[], 'shape')], [], out),
  concat: (e, n, x, out) => e.node('Concat', x, [attr.int('axis', n.attrs.axis as number)], out),
  gather: (e, n, x, out) => e.node('Gather', x, [attr.int('axis', n.attrs.axis as number)], out),
  slice: (e, n, x, out) => {
    // Core slices have positive steps and in-range begins (kernels/layout/layout.ts).
    const { begin, size, step } = n.attrs as { begin: number[]; size: number[]; step: number[] };
    const ends = begin.map((b, i) => b + (size[i] - 1) * step[i] + 1);
    const axes = begin.map((_, i) => i);
    e.node(
      'Slice',
      [x[0], e.ints(begin, 'starts'), e.ints(ends, 'ends'), e.ints(axes, 'axes'), e.ints(step, 'steps')],
      [],
      out,
    );
  },
  pad: (e, n, x, out) => {
    const { pads, mode, value } = n.attrs as { pads: [number, number][]; mode: string; value: number };
    const dt = inputInfo(e, n, 0).dtype;
    const flat = [...pads.map((p) => p[0]), ...pads.map((p) => p[1])];
    const inputs = [x[0], e.ints(flat, 'pads'), ...(mode === 'constant' ? [e.scalar(value, dt)] : [])];
    e.node('Pad', inputs, [attr.str('mode', mode)], out);
  },
  conv2d: (e, n, x, out) => {
    const a = n.attrs as { stride: number[]; padding: number[]; dilation: number[]; groups: number; padMode?: string };
    const [top, bottom, left, right] = a.padding;
    let input = x[0];
    let pads = [top, left, bottom, right];
    if (a.padMode) {
      const mode = a.padMode === 'replicate' ? 'edge' : 'reflect';
      input = e.node('Pad', [input, e.ints([0, 0, top, left, 0, 0, bottom, right], 'pads')], [attr.str('mode', mode)]);
      pads = [0, 0, 0, 0];
    }
    e.node(
      'Conv',
      [input, ...x.slice(1)],
      [
        attr.ints('strides', a.stride),
        attr.ints('pads', pads),
        attr.ints('dilations', a.dilation),
        attr.int('group', a.groups),
      ],
      out,
    );
  },
  convTranspose2d: (e, n, x, out) => {
    const a = n.attrs as {
      stride: number[];
      padding: number[];
      dilation: number[];
      groups: number;
      outputPadding: number[];
    };
    const [top, bottom, left, right] = a.padding;
    e.node(
      'ConvTranspose',
      x,
      [
        attr.ints('strides', a.stride),
        attr.ints('pads', [top, left, bottom, right]),
        attr.ints('dilations', a.dilation),
        attr.int('group', a.groups),
        attr.ints('output_padding', a.outputPadding),
      ],
      out,
    );
  },
  resize: (e, n, x, out) => {
    const { size, mode, coordinate } = n.attrs as { size: number[]; mode: string; coordinate: string };
    const shape = inputInfo(e, n, 0).shape;
    const coord = { asymmetric: 'asymmetric', halfPixel: 'half_pixel', alignCorners: 'align_corners' }[
      coordinate
    ] as string;
    const attrs = [
      attr.str('mode', mode === 'nearest' ? 'nearest' : 'linear'),
      attr.str('coordinate_transformation_mode', coord),
    ];
    // The core's nearest rounding (see kernels/image/image.ts): floor for asymmetric, halves up otherwise.
    if (mode === 'nearest')
      attrs.push(attr.str('nearest_mode', coordinate === 'asymmetric' ? 'floor' : 'round_prefer_ceil'));
    e.node('Resize', [x[0], '', '', e.ints([shape[0], shape[1], size[0], size[1]], 'sizes')], attrs, out);
  },
  matmul: (e, n, x, out) => {
    const { transposeA, transposeB } = n.attrs as { transposeA: boolean; transposeB: boolean };
    const swap = (name: string, rank: number) => {
      const perm = [...Array(rank).keys()];
      [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
      return e.node('Transpose', [name], [attr.ints('perm', perm)]);
    };
    const a = transposeA ? swap(x[0], inputInfo(e, n, 0).shape.length) : x[0];
    const b = transposeB ? swap(x[1], inputInfo(e, n, 1).shape.length) : x[1];
    e.node('MatMul', [a, b], [], out);
  },
  layerNorm: (e, n, x, out) => {
    const { eps, hasWeight, hasBias } = n.attrs as { eps: number; hasWeight: boolean; hasBias: boolean };
    const v = inputInfo(e, n, 0);
    const c = v.shape[v.shape.length - 1];
    const w = hasWeight ? x[1] : e.fill(1, c, v.dtype, 'ones');
    const b = hasBias ? x[hasWeight ? 2 : 1] : e.fill(0, c, v.dtype, 'zeros');
    e.node('LayerNormalization', [x[0], w, b], [attr.int('axis', -1), attr.float('epsilon', eps)], out);
  },
  rmsNorm: (e, n, x, out) => {
    const { eps, hasWeight } = n.attrs as { eps: number; hasWeight: boolean };
    const dt = inputInfo(e, n, 0).dtype;
    const ms = reduce(e, 'ReduceMean', e.node('Mul', [x[0], x[0]]), [-1], true);
    const inv = e.node('Reciprocal', [e.node('Sqrt', [e.node('Add', [ms, e.scalar(eps, dt)])])]);
    if (hasWeight) e.node('Mul', [e.node('Mul', [x[0], inv]), x[1]], [], out);
    else e.node('Mul', [x[0], inv], [], out);
  },
  instanceNorm: (e, n, x, out) => {
    const { eps, hasScale, hasShift } = n.attrs as { eps: number; hasScale: boolean; hasShift: boolean };
    const v = inputInfo(e, n, 0);
    const c = v.shape[1];
    const scale = hasScale ? x[1] : undefined;
    const shift = hasShift ? x[hasScale ? 2 : 1] : undefined;
    const pShape = hasScale ? inputInfo(e, n, 1).shape : hasShift ? inputInfo(e, n, 1).shape : [c];
    if (pShape.length === 1) {
      const s = scale ?? e.fill(1, c, v.dtype, 'ones');
      const b = shift ?? e.fill(0, c, v.dtype, 'zeros');
      e.node('InstanceNormalization', [x[0], s, b], [attr.float('epsilon', eps)], out);
      return;
    }
    // Per-sample scale and shift (conditional instance norm): normalise, then the affine.
    const y = e.node(
      'InstanceNormalization',
      [x[0], e.fill(1, c, v.dtype, 'ones'), e.fill(0, c, v.dtype, 'zeros')],
      [attr.float('epsilon', eps)],
    );
    affine(e, y, v.shape.length, scale, shift, pShape, out);
  },
  groupNorm: (e, n, x, out) => {
    const { groups, eps, hasWeight, hasBias } = n.attrs as {
      groups: number;
      eps: number;
      hasWeight: boolean;
      hasBias: boolean;
    };
    const v = inputInfo(e, n, 0);
    const grouped = e.node('Reshape', [x[0], e.ints([v.shape[0], groups, -1], 'shape')]);
    const normed = e.node(
      'InstanceNormalization',
      [grouped, e.fill(1, groups, v.dtype, 'ones'), e.fill(0, groups, v.dtype, 'zeros')],
      [attr.float('epsilon', eps)],
    );
    const y = e.node('Reshape', [normed, e.ints(v.shape, 'shape')]);
    affine(
      e,
      y,
      v.shape.length,
      hasWeight ? x[1] : undefined,
      hasBias ? x[hasWeight ? 2 : 1] : undefined,
      [v.shape[1]],
      out,
    );
  },
  variance: (e, n, x, out) => {
    const { axes, keepDims, correction } = n.attrs as { axes: number[]; keepDims: boolean; correction: number };
    const v = inputInfo(e, n, 0);
    const count = axes.reduce((p, a) => p * v.shape[a], 1);
    const centered = e.node('Sub', [x[0], reduce(e, 'ReduceMean', x[0], axes, true)]);
    const ss = reduce(e, 'ReduceSum', e.node('Mul', [centered, centered]), axes, keepDims);
    e.node('Div', [ss, e.scalar(Math.max(count - correction, 0), v.dtype)], [], out);
  },
  softmax: (e, n, x, out) => e.node('Softmax', [x[0]], [attr.int('axis', n.attrs.axis as number)], out),
  logSoftmax: (e, n, x, out) => e.node('LogSoftmax', [x[0]], [attr.int('axis', n.attrs.axis as number)], out),
  argmax: (e, n, x, out) => argReduce(e, 'ArgMax', n, x[0], out),
  argmin: (e, n, x, out) => argReduce(e, 'ArgMin', n, x[0], out),
  avgPool2d: (e, n, x, out) => pool(e, 'AveragePool', n, x[0], out),
  maxPool2d: (e, n, x, out) => pool(e, 'MaxPool', n, x[0], out),
  scaledDotProductAttention: (e, n, x, out) => {
    const { scale, causal } = n.attrs as { scale: number; causal: boolean };
    const [q, k, v, mask] = x;
    const qs = inputInfo(e, n, 0).shape;
    const ks = inputInfo(e, n, 1).shape;
    const dt = inputInfo(e, n, 0).dtype;
    const [batch, heads, T] = qs;
    const [, kvHeads, S] = ks;
    // Grouped keys/values: each serves heads/kvHeads consecutive query heads (repeat-interleave).
    const repeat = (t: string, shape: readonly number[]) => {
      if (kvHeads === heads) return t;
      const g = heads / kvHeads;
      const five = e.node('Reshape', [t, e.ints([batch, kvHeads, 1, shape[2], shape[3]], 'shape')]);
      const wide = e.node('Expand', [five, e.ints([batch, kvHeads, g, shape[2], shape[3]], 'shape')]);
      return e.node('Reshape', [wide, e.ints([batch, heads, shape[2], shape[3]], 'shape')]);
    };
    const kT = e.node('Transpose', [repeat(k, ks)], [attr.ints('perm', [0, 1, 3, 2])]);
    let scores = e.node('Mul', [e.node('MatMul', [q, kT]), e.scalar(scale, dt)]);
    if (mask) scores = e.node('Add', [scores, mask]);
    if (causal) {
      const m = new Float32Array(T * S);
      for (let t = 0; t < T; t++)
        for (let s = 0; s < S; s++) m[t * S + s] = s > t + S - T ? Number.NEGATIVE_INFINITY : 0;
      scores = e.node('Add', [scores, e.initializer(m, [T, S], dt, 'causal')]);
    }
    const p = e.node('Softmax', [scores], [attr.int('axis', -1)]);
    e.node('MatMul', [p, repeat(v, inputInfo(e, n, 2).shape)], [], out);
  },
};

function pool(e: Emitter, op: 'AveragePool' | 'MaxPool', n: GraphNode, x: string, out: string): void {
  const a = n.attrs as {
    kernel: number[];
    stride: number[];
    padding: number[];
    countIncludePad?: boolean;
    dilation?: number[];
  };
  const [t, b, l, r] = a.padding;
  const attrs = [attr.ints('kernel_shape', a.kernel), attr.ints('strides', a.stride), attr.ints('pads', [t, l, b, r])];
  if (op === 'AveragePool') attrs.push(attr.int('count_include_pad', a.countIncludePad ? 1 : 0));
  else attrs.push(attr.ints('dilations', a.dilation ?? [1, 1]));
  e.node(op, [x], attrs, out);
}

function argReduce(e: Emitter, op: string, n: GraphNode, x: string, out: string): void {
  const { axis, keepDims } = n.attrs as { axis: number; keepDims: boolean };
  const idx = e.node(
    op,
    [x],
    [attr.int('axis', axis), attr.int('keepdims', keepDims ? 1 : 0), attr.int('select_last_index', 0)],
  );
  e.node('Cast', [idx], [attr.int('to', DATA_TYPE.i32)], out);
}

/** Core ops this exporter translates. */
export const ONNX_EXPORTABLE_OPS: ReadonlySet<string> = new Set(Object.keys(TRANSLATE));

function valueInfo(name: string, shape: readonly number[], dtype: DType) {
  return {
    name,
    type: { tensorType: { elemType: DATA_TYPE[dtype], shape: { dim: shape.map((d) => ({ dimValue: d })) } } },
  };
}

/** Encode `graph` as ONNX ModelProto bytes. Throws a UsageError naming the ops opset 17 cannot express here. */
export function exportOnnx(graph: Graph, options: OnnxExportOptions = {}): Uint8Array {
  const { model, data } = exportOnnxWithData(graph, options);
  if (data.length > 0) throw new UsageError('exportOnnx: the model has external data; use exportOnnxWithData');
  return model;
}

/** {@link exportOnnx}, with large weights in a separate file when `options.externalData` names one. */
export function exportOnnxWithData(graph: Graph, options: OnnxExportOptions = {}): OnnxExport {
  const missing = [...new Set(graph.nodes.map((n) => n.op).filter((op) => !ONNX_EXPORTABLE_OPS.has(op)))];
  if (missing.length > 0) {
    throw new UsageError(
      `ONNX export: no translation for the op(s) ${missing.join(', ')} (supported: ${[...ONNX_EXPORTABLE_OPS].sort().join(', ')})`,
    );
  }
  const e = new Emitter(graph);
  const data: Uint8Array[] = [];
  let offset = 0;
  for (const c of graph.constants.values()) {
    const raw = rawBytes(c.data, c.dtype);
    const tensor = { name: c.name, dims: [...c.shape], dataType: DATA_TYPE[c.dtype] };
    if (options.externalData && raw.length >= EXTERNAL_MIN_BYTES) {
      const start = Math.ceil(offset / EXTERNAL_ALIGN) * EXTERNAL_ALIGN;
      if (start > offset) data.push(new Uint8Array(start - offset));
      data.push(raw);
      offset = start + raw.length;
      e.initializers.push({
        ...tensor,
        dataLocation: 1,
        externalData: [
          { key: 'location', value: options.externalData },
          { key: 'offset', value: String(start) },
          { key: 'length', value: String(raw.length) },
        ],
      });
    } else e.initializers.push({ ...tensor, rawData: raw });
  }
  for (const node of graph.nodes) {
    const inputs = node.inputs.map((id) => e.name(id));
    if (node.outputs.length !== 1)
      throw new UsageError(`ONNX export: op ${node.op} has ${node.outputs.length} outputs`);
    const out = e.name(node.outputs[0]);
    TRANSLATE[node.op](e, node, inputs, out);
  }
  const name = options.graphName ?? 'efficientai-toolkit';
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'efficientai-toolkit',
    producerVersion: '0.1.0',
    docString: options.doc ?? '',
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    graph: {
      name,
      node: e.nodes,
      initializer: e.initializers,
      input: graph.inputs.map((i) => valueInfo(i.name, i.value.shape, i.value.dtype)),
      output: graph.outputs.map((o) => valueInfo(o.name, o.value.shape, o.value.dtype)),
    },
  } as never);
  return { model: onnx.ModelProto.encode(model).finish(), data };
}
