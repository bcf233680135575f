/**
 * Tiny ONNX models built in memory for the peer runtimes: one MatMul or one Conv node.
 * The protobuf is written by hand with protobufjs's minimal Writer (field numbers from
 * onnx.proto), so nothing is downloaded and no schema is compiled at run time.
 */
import protobuf from 'protobufjs/minimal.js';

type Writer = protobuf.Writer;

/** ONNX TensorProto.DataType FLOAT. */
const FLOAT = 1;
/** AttributeProto.AttributeType values used here. */
const ATTR_INT = 2;
const ATTR_INTS = 7;
/** IR version 8 / opset 17: understood by onnxruntime 1.14 and later. */
export const IR_VERSION = 8;
export const OPSET = 17;

const LEN = 2;
const VARINT = 0;
const tag = (w: Writer, field: number, wire: number): Writer => w.uint32((field << 3) | wire);

function sub(w: Writer, field: number, build: (w: Writer) => void): void {
  tag(w, field, LEN).fork();
  build(w);
  w.ldelim();
}

function str(w: Writer, field: number, s: string): void {
  tag(w, field, LEN).string(s);
}

function int(w: Writer, field: number, v: number): void {
  tag(w, field, VARINT).int64(v);
}

export interface ValueSpec {
  readonly name: string;
  readonly dims: readonly number[];
}

export interface InitializerSpec extends ValueSpec {
  readonly data: Float32Array;
}

export type AttributeValue = number | readonly number[];

export interface NodeSpec {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Integer (INT) or integer-list (INTS) attributes. */
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface GraphSpec {
  readonly name: string;
  readonly nodes: readonly NodeSpec[];
  /** Graph inputs fed at run time (f32). */
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];
  /** Constant f32 tensors (weights). */
  readonly initializers?: readonly InitializerSpec[];
}

/** ValueInfoProto { name = 1, type = 2 { tensor_type = 1 { elem_type = 1, shape = 2 { dim = 1 { dim_value = 1 } } } } } */
function valueInfo(w: Writer, field: number, v: ValueSpec): void {
  sub(w, field, (vi) => {
    str(vi, 1, v.name);
    sub(vi, 2, (type) =>
      sub(type, 1, (tt) => {
        tag(tt, 1, VARINT).int32(FLOAT);
        sub(tt, 2, (shape) => {
          for (const d of v.dims) sub(shape, 1, (dim) => int(dim, 1, d));
        });
      }),
    );
  });
}

/** TensorProto { dims = 1 (packed), data_type = 2, name = 8, raw_data = 9 (little-endian) } */
function tensorProto(w: Writer, field: number, t: InitializerSpec): void {
  const expected = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== expected) {
    throw new RangeError(
      `ONNX initializer '${t.name}': ${t.data.length} values for dims [${t.dims.join(',')}] (${expected})`,
    );
  }
  sub(w, field, (tp) => {
    tag(tp, 1, LEN).fork();
    for (const d of t.dims) tp.int64(d);
    tp.ldelim();
    tag(tp, 2, VARINT).int32(FLOAT);
    str(tp, 8, t.name);
    const bytes = new Uint8Array(t.data.length * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < t.data.length; i++) view.setFloat32(i * 4, t.data[i], true);
    tag(tp, 9, LEN).bytes(bytes);
  });
}

/** AttributeProto { name = 1, i = 3, ints = 8, type = 20 } */
function attribute(w: Writer, name: string, value: AttributeValue): void {
  sub(w, 5, (a) => {
    str(a, 1, name);
    if (typeof value === 'number') {
      int(a, 3, value);
      tag(a, 20, VARINT).int32(ATTR_INT);
    } else {
      for (const v of value) int(a, 8, v);
      tag(a, 20, VARINT).int32(ATTR_INTS);
    }
  });
}

/** NodeProto { input = 1, output = 2, name = 3, op_type = 4, attribute = 5 } */
function node(w: Writer, n: NodeSpec, index: number): void {
  sub(w, 1, (np) => {
    for (const i of n.inputs) str(np, 1, i);
    for (const o of n.outputs) str(np, 2, o);
    str(np, 3, `${n.opType.toLowerCase()}_${index}`);
    str(np, 4, n.opType);
    for (const [k, v] of Object.entries(n.attributes ?? {})) attribute(np, k, v);
  });
}

/** ModelProto { ir_version = 1, producer_name = 2, graph = 7, opset_import = 8 { domain = 1, version = 2 } } */
export function encodeModel(g: GraphSpec): Uint8Array {
  const w = protobuf.Writer.create();
  int(w, 1, IR_VERSION);
  str(w, 2, 'efficientai-toolkit bench');
  sub(w, 7, (gp) => {
    for (const [i, n] of g.nodes.entries()) node(gp, n, i);
    str(gp, 2, g.name);
    for (const t of g.initializers ?? []) tensorProto(gp, 5, t);
    for (const v of g.inputs) valueInfo(gp, 11, v);
    for (const v of g.outputs) valueInfo(gp, 12, v);
  });
  sub(w, 8, (op) => {
    str(op, 1, '');
    int(op, 2, OPSET);
  });
  return w.finish();
}

/** Y [m,n] = A [m,k] · B [k,n], both operands fed at run time. */
export function matmulModel(m: number, k: number, n: number): Uint8Array {
  return encodeModel({
    name: `matmul_${m}x${k}x${n}`,
    nodes: [{ opType: 'MatMul', inputs: ['A', 'B'], outputs: ['Y'] }],
    inputs: [
      { name: 'A', dims: [m, k] },
      { name: 'B', dims: [k, n] },
    ],
    outputs: [{ name: 'Y', dims: [m, n] }],
  });
}

export interface ConvModelSpec {
  /** Input X [N, C, H, W]. */
  readonly input: readonly [number, number, number, number];
  /** Weight W [O, C, kH, kW]. */
  readonly weight: readonly [number, number, number, number];
  /** Same padding on every side. */
  readonly padding: number;
  /** When given, W is a constant initializer (as in a trained model); else a graph input. */
  readonly weightData?: Float32Array;
}

/** Y = Conv(X, W) with stride 1, no bias; the output size follows from the padding. */
export function conv2dModel(spec: ConvModelSpec): Uint8Array {
  const [n, , h, w] = spec.input;
  const [o, , kh, kw] = spec.weight;
  const p = spec.padding;
  const out = [n, o, h + 2 * p - kh + 1, w + 2 * p - kw + 1];
  const weight = { name: 'W', dims: [...spec.weight] };
  return encodeModel({
    name: 'conv2d',
    nodes: [
      {
        opType: 'Conv',
        inputs: ['X', 'W'],
        outputs: ['Y'],
        attributes: { kernel_shape: [kh, kw], pads: [p, p, p, p], strides: [1, 1], dilations: [1, 1], group: 1 },
      },
    ],
    inputs: spec.weightData ? [{ name: 'X', dims: [...spec.input] }] : [{ name: 'X', dims: [...spec.input] }, weight],
    outputs: [{ name: 'Y', dims: out }],
    initializers: spec.weightData ? [{ ...weight, data: spec.weightData }] : [],
  });
}
