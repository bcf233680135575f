/**
 * The protobuf side of the ONNX reader: hand-written decoders for the onnx.proto messages a model needs
 * (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto and their parts), driven
 * by protobufjs's minimal `Reader`. They return a raw form close to the wire; ./onnx.ts converts and
 * validates it. Field numbers are onnx.proto's.
 *
 * Every length-delimited field is checked to lie inside its enclosing message, a known field with the wrong
 * wire type is an error, and graph nesting (through graph attributes) is capped, so corrupt input fails with
 * a {@link ProtobufError} giving the byte position instead of mis-parsing or overflowing the stack.
 * @module
 */
import { int64ToNumber, Msg, ProtobufError, ProtoReader, WIRE_BYTES, WIRE_FIXED32, WIRE_VARINT } from './proto-wire.js';

export { int64ToNumber, ProtobufError };

export type RawDim = number | string | null;

export interface RawOpsetImport {
  domain: string;
  version: number;
}

// Graph attributes nest graphs (If/Loop bodies); real models nest a few levels, corrupt ones unboundedly.
const MAX_GRAPH_DEPTH = 32;

// ---------------------------------------------------------------------------------------------------------
// Message decoders (raw form: close to the wire, converted and validated afterwards)

export interface RawTensor {
  dims: number[];
  dataType: number;
  name: string;
  raw: Uint8Array | null;
  floatData: Uint8Array[];
  doubleData: Uint8Array[];
  int32Data: number[];
  int64Data: number[];
  uint64Data: number[];
  stringCount: number;
  external: string[];
  dataLocation: number;
  segment: boolean;
}

function decodeTensor(m: Msg): RawTensor {
  const t: RawTensor = {
    dims: [],
    dataType: 0,
    name: '',
    raw: null,
    floatData: [],
    doubleData: [],
    int32Data: [],
    int64Data: [],
    uint64Data: [],
    stringCount: 0,
    external: [],
    dataLocation: 0,
    segment: false,
  };
  m.each((no, wire) => {
    switch (no) {
      case 1:
        m.varints(wire, no, 'dims', t.dims, 'int64');
        return true;
      case 2:
        m.expect(no, wire, WIRE_VARINT, 'data_type');
        t.dataType = m.p.r.int32();
        return true;
      case 3:
        t.segment = true;
        return false;
      case 4:
        m.fixed(wire, no, 'float_data', 4, t.floatData);
        return true;
      case 5:
        m.varints(wire, no, 'int32_data', t.int32Data, 'int32');
        return true;
      case 6:
        m.expect(no, wire, WIRE_BYTES, 'string_data');
        m.bytes();
        t.stringCount++;
        return true;
      case 7:
        m.varints(wire, no, 'int64_data', t.int64Data, 'int64');
        return true;
      case 8:
        m.expect(no, wire, WIRE_BYTES, 'name');
        t.name = m.string();
        return true;
      case 9:
        m.expect(no, wire, WIRE_BYTES, 'raw_data');
        t.raw = m.bytes();
        return true;
      case 10:
        m.fixed(wire, no, 'double_data', 8, t.doubleData);
        return true;
      case 11:
        m.varints(wire, no, 'uint64_data', t.uint64Data, 'uint64');
        return true;
      case 13: {
        m.expect(no, wire, WIRE_BYTES, 'external_data');
        const entry = m.sub('TensorProto.external_data');
        let key = '';
        let value = '';
        entry.each((eno, ewire) => {
          if (eno !== 1 && eno !== 2) return false;
          entry.expect(eno, ewire, WIRE_BYTES, eno === 1 ? 'key' : 'value');
          if (eno === 1) key = entry.string();
          else value = entry.string();
          return true;
        });
        t.external.push(`${key}=${value}`);
        return true;
      }
      case 14:
        m.expect(no, wire, WIRE_VARINT, 'data_location');
        t.dataLocation = m.p.r.int32();
        return true;
      default:
        return false;
    }
  });
  return t;
}

export interface RawValueInfo {
  name: string;
  elemType: number | null;
  shape: RawDim[] | null;
}

