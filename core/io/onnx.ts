/**
 * ONNX model reading (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto): a ModelProto becomes plain,
 * typed data — graph inputs and outputs with their shapes, initializers converted to core dtypes, nodes with
 * typed attributes, opset imports. Building something executable from it is the graph importer's job.
 *
 * Decoding (./onnx-wire.ts): protobufjs's minimal `Reader` (varints, fixed-width numbers, group skipping)
 * driven by hand-written decoders for the dozen messages a model needs, field numbers from onnx.proto. Why
 * not the alternatives:
 * - `onnx-proto`'s generated code pins protobufjs 6 (a second, older copy beside the project's 8), registers
 *   a global root, returns int64 as a `Long` in Node but as a plain number in browser bundles (its optional
 *   `require("long")` fails there), and decodes a known field without checking its wire type, so a corrupt
 *   file mis-parses instead of failing. The tests use it as an independent oracle instead.
 * - protobufjs reflection (a JSON descriptor + `Type.decode`) generates its decoders with `Function()`,
 *   which a page with a Content-Security-Policy lacking 'unsafe-eval' refuses.
 * The minimal reader has no code generation and no Node APIs, so this module runs unchanged in browsers.
 *
 * Validation is strict: every length-delimited field must fit inside its enclosing message, a known field
 * with the wrong wire type is an error, initializer byte counts must match shape × dtype, node inputs must
 * name a graph input, an initializer or the output of an earlier node (ONNX requires topological order),
 * and every node domain needs an opset import. Any failure is an {@link OnnxError} naming the file.
 * @module
 */
import type { DType, TypedArray } from '../dtype.js';
import { UsageError } from '../errors.js';
import type { ByteSource } from './bytes.js';
import {
  decodeOnnxModel,
  doublesOf,
  floatsOf,
  int64ToNumber,
  ProtobufError,
  type RawAttribute,
  type RawGraph,
  type RawModel,
  type RawTensor,
  type RawValueInfo,
  viewAs,
} from './onnx-wire.js';

/** Malformed or unsupported ONNX data; the message starts with the file name. */
export class OnnxError extends UsageError {
  override name = 'OnnxError';
}

/** TensorProto.DataType names, indexed by their enum value. */
export const ONNX_DATA_TYPES = [
  'UNDEFINED',
  'FLOAT',
  'UINT8',
  'INT8',
  'UINT16',
  'INT16',
  'INT32',
  'INT64',
  'STRING',
  'BOOL',
  'FLOAT16',
  'DOUBLE',
  'UINT32',
  'UINT64',
  'COMPLEX64',
  'COMPLEX128',
  'BFLOAT16',
  'FLOAT8E4M3FN',
  'FLOAT8E4M3FNUZ',
  'FLOAT8E5M2',
  'FLOAT8E5M2FNUZ',
  'UINT4',
  'INT4',
  'FLOAT4E2M1',
] as const;

export type OnnxDataType = (typeof ONNX_DATA_TYPES)[number];

/** A constant tensor (an initializer or a TENSOR attribute) converted to a core dtype. */
export interface OnnxTensor {
  name: string;
  /** The dtype of `data`: FLOAT→f32, FLOAT16→f16 (bits), BFLOAT16→f32, DOUBLE→f64, UINT8/BOOL→u8, other integers→i32. */
  dtype: DType;
  /** The element type stored in the file. */
  fileDType: OnnxDataType;
  shape: number[];
  /** Row-major elements; may view the bytes handed to {@link parseOnnx} when no conversion was needed. */
  data: TypedArray;
}

/** A dimension: a size, a symbolic name (dim_param, e.g. "height"), or null when neither is given. */
export type OnnxDim = number | string | null;

/** A graph input, output or value_info entry. */
export interface OnnxValueInfo {
  name: string;
  /** The tensor element type, or null when the value is not a tensor (sequence, map, optional). */
  elemType: OnnxDataType | null;
  /** Null when the rank is unknown (no shape field) or the value is not a tensor. */
  shape: OnnxDim[] | null;
}

