/**
 * Builds small TFLite flatbuffers for tests with the `flatbuffers` Builder, field slots written out from
 * schema.fbs. It writes through the library's encoder, not the reader's accessors, so a test that reads a
 * built file back checks the reader against a second, independent use of the schema.
 */
import { Builder } from 'flatbuffers';

export interface BuildQuantization {
  scale?: number[];
  zeroPoint?: number[];
  quantizedDimension?: number;
  min?: number[];
  max?: number[];
}

export interface BuildTensor {
  name?: string;
  shape: number[];
  /** TensorType value (0 FLOAT32, 1 FLOAT16, 2 INT32, 3 UINT8, 9 INT8, ...). */
  type: number;
  buffer?: number;
  quantization?: BuildQuantization;
  shapeSignature?: number[];
}

export interface BuildOperator {
  opcodeIndex: number;
  inputs: number[];
  outputs: number[];
  /** BuiltinOptions union type byte. */
  optionsType?: number;
  /** Writes the options table and returns its offset. */
  options?: (b: Builder) => number;
}

export interface BuildOperatorCode {
  deprecatedBuiltinCode?: number;
  builtinCode?: number;
  customCode?: string;
  version?: number;
}

/** Inline data, or `external` data placed after the flatbuffer and referenced by offset/size. */
export interface BuildBuffer {
  data?: Uint8Array;
  external?: Uint8Array;
}

export interface BuildSubgraph {
  name?: string;
  tensors: BuildTensor[];
  inputs: number[];
  outputs: number[];
  operators: BuildOperator[];
}

export interface BuildModel {
  version?: number;
  identifier?: string;
  description?: string;
  operatorCodes: BuildOperatorCode[];
  subgraphs: BuildSubgraph[];
  buffers: BuildBuffer[];
}

export function int32Vector(b: Builder, values: readonly number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]);
  return b.endVector();
}

function float32Vector(b: Builder, values: readonly number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i]);
  return b.endVector();
}

function int64Vector(b: Builder, values: readonly number[]): number {
  b.startVector(8, values.length, 8);
  for (let i = values.length - 1; i >= 0; i--) b.addInt64(BigInt(values[i]));
  return b.endVector();
}

export function offsetVector(b: Builder, offsets: readonly number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
  return b.endVector();
}

function buildQuantization(b: Builder, q: BuildQuantization): number {
  const min = q.min ? float32Vector(b, q.min) : 0;
  const max = q.max ? float32Vector(b, q.max) : 0;
  const scale = q.scale ? float32Vector(b, q.scale) : 0;
  const zero = q.zeroPoint ? int64Vector(b, q.zeroPoint) : 0;
  b.startObject(7);
  if (min) b.addFieldOffset(0, min, 0);
  if (max) b.addFieldOffset(1, max, 0);
  if (scale) b.addFieldOffset(2, scale, 0);
  if (zero) b.addFieldOffset(3, zero, 0);
  b.addFieldInt32(6, q.quantizedDimension ?? 0, 0);
  return b.endObject();
}

function buildTensor(b: Builder, t: BuildTensor): number {
  const shape = int32Vector(b, t.shape);
  const name = b.createString(t.name ?? '');
  const quant = t.quantization ? buildQuantization(b, t.quantization) : 0;
  const signature = t.shapeSignature ? int32Vector(b, t.shapeSignature) : 0;
  b.startObject(10);
  b.addFieldOffset(0, shape, 0);
  b.addFieldInt8(1, t.type, 0);
  b.addFieldInt32(2, t.buffer ?? 0, 0);
  b.addFieldOffset(3, name, 0);
  if (quant) b.addFieldOffset(4, quant, 0);
  if (signature) b.addFieldOffset(7, signature, 0);
  return b.endObject();
}

function buildOperator(b: Builder, op: BuildOperator): number {
  const inputs = int32Vector(b, op.inputs);
  const outputs = int32Vector(b, op.outputs);
  const options = op.options ? op.options(b) : 0;
  b.startObject(13);
  b.addFieldInt32(0, op.opcodeIndex, 0);
  b.addFieldOffset(1, inputs, 0);
  b.addFieldOffset(2, outputs, 0);
  b.addFieldInt8(3, op.optionsType ?? 0, 0);
  if (options) b.addFieldOffset(4, options, 0);
  return b.endObject();
}