function decodeShape(m: Msg): RawDim[] {
  const dims: RawDim[] = [];
  m.each((no, wire) => {
    if (no !== 1) return false;
    m.expect(no, wire, WIRE_BYTES, 'dim');
    const d = m.sub('TensorShapeProto.Dimension');
    let dim: RawDim = null;
    d.each((dno, dwire) => {
      if (dno === 1) {
        d.expect(dno, dwire, WIRE_VARINT, 'dim_value');
        const v = d.int64();
        // A negative size is not a size; exporters that write -1 mean "unknown".
        dim = Number.isSafeInteger(v) && v >= 0 ? v : null;
        return true;
      }
      if (dno === 2) {
        d.expect(dno, dwire, WIRE_BYTES, 'dim_param');
        const s = d.string();
        dim = s === '' ? null : s;
        return true;
      }
      return false;
    });
    dims.push(dim);
    return true;
  });
  return dims;
}

function decodeValueInfo(m: Msg): RawValueInfo {
  const v: RawValueInfo = { name: '', elemType: null, shape: null };
  m.each((no, wire) => {
    if (no === 1) {
      m.expect(no, wire, WIRE_BYTES, 'name');
      v.name = m.string();
      return true;
    }
    if (no !== 2) return false;
    m.expect(no, wire, WIRE_BYTES, 'type');
    const type = m.sub('TypeProto');
    type.each((tno, twire) => {
      // Only tensor types are described; sequence, map and optional values keep elemType null.
      if (tno !== 1) return false;
      type.expect(tno, twire, WIRE_BYTES, 'tensor_type');
      const tt = type.sub('TypeProto.Tensor');
      v.elemType = 0;
      tt.each((xno, xwire) => {
        if (xno === 1) {
          tt.expect(xno, xwire, WIRE_VARINT, 'elem_type');
          v.elemType = tt.p.r.int32();
          return true;
        }
        if (xno === 2) {
          tt.expect(xno, xwire, WIRE_BYTES, 'shape');
          v.shape = decodeShape(tt.sub('TensorShapeProto'));
          return true;
        }
        return false;
      });
      return true;
    });
    return true;
  });
  return v;
}

export interface RawAttribute {
  name: string;
  type: number;
  f: number;
  i: number;
  s: Uint8Array;
  t: RawTensor | null;
  g: RawGraph | null;
  floats: number[];
  ints: number[];
  strings: Uint8Array[];
  tensors: RawTensor[];
  graphs: RawGraph[];
  present: Set<number>;
}

function decodeAttribute(m: Msg, depth: number): RawAttribute {
  const a: RawAttribute = {
    name: '',
    type: 0,
    f: 0,
    i: 0,
    s: new Uint8Array(0),
    t: null,
    g: null,
    floats: [],
    ints: [],
    strings: [],
    tensors: [],
    graphs: [],
    present: new Set(),
  };
  const r = m.p.r;
  m.each((no, wire) => {
    switch (no) {
      case 1:
        m.expect(no, wire, WIRE_BYTES, 'name');
        a.name = m.string();
        return true;
      case 2:
        m.expect(no, wire, WIRE_FIXED32, 'f');
        a.f = r.float();
        break;
      case 3:
        m.expect(no, wire, WIRE_VARINT, 'i');
        a.i = m.int64();
        break;
      case 4:
        m.expect(no, wire, WIRE_BYTES, 's');
        a.s = m.bytes();
        break;
      case 5:
        m.expect(no, wire, WIRE_BYTES, 't');
        a.t = decodeTensor(m.sub('AttributeProto.t'));
        break;
      case 6:
        m.expect(no, wire, WIRE_BYTES, 'g');
        a.g = decodeGraph(m.sub('AttributeProto.g'), depth + 1);
        break;
      case 7: {
        const chunks: Uint8Array[] = [];
        m.fixed(wire, no, 'floats', 4, chunks);
        for (const v of floatsOf(chunks)) a.floats.push(v);
        break;
      }
      case 8:
        m.varints(wire, no, 'ints', a.ints, 'int64');
        break;
      case 9:
        m.expect(no, wire, WIRE_BYTES, 'strings');
        a.strings.push(m.bytes());
        break;
      case 10:
        m.expect(no, wire, WIRE_BYTES, 'tensors');
        a.tensors.push(decodeTensor(m.sub('AttributeProto.tensors')));
        break;
      case 11:
        m.expect(no, wire, WIRE_BYTES, 'graphs');
        a.graphs.push(decodeGraph(m.sub('AttributeProto.graphs'), depth + 1));
        break;
      case 20:
        m.expect(no, wire, WIRE_VARINT, 'type');
        a.type = r.int32();
        return true;
      case 21:
      case 22:
      case 23:
      case 14:
      case 15:
        // ref_attr_name (function bodies only), sparse tensors and type protos: recorded as present so the
        // conversion can refuse them by name instead of silently dropping them.
        a.present.add(no);
        return false;
      default:
        return false;
    }
    a.present.add(no);
    return true;
  });
  return a;
}