export type OnnxAttribute =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: OnnxTensor }
  | { type: 'graph'; value: OnnxGraph }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensors'; value: OnnxTensor[] }
  | { type: 'graphs'; value: OnnxGraph[] };

export type OnnxAttributeType = OnnxAttribute['type'];

export interface OnnxNode {
  name: string;
  opType: string;
  /** '' for the default ai.onnx domain (the file may also spell it 'ai.onnx'; it is normalized to ''). */
  domain: string;
  /** Tensor names; '' marks an omitted optional input. */
  inputs: string[];
  /** Tensor names; '' marks an omitted optional output. */
  outputs: string[];
  attrs: Map<string, OnnxAttribute>;
}

export interface OnnxGraph {
  name: string;
  /** As declared; models from IR < 4 may also list initializers here (they act as defaults). */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** Shapes of intermediate values, when the file records them. */
  valueInfo: OnnxValueInfo[];
  initializers: OnnxTensor[];
  /** In topological order (validated). */
  nodes: OnnxNode[];
}

export interface OnnxOpsetImport {
  /** '' for the default ai.onnx domain. */
  domain: string;
  version: number;
}

export interface OnnxModel {
  /** The name of the source, for error messages. */
  file: string;
  irVersion: number;
  opsetImports: OnnxOpsetImport[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  metadata: Record<string, string>;
  graph: OnnxGraph;
}

export interface ParseOnnxOptions {
  /**
   * What to do with an INT64/UINT32/UINT64 initializer value outside the i32 range: 'error' (default) or
   * 'saturate' to the nearest i32. Saturation is what index inputs such as Slice's `ends = INT64_MAX` mean.
   */
  int64?: 'error' | 'saturate';
}

// ---------------------------------------------------------------------------------------------------------
// Conversion and validation

const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isKnownDataType(code: number): boolean {
  return Number.isInteger(code) && code >= 0 && code < ONNX_DATA_TYPES.length;
}

/** Bytes per element in raw_data, for the types this reader converts. */
const RAW_WIDTH: Partial<Record<OnnxDataType, number>> = {
  FLOAT: 4,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  BOOL: 1,
  FLOAT16: 2,
  DOUBLE: 8,
  UINT32: 4,
  UINT64: 8,
  BFLOAT16: 2,
};

/** Which typed field may hold each type's values (onnx.proto's comments on each *_data field). */
const TYPED_FIELD: Partial<
  Record<OnnxDataType, 'float_data' | 'int32_data' | 'int64_data' | 'double_data' | 'uint64_data'>
> = {
  FLOAT: 'float_data',
  UINT8: 'int32_data',
  INT8: 'int32_data',
  UINT16: 'int32_data',
  INT16: 'int32_data',
  INT32: 'int32_data',
  INT64: 'int64_data',
  BOOL: 'int32_data',
  FLOAT16: 'int32_data',
  BFLOAT16: 'int32_data',
  DOUBLE: 'double_data',
  UINT32: 'uint64_data',
  UINT64: 'uint64_data',
};

class Converter {
  constructor(
    readonly file: string,
    readonly options: ParseOnnxOptions,
  ) {}

  fail(message: string): never {
    throw new OnnxError(`${this.file}: ${message}`);
  }