function buildOnce(model: BuildModel, externalOffsets: readonly number[]): Uint8Array {
  const b = new Builder(1024);
  const buffers = model.buffers.map((buf, i) => {
    const data = buf.data ? b.createByteVector(buf.data) : 0;
    b.startObject(3);
    if (data) b.addFieldOffset(0, data, 0);
    if (buf.external) {
      b.addFieldInt64(1, BigInt(externalOffsets[i]), 0n);
      b.addFieldInt64(2, BigInt(buf.external.length), 0n);
    }
    return b.endObject();
  });
  const subgraphs = model.subgraphs.map((sg) => {
    const tensors = offsetVector(
      b,
      sg.tensors.map((t) => buildTensor(b, t)),
    );
    const inputs = int32Vector(b, sg.inputs);
    const outputs = int32Vector(b, sg.outputs);
    const operators = offsetVector(
      b,
      sg.operators.map((op) => buildOperator(b, op)),
    );
    const name = b.createString(sg.name ?? 'main');
    b.startObject(5);
    b.addFieldOffset(0, tensors, 0);
    b.addFieldOffset(1, inputs, 0);
    b.addFieldOffset(2, outputs, 0);
    b.addFieldOffset(3, operators, 0);
    b.addFieldOffset(4, name, 0);
    return b.endObject();
  });
  const codes = model.operatorCodes.map((c) => {
    const custom = c.customCode === undefined ? 0 : b.createString(c.customCode);
    b.startObject(4);
    b.addFieldInt8(0, c.deprecatedBuiltinCode ?? 0, 0);
    if (custom) b.addFieldOffset(1, custom, 0);
    b.addFieldInt32(2, c.version ?? 1, 1);
    b.addFieldInt32(3, c.builtinCode ?? 0, 0);
    return b.endObject();
  });
  const codesVec = offsetVector(b, codes);
  const subgraphsVec = offsetVector(b, subgraphs);
  const buffersVec = offsetVector(b, buffers);
  const description = b.createString(model.description ?? 'built by tflite-builder');
  b.startObject(8);
  b.addFieldInt32(0, model.version ?? 3, 0);
  b.addFieldOffset(1, codesVec, 0);
  b.addFieldOffset(2, subgraphsVec, 0);
  b.addFieldOffset(3, description, 0);
  b.addFieldOffset(4, buffersVec, 0);
  const root = b.endObject();
  b.finish(root, model.identifier ?? 'TFL3');
  return b.asUint8Array().slice();
}

/**
 * The model as TFLite bytes. Buffers with `external` data are stored the way models over 2 GB store them:
 * after the flatbuffer, 16-byte aligned, referenced by offset and size from the start of the file.
 */
export function buildTflite(model: BuildModel): Uint8Array {
  const externals = model.buffers.map((buf) => buf.external);
  if (externals.every((e) => e === undefined)) return buildOnce(model, []);
  // ulong fields have a fixed width, so a placeholder pass gives the final flatbuffer length.
  const placeholder = buildOnce(
    model,
    externals.map(() => 2 ** 30),
  );
  const offsets: number[] = [];
  let end = placeholder.length;
  for (const e of externals) {
    if (!e) {
      offsets.push(0);
      continue;
    }
    end = Math.ceil(end / 16) * 16;
    offsets.push(end);
    end += e.length;
  }
  const head = buildOnce(model, offsets);
  if (head.length !== placeholder.length) throw new Error('tflite-builder: flatbuffer length changed between passes');
  const out = new Uint8Array(end);
  out.set(head);
  externals.forEach((e, i) => {
    if (e) out.set(e, offsets[i]);
  });
  return out;
}

/** Little-endian bytes of typed values, for buffer data. */
export function bytesOf(values: ArrayBufferView): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
}

export { Builder };