export interface RawNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: RawAttribute[];
}

function decodeNode(m: Msg, depth: number): RawNode {
  const n: RawNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attrs: [] };
  m.each((no, wire) => {
    switch (no) {
      case 1:
        m.expect(no, wire, WIRE_BYTES, 'input');
        n.inputs.push(m.string());
        return true;
      case 2:
        m.expect(no, wire, WIRE_BYTES, 'output');
        n.outputs.push(m.string());
        return true;
      case 3:
        m.expect(no, wire, WIRE_BYTES, 'name');
        n.name = m.string();
        return true;
      case 4:
        m.expect(no, wire, WIRE_BYTES, 'op_type');
        n.opType = m.string();
        return true;
      case 5:
        m.expect(no, wire, WIRE_BYTES, 'attribute');
        n.attrs.push(decodeAttribute(m.sub('AttributeProto'), depth));
        return true;
      case 7:
        m.expect(no, wire, WIRE_BYTES, 'domain');
        n.domain = m.string();
        return true;
      default:
        return false;
    }
  });
  return n;
}

export interface RawGraph {
  name: string;
  nodes: RawNode[];
  initializers: RawTensor[];
  inputs: RawValueInfo[];
  outputs: RawValueInfo[];
  valueInfo: RawValueInfo[];
  sparseInitializers: number;
}

function decodeGraph(m: Msg, depth: number): RawGraph {
  if (depth > MAX_GRAPH_DEPTH) {
    m.p.fail(m.p.r.pos, `graphs nest more than ${MAX_GRAPH_DEPTH} levels deep (through graph attributes)`);
  }
  const g: RawGraph = {
    name: '',
    nodes: [],
    initializers: [],
    inputs: [],
    outputs: [],
    valueInfo: [],
    sparseInitializers: 0,
  };
  m.each((no, wire) => {
    switch (no) {
      case 1:
        m.expect(no, wire, WIRE_BYTES, 'node');
        g.nodes.push(decodeNode(m.sub('NodeProto'), depth));
        return true;
      case 2:
        m.expect(no, wire, WIRE_BYTES, 'name');
        g.name = m.string();
        return true;
      case 5:
        m.expect(no, wire, WIRE_BYTES, 'initializer');
        g.initializers.push(decodeTensor(m.sub('TensorProto')));
        return true;
      case 11:
        m.expect(no, wire, WIRE_BYTES, 'input');
        g.inputs.push(decodeValueInfo(m.sub('ValueInfoProto')));
        return true;
      case 12:
        m.expect(no, wire, WIRE_BYTES, 'output');
        g.outputs.push(decodeValueInfo(m.sub('ValueInfoProto')));
        return true;
      case 13:
        m.expect(no, wire, WIRE_BYTES, 'value_info');
        g.valueInfo.push(decodeValueInfo(m.sub('ValueInfoProto')));
        return true;
      case 15:
        g.sparseInitializers++;
        return false;
      default:
        return false;
    }
  });
  return g;
}