  tensor(t: RawTensor, where: string): OnnxTensor {
    const label = `${where} "${t.name}"`;
    if (t.dataLocation === 1 || t.external.length > 0) {
      const location = t.external.find((e) => e.startsWith('location='))?.slice(9);
      this.fail(
        `${label} keeps its data in an external file${location ? ` ("${location}")` : ''}; this reader takes ` +
          `single-file models: re-save with onnx.save_model(model, path, save_as_external_data=False)`,
      );
    }
    if (t.dataLocation !== 0) this.fail(`${label} has unknown data_location ${t.dataLocation} (expected 0, DEFAULT)`);
    if (t.segment) this.fail(`${label} is a segment of a larger tensor (TensorProto.segment), which is not supported`);
    if (!isKnownDataType(t.dataType) || t.dataType === 0) {
      this.fail(`${label} has ${t.dataType === 0 ? 'no data type (UNDEFINED)' : `unknown data type ${t.dataType}`}`);
    }
    const fileDType = ONNX_DATA_TYPES[t.dataType];
    const width = RAW_WIDTH[fileDType];
    const typedField = TYPED_FIELD[fileDType];
    if (width === undefined || typedField === undefined) {
      this.fail(
        `${label} has data type ${fileDType}, which this reader does not convert (supported: ` +
          `${Object.keys(RAW_WIDTH).join(', ')})`,
      );
    }
    for (const d of t.dims) {
      if (!Number.isSafeInteger(d) || d < 0) {
        this.fail(`${label} has invalid dimension ${d} in shape [${t.dims.join(', ')}]`);
      }
    }
    let count = 1;
    for (const d of t.dims) count *= d;
    if (!Number.isSafeInteger(count)) this.fail(`${label}: shape [${t.dims.join(', ')}] is impossibly large`);
    const shapeText = `[${t.dims.join(', ')}]`;

    const present: string[] = [];
    if (t.floatData.length > 0) present.push('float_data');
    if (t.int32Data.length > 0) present.push('int32_data');
    if (t.int64Data.length > 0) present.push('int64_data');
    if (t.doubleData.length > 0) present.push('double_data');
    if (t.uint64Data.length > 0) present.push('uint64_data');
    if (t.stringCount > 0) present.push('string_data');
    const wrong = present.filter((f) => f !== typedField);
    if (wrong.length > 0) {
      this.fail(
        `${label}: ${fileDType} data belongs in raw_data or ${typedField}, but the tensor has ${wrong.join(', ')}`,
      );
    }
    const hasTyped = present.length > 0;
    if (t.raw && t.raw.length > 0 && hasTyped) {
      this.fail(`${label} has both raw_data and ${typedField}; exactly one may hold the values`);
    }

    const base = { name: t.name, fileDType, shape: [...t.dims] };
    if (!hasTyped) {
      const raw = t.raw ?? new Uint8Array(0);
      if (raw.length !== count * width) {
        this.fail(
          `${label}: shape ${shapeText} × ${fileDType} (${width} bytes) needs ${count * width} bytes of raw_data, ` +
            `but the file holds ${raw.length}`,
        );
      }
      return { ...base, ...this.fromRaw(raw, fileDType, count, label) };
    }
    const values =
      typedField === 'float_data'
        ? floatsOf(t.floatData)
        : typedField === 'double_data'
          ? doublesOf(t.doubleData)
          : typedField === 'int32_data'
            ? t.int32Data
            : typedField === 'int64_data'
              ? t.int64Data
              : t.uint64Data;
    if (values.length !== count) {
      this.fail(`${label}: shape ${shapeText} holds ${count} elements, but ${typedField} has ${values.length}`);
    }
    return { ...base, ...this.fromTyped(values, fileDType, label) };
  }

  private fromRaw(
    raw: Uint8Array,
    type: OnnxDataType,
    count: number,
    label: string,
  ): { dtype: DType; data: TypedArray } {
    if (!HOST_LITTLE_ENDIAN && (RAW_WIDTH[type] ?? 1) > 1) {
      this.fail(`${label}: ${type} raw_data needs a little-endian host; this host is big-endian`);
    }
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    switch (type) {
      case 'FLOAT':
        return { dtype: 'f32', data: viewAs(Float32Array, raw) };
      case 'DOUBLE':
        return { dtype: 'f64', data: viewAs(Float64Array, raw) };
      case 'FLOAT16':
        return { dtype: 'f16', data: viewAs(Uint16Array, raw) };
      case 'BFLOAT16': {
        const out = new Float32Array(count);
        const bits = new Uint32Array(out.buffer);
        for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
        return { dtype: 'f32', data: out };
      }
      case 'UINT8':
        return { dtype: 'u8', data: raw };
      case 'BOOL':
        return { dtype: 'u8', data: Uint8Array.from(raw, (b) => (b !== 0 ? 1 : 0)) };
      case 'INT8':
        return { dtype: 'i32', data: Int32Array.from(new Int8Array(raw.buffer, raw.byteOffset, count)) };
      case 'INT16': {
        const out = new Int32Array(count);
        for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, true);
        return { dtype: 'i32', data: out };
      }
      case 'UINT16': {
        const out = new Int32Array(count);
        for (let i = 0; i < count; i++) out[i] = view.getUint16(2 * i, true);
        return { dtype: 'i32', data: out };
      }
      case 'INT32':
        return { dtype: 'i32', data: viewAs(Int32Array, raw) };
      case 'UINT32': {
        const values = new Array<number>(count);
        for (let i = 0; i < count; i++) values[i] = view.getUint32(4 * i, true);
        return { dtype: 'i32', data: this.toI32(values, type, label) };
      }
      case 'INT64':
      case 'UINT64': {
        const values = new Array<number>(count);
        for (let i = 0; i < count; i++) {
          const low = view.getUint32(8 * i, true);
          const high = view.getInt32(8 * i + 4, true);
          values[i] = int64ToNumber({ low, high }, type === 'UINT64');
        }
        return { dtype: 'i32', data: this.toI32(values, type, label) };
      }
      default:
        return this.fail(`${label}: ${type} is not convertible`);
    }
  }