export interface RawModel {
  irVersion: number;
  opsetImports: RawOpsetImport[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  metadata: [string, string][];
  graph: RawGraph | null;
}

function decodeModel(m: Msg): RawModel {
  const model: RawModel = {
    irVersion: 0,
    opsetImports: [],
    producerName: '',
    producerVersion: '',
    domain: '',
    modelVersion: 0,
    docString: '',
    metadata: [],
    graph: null,
  };
  m.each((no, wire) => {
    switch (no) {
      case 1:
        m.expect(no, wire, WIRE_VARINT, 'ir_version');
        model.irVersion = m.int64();
        return true;
      case 2:
        m.expect(no, wire, WIRE_BYTES, 'producer_name');
        model.producerName = m.string();
        return true;
      case 3:
        m.expect(no, wire, WIRE_BYTES, 'producer_version');
        model.producerVersion = m.string();
        return true;
      case 4:
        m.expect(no, wire, WIRE_BYTES, 'domain');
        model.domain = m.string();
        return true;
      case 5:
        m.expect(no, wire, WIRE_VARINT, 'model_version');
        model.modelVersion = m.int64();
        return true;
      case 6:
        m.expect(no, wire, WIRE_BYTES, 'doc_string');
        model.docString = m.string();
        return true;
      case 7:
        m.expect(no, wire, WIRE_BYTES, 'graph');
        // A repeated singular message merges in protobuf; two graphs only come from corruption.
        if (model.graph) m.p.fail(m.p.r.pos, 'ModelProto has two graph fields');
        model.graph = decodeGraph(m.sub('GraphProto'), 0);
        return true;
      case 8: {
        m.expect(no, wire, WIRE_BYTES, 'opset_import');
        const o = m.sub('OperatorSetIdProto');
        const entry: RawOpsetImport = { domain: '', version: 0 };
        o.each((ono, owire) => {
          if (ono === 1) {
            o.expect(ono, owire, WIRE_BYTES, 'domain');
            entry.domain = o.string();
            return true;
          }
          if (ono === 2) {
            o.expect(ono, owire, WIRE_VARINT, 'version');
            entry.version = o.int64();
            return true;
          }
          return false;
        });
        model.opsetImports.push(entry);
        return true;
      }
      case 14: {
        m.expect(no, wire, WIRE_BYTES, 'metadata_props');
        const e = m.sub('StringStringEntryProto');
        const kv: [string, string] = ['', ''];
        e.each((eno, ewire) => {
          if (eno !== 1 && eno !== 2) return false;
          e.expect(eno, ewire, WIRE_BYTES, eno === 1 ? 'key' : 'value');
          kv[eno - 1] = e.string();
          return true;
        });
        model.metadata.push(kv);
        return true;
      }
      default:
        return false;
    }
  });
  return model;
}

export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export function floatsOf(chunks: readonly Uint8Array[]): Float32Array {
  const bytes = concatChunks(chunks);
  return viewAs(Float32Array, bytes);
}

export function doublesOf(chunks: readonly Uint8Array[]): Float64Array {
  const bytes = concatChunks(chunks);
  return viewAs(Float64Array, bytes);
}

type ViewCtor<T> = {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
};

/**
 * `bytes` as a typed array: a view when aligned, else over one copy (typed arrays need byteOffset to be a
 * multiple of the element size). The copy is a plain Uint8Array, never Node's Buffer#slice, which is a view.
 */
export function viewAs<T>(ctor: ViewCtor<T>, bytes: Uint8Array): T {
  const width = ctor.BYTES_PER_ELEMENT;
  const src = bytes.byteOffset % width === 0 ? bytes : new Uint8Array(bytes);
  return new ctor(src.buffer as ArrayBuffer, src.byteOffset, src.byteLength / width);
}

/**
 * Decodes a ModelProto. Throws a ProtobufError for any malformation, including the RangeErrors and Errors
 * protobufjs raises for truncated varints, lengths past the end and invalid wire types.
 */
export function decodeOnnxModel(bytes: Uint8Array): RawModel {
  const p = new ProtoReader(bytes);
  try {
    return decodeModel(new Msg(p, bytes.length, 'ModelProto'));
  } catch (e) {
    if (e instanceof ProtobufError) throw e;
    const reason = e instanceof Error ? e.message : String(e);
    throw new ProtobufError(p.r.pos, `the data is truncated or corrupt (${reason})`);
  }
}