  private fromTyped(values: ArrayLike<number>, type: OnnxDataType, label: string): { dtype: DType; data: TypedArray } {
    const n = values.length;
    const checkRange = (min: number, max: number) => {
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v < min || v > max) this.fail(`${label}: element ${i} of ${type} data is ${v}, outside [${min}, ${max}]`);
      }
    };
    switch (type) {
      case 'FLOAT':
        return { dtype: 'f32', data: values as Float32Array };
      case 'DOUBLE':
        return { dtype: 'f64', data: values as Float64Array };
      case 'FLOAT16':
        checkRange(0, 0xffff);
        return { dtype: 'f16', data: Uint16Array.from(values) };
      case 'BFLOAT16': {
        checkRange(0, 0xffff);
        const out = new Float32Array(n);
        const bits = new Uint32Array(out.buffer);
        for (let i = 0; i < n; i++) bits[i] = values[i] << 16;
        return { dtype: 'f32', data: out };
      }
      case 'UINT8':
        checkRange(0, 255);
        return { dtype: 'u8', data: Uint8Array.from(values) };
      case 'BOOL':
        return { dtype: 'u8', data: Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0)) };
      case 'INT8':
        checkRange(-128, 127);
        return { dtype: 'i32', data: Int32Array.from(values) };
      case 'INT16':
        checkRange(-32768, 32767);
        return { dtype: 'i32', data: Int32Array.from(values) };
      case 'UINT16':
        checkRange(0, 65535);
        return { dtype: 'i32', data: Int32Array.from(values) };
      case 'INT32':
        return { dtype: 'i32', data: Int32Array.from(values) };
      case 'INT64':
      case 'UINT32':
      case 'UINT64':
        return { dtype: 'i32', data: this.toI32(values, type, label) };
      default:
        return this.fail(`${label}: ${type} is not convertible`);
    }
  }

  private toI32(values: ArrayLike<number>, type: OnnxDataType, label: string): Int32Array {
    const out = new Int32Array(values.length);
    const saturate = this.options.int64 === 'saturate';
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < I32_MIN || v > I32_MAX) {
        if (!saturate) {
          this.fail(
            `${label}: ${type} element ${i} is ${v}, outside the i32 range the core computes in; pass ` +
              `{ int64: 'saturate' } to clamp such values (right for index inputs like Slice ends)`,
          );
        }
        out[i] = v < 0 ? I32_MIN : I32_MAX;
      } else out[i] = v;
    }
    return out;
  }

  valueInfo(v: RawValueInfo, where: string): OnnxValueInfo {
    let elemType: OnnxDataType | null = null;
    if (v.elemType !== null) {
      if (!isKnownDataType(v.elemType)) this.fail(`${where} "${v.name}" has unknown element type ${v.elemType}`);
      elemType = ONNX_DATA_TYPES[v.elemType];
    }
    return { name: v.name, elemType, shape: v.shape };
  }

  attribute(a: RawAttribute, where: string, outer: ReadonlySet<string>): OnnxAttribute {
    const label = `${where}: attribute "${a.name}"`;
    for (const [no, kind] of [
      [21, 'ref_attr_name (only valid inside function bodies)'],
      [22, 'a SPARSE_TENSOR value'],
      [23, 'SPARSE_TENSORS values'],
      [14, 'a TYPE_PROTO value'],
      [15, 'TYPE_PROTOS values'],
    ] as const) {
      if (a.present.has(no)) this.fail(`${label} has ${kind}, which this reader does not support`);
    }
    let type = a.type;
    if (type === 0) {
      // IR versions before 0.0.2 omit the type; infer it from the one populated field.
      const byField: Record<number, number> = { 2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6, 8: 7, 9: 8, 10: 9, 11: 10 };
      const fields = [...a.present].filter((f) => f in byField);
      if (fields.length !== 1) {
        this.fail(`${label} has no type and ${fields.length} value fields; cannot tell its type`);
      }
      type = byField[fields[0]];
    }
    const graph = (g: RawGraph, i?: number) =>
      this.graph(g, `${label}${i === undefined ? '' : `[${i}]`} subgraph`, outer);
    switch (type) {
      case 1:
        return { type: 'float', value: a.f };
      case 2:
        return { type: 'int', value: a.i };
      case 3:
        return { type: 'string', value: this.utf8(a.s, label) };
      case 4:
        if (!a.t) this.fail(`${label} is of type TENSOR but holds no tensor`);
        return { type: 'tensor', value: this.tensor(a.t, `${label}: tensor`) };
      case 5:
        if (!a.g) this.fail(`${label} is of type GRAPH but holds no graph`);
        return { type: 'graph', value: graph(a.g) };
      case 6:
        return { type: 'floats', value: a.floats };
      case 7:
        return { type: 'ints', value: a.ints };
      case 8:
        return { type: 'strings', value: a.strings.map((s) => this.utf8(s, label)) };
      case 9:
        return { type: 'tensors', value: a.tensors.map((t, i) => this.tensor(t, `${label}[${i}]: tensor`)) };
      case 10:
        return { type: 'graphs', value: a.graphs.map((g, i) => graph(g, i)) };
      case 11:
      case 12:
      case 13:
      case 14:
        return this.fail(
          `${label} has type ${['SPARSE_TENSOR', 'SPARSE_TENSORS', 'TYPE_PROTO', 'TYPE_PROTOS'][type - 11]}, which this reader does not support`,
        );
      default:
        return this.fail(`${label} has unknown attribute type ${type}`);
    }
  }

  readonly #decoder = new TextDecoder('utf-8', { fatal: true });

  utf8(bytes: Uint8Array, label: string): string {
    try {
      return this.#decoder.decode(bytes);
    } catch {
      return this.fail(`${label}: the string value is not valid UTF-8`);
    }
  }

  /**
   * Converts a graph and checks that it is well formed: unique names, every node input defined before use,
   * every output produced. `outer` holds the names visible from enclosing graphs (for If/Loop bodies).
   */
  graph(g: RawGraph, where: string, outer: ReadonlySet<string>): OnnxGraph {
    if (g.sparseInitializers > 0) {
      this.fail(`${where} has ${g.sparseInitializers} sparse initializer(s), which this reader does not support`);
    }
    const initializers: OnnxTensor[] = [];
    const defined = new Set<string>(outer);
    const own = new Set<string>();
    const define = (name: string, what: string) => {
      if (name === '') this.fail(`${where}: ${what} has an empty name`);
      if (own.has(name)) this.fail(`${where}: the name "${name}" is defined twice (again by ${what})`);
      own.add(name);
      defined.add(name);
    };
    for (const t of g.initializers) {
      define(t.name, `an initializer`);
      initializers.push(this.tensor(t, `${where}: initializer`));
    }
    const inputs = g.inputs.map((v) => this.valueInfo(v, `${where}: input`));
    const initializerNames = new Set(initializers.map((t) => t.name));
    for (const v of inputs) {
      // IR < 4 lists initializers among the inputs too; that repetition is allowed.
      if (!initializerNames.has(v.name)) define(v.name, `graph input "${v.name}"`);
    }
    const nodes: OnnxNode[] = [];
    for (let i = 0; i < g.nodes.length; i++) {
      const n = g.nodes[i];
      const nodeLabel = `node ${i} ("${n.name || '(unnamed)'}", ${n.opType || '(no op_type)'})`;
      const label = `${where}: ${nodeLabel}`;
      if (n.opType === '') this.fail(`${label} has no op_type`);
      for (const input of n.inputs) {
        if (input !== '' && !defined.has(input)) {
          this.fail(
            `${label} reads "${input}", which is not a graph input, an initializer or the output of an ` +
              `earlier node (ONNX nodes must be in topological order)`,
          );
        }
      }
      const attrs = new Map<string, OnnxAttribute>();
      for (const a of n.attrs) {
        if (a.name === '') this.fail(`${label} has an attribute with an empty name`);
        if (attrs.has(a.name)) this.fail(`${label} has the attribute "${a.name}" twice`);
        attrs.set(a.name, this.attribute(a, label, defined));
      }
      for (const output of n.outputs) if (output !== '') define(output, `the output of ${nodeLabel}`);
      nodes.push({
        name: n.name,
        opType: n.opType,
        domain: n.domain === 'ai.onnx' ? '' : n.domain,
        inputs: n.inputs,
        outputs: n.outputs,
        attrs,
      });
    }
    const outputs = g.outputs.map((v) => this.valueInfo(v, `${where}: output`));
    for (const v of outputs) {
      if (!defined.has(v.name)) this.fail(`${where}: graph output "${v.name}" is not produced by any node or input`);
    }
    const valueInfo = g.valueInfo.map((v) => this.valueInfo(v, `${where}: value_info`));
    return { name: g.name, inputs, outputs, valueInfo, initializers, nodes };
  }
}

function collectDomains(graph: OnnxGraph, out: Map<string, OnnxNode>): void {
  for (const n of graph.nodes) {
    if (!out.has(n.domain)) out.set(n.domain, n);
    for (const a of n.attrs.values()) {
      if (a.type === 'graph') collectDomains(a.value, out);
      else if (a.type === 'graphs') for (const g of a.value) collectDomains(g, out);
    }
  }
}

/**
 * Parses an ONNX model held in memory. Initializer data may view `bytes` (when no conversion or realignment
 * was needed), so do not modify `bytes` while the model is in use.
 */
export function parseOnnx(file: string, input: Uint8Array, options: ParseOnnxOptions = {}): OnnxModel {
  // A plain view: Node's Buffer (a Uint8Array subclass) has a slice() that does not copy.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length === 0) throw new OnnxError(`${file}: the file is empty, not an ONNX model`);
  let raw: RawModel;
  try {
    raw = decodeOnnxModel(bytes);
  } catch (e) {
    if (!(e instanceof ProtobufError)) throw e;
    throw new OnnxError(
      `${file}: not a valid ONNX file, or a truncated or corrupt one: malformed protobuf at byte ${e.at} of ` +
        `${bytes.length}: ${e.message}`,
    );
  }
  if (!raw.graph) {
    throw new OnnxError(
      `${file}: not an ONNX model: it has no graph (ModelProto field 7); is this file ONNX at all, or truncated?`,
    );
  }
  if (!Number.isSafeInteger(raw.irVersion) || raw.irVersion < 1) {
    throw new OnnxError(`${file}: ir_version is ${raw.irVersion}; an ONNX model declares an IR version >= 1`);
  }
  if (raw.irVersion >= 3 && raw.opsetImports.length === 0) {
    throw new OnnxError(`${file}: IR version ${raw.irVersion} requires opset_import entries, but the model has none`);
  }
  const opsetImports = raw.opsetImports.map((o) => ({
    domain: o.domain === 'ai.onnx' ? '' : o.domain,
    version: o.version,
  }));
  const seen = new Set<string>();
  for (const o of opsetImports) {
    if (seen.has(o.domain)) throw new OnnxError(`${file}: opset_import lists the domain "${o.domain}" twice`);
    seen.add(o.domain);
    if (!Number.isSafeInteger(o.version) || o.version < 1) {
      throw new OnnxError(
        `${file}: opset_import for domain "${o.domain || 'ai.onnx'}" has invalid version ${o.version}`,
      );
    }
  }
  const converter = new Converter(file, options);
  const graph = converter.graph(raw.graph, `graph "${raw.graph.name}"`, new Set());
  if (raw.irVersion >= 3) {
    const domains = new Map<string, OnnxNode>();
    collectDomains(graph, domains);
    for (const [domain, node] of domains) {
      if (!seen.has(domain)) {
        throw new OnnxError(
          `${file}: node "${node.name}" (${node.opType}) is in domain "${domain || 'ai.onnx'}", but the model ` +
            `imports no opset for that domain`,
        );
      }
    }
  }
  const metadata: Record<string, string> = {};
  // defineProperty keeps a key such as "__proto__" an own property; a repeated key keeps its last value, as
  // protobuf map semantics do.
  for (const [k, v] of raw.metadata) {
    Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return {
    file,
    irVersion: raw.irVersion,
    opsetImports,
    producerName: raw.producerName,
    producerVersion: raw.producerVersion,
    domain: raw.domain,
    modelVersion: raw.modelVersion,
    docString: raw.docString,
    metadata,
    graph,
  };
}

/** Reads a whole ONNX file from `source` and parses it (ONNX has no index to read parts by). */
export async function readOnnx(source: ByteSource, options: ParseOnnxOptions = {}): Promise<OnnxModel> {
  const bytes = await source.read(0, source.size);
  return parseOnnx(source.name, bytes, options);
}

// ---------------------------------------------------------------------------------------------------------
// Conveniences for graph builders

/** The opset version imported for `domain` ('' = ai.onnx), or undefined. */
export function opsetVersion(model: OnnxModel, domain = ''): number | undefined {
  const d = domain === 'ai.onnx' ? '' : domain;
  return model.opsetImports.find((o) => o.domain === d)?.version;
}

type AttrValue<T extends OnnxAttributeType> = Extract<OnnxAttribute, { type: T }>['value'];

/**
 * A node attribute of the expected type, or `fallback` when absent. A present attribute of another type, or
 * an absent one with no fallback, throws an OnnxError naming the file, the node and the attribute.
 */
export function nodeAttr<T extends OnnxAttributeType>(
  model: Pick<OnnxModel, 'file'>,
  node: OnnxNode,
  name: string,
  type: T,
  fallback?: AttrValue<T>,
): AttrValue<T> {
  const a = node.attrs.get(name);
  const label = `${model.file}: node "${node.name}" (${node.opType}): attribute "${name}"`;
  if (a === undefined) {
    if (fallback === undefined) throw new OnnxError(`${label} is required but missing`);
    return fallback;
  }
  if (a.type !== type) throw new OnnxError(`${label} is of type ${a.type}, expected ${type}`);
  return a.value as AttrValue<T>;
}
