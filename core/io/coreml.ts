/**
 * Core ML ML Programs: the `.mlpackage` layout, the Model protobuf (schema in ./coreml-schema.ts) and MIL
 * values. Browser-safe: reading and writing the package folder is node/io/mlpackage.ts's job.
 *
 *   X.mlpackage/Manifest.json                         fileFormatVersion 1.0.0, two items (model, weights)
 *   X.mlpackage/Data/com.apple.CoreML/model.mlmodel   the CoreML.Specification.Model protobuf
 *   X.mlpackage/Data/com.apple.CoreML/weights/weight.bin   MIL blob storage (./mil-blob.ts)
 *
 * (apple/coremltools `modelpackage/src/ModelPackage.cpp`, `coremltools/models/utils.py`.) Constants in a
 * program are `const` ops whose `val` attribute is an immediate tensor or a BlobFileValue naming
 * `@model_path/weights/weight.bin` and the offset of the blob's metadata.
 * @module
 */
import { f16ArrayToF32, f32ArrayToF16 } from '../dtype.js';
import { UsageError } from '../errors.js';
import { COREML_SCHEMA, MIL_DTYPE } from './coreml-schema.js';
import { BLOB_DTYPE, type BlobReader } from './mil-blob.js';
import { decodeMessage, encodeMessage } from './proto-schema.js';
import { ProtobufError } from './proto-wire.js';

/** Malformed or unsupported Core ML data; the message starts with the file name. */
export class CoreMLError extends UsageError {
  override name = 'CoreMLError';
}

// ---------------------------------------------------------------------------------------------------------
// Message types (optional where the decoder leaves an empty or default field out)

export interface MilDimension {
  constant?: { size?: number };
  unknown?: { variadic?: boolean };
}
export interface MilTensorType {
  dataType?: number;
  rank?: number;
  dimensions?: MilDimension[];
}
export interface MilValueType {
  tensorType?: MilTensorType;
  listType?: { type?: MilValueType; length?: MilDimension };
  tupleType?: { types?: MilValueType[] };
}
export interface MilTensorValue {
  floats?: { values?: number[] };
  ints?: { values?: number[] };
  bools?: { values?: boolean[] };
  strings?: { values?: string[] };
  longInts?: { values?: number[] };
  doubles?: { values?: number[] };
  bytes?: { values?: Uint8Array };
}
export interface MilValue {
  docString?: string;
  type?: MilValueType;
  immediateValue?: { tensor?: MilTensorValue; tuple?: { values?: MilValue[] }; list?: { values?: MilValue[] } };
  blobFileValue?: { fileName?: string; offset?: number };
}
export interface MilNamedValueType {
  name?: string;
  type?: MilValueType;
}
export interface MilBinding {
  name?: string;
  value?: MilValue;
}
export interface MilOperation {
  type?: string;
  inputs?: Record<string, { arguments?: MilBinding[] }>;
  outputs?: MilNamedValueType[];
  blocks?: MilBlock[];
  attributes?: Record<string, MilValue>;
}
export interface MilBlock {
  inputs?: MilNamedValueType[];
  outputs?: string[];
  operations?: MilOperation[];
  attributes?: Record<string, MilValue>;
}
export interface MilFunction {
  inputs?: MilNamedValueType[];
  opset?: string;
  block_specializations?: Record<string, MilBlock>;
  attributes?: Record<string, MilValue>;
}
export interface MilProgram {
  version?: number;
  functions?: Record<string, MilFunction>;
  docString?: string;
  attributes?: Record<string, MilValue>;
}
export interface ArrayFeatureType {
  shape?: number[];
  dataType?: number;
}
export interface FeatureDescription {
  name?: string;
  shortDescription?: string;
  type?: { multiArrayType?: ArrayFeatureType; isOptional?: boolean };
}
export interface CoreMLMetadata {
  shortDescription?: string;
  versionString?: string;
  author?: string;
  license?: string;
  userDefined?: Record<string, string>;
}
export interface CoreMLModel {
  specificationVersion?: number;
  description?: {
    input?: FeatureDescription[];
    output?: FeatureDescription[];
    predictedFeatureName?: string;
    predictedProbabilitiesName?: string;
    metadata?: CoreMLMetadata;
  };
  isUpdatable?: boolean;
  mlProgram?: MilProgram;
}

export function encodeCoreMLModel(model: CoreMLModel): Uint8Array {
  return encodeMessage(COREML_SCHEMA, 'Model', model as Record<string, unknown>);
}

/** Decode model.mlmodel bytes; `unknown` lists fields outside the ML Program schema (e.g. a neural network). */
export function decodeCoreMLModel(file: string, bytes: Uint8Array): { model: CoreMLModel; unknown: readonly string[] } {
  try {
    const { message, unknown } = decodeMessage<CoreMLModel>(COREML_SCHEMA, 'Model', bytes);
    return { model: message, unknown };
  } catch (err) {
    if (err instanceof ProtobufError)
      throw new CoreMLError(`${file}: malformed Core ML model at byte ${err.at}: ${err.message}`);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Package layout

export const MODEL_ITEM_PATH = 'com.apple.CoreML/model.mlmodel';
export const WEIGHTS_ITEM_PATH = 'com.apple.CoreML/weights';
/** What a program's BlobFileValue names for the package's weight file. */
export const WEIGHT_FILE_REF = '@model_path/weights/weight.bin';

/** Manifest.json for a package holding a model and its weights folder; identifiers are new UUIDs. */
export function buildManifest(newId: () => string = () => globalThis.crypto.randomUUID().toUpperCase()): string {
  const modelId = newId();
  const weightsId = newId();
  const manifest = {
    fileFormatVersion: '1.0.0',
    itemInfoEntries: {
      [modelId]: {
        author: 'com.apple.CoreML',
        description: 'CoreML Model Specification',
        name: 'model.mlmodel',
        path: MODEL_ITEM_PATH,
      },
      [weightsId]: {
        author: 'com.apple.CoreML',
        description: 'CoreML Model Weights',
        name: 'weights',
        path: WEIGHTS_ITEM_PATH,
      },
    },
    rootModelIdentifier: modelId,
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** The root model's path (relative to the package's Data/ folder) from Manifest.json, checked. */
export function rootModelPath(file: string, text: string): string {
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (err) {
    throw new CoreMLError(`${file}: Manifest.json is not valid JSON (${(err as Error).message})`);
  }
  const m = manifest as {
    fileFormatVersion?: unknown;
    itemInfoEntries?: Record<string, { path?: unknown }>;
    rootModelIdentifier?: unknown;
  };
  if (typeof m !== 'object' || m === null || typeof m.itemInfoEntries !== 'object' || m.itemInfoEntries === null) {
    throw new CoreMLError(`${file}: Manifest.json has no itemInfoEntries`);
  }
  if (m.fileFormatVersion !== '1.0.0') {
    throw new CoreMLError(
      `${file}: Manifest.json fileFormatVersion ${JSON.stringify(m.fileFormatVersion)}; only 1.0.0 is read`,
    );
  }
  const root = typeof m.rootModelIdentifier === 'string' ? m.itemInfoEntries[m.rootModelIdentifier] : undefined;
  const path = root?.path;
  if (
    typeof path !== 'string' ||
    path.split('/').some((part) => part === '..' || part === '') ||
    path.startsWith('/')
  ) {
    throw new CoreMLError(`${file}: Manifest.json's rootModelIdentifier does not name an item with a relative path`);
  }
  return path;
}

// ---------------------------------------------------------------------------------------------------------
// MIL types and values

export function tensorType(dataType: number, shape: readonly number[]): MilValueType {
  return {
    tensorType: { dataType, rank: shape.length, dimensions: shape.map((size) => ({ constant: { size } })) },
  };
}

/** An immediate tensor value; `values` in the dtype's natural form (strings for STRING, 0/1 for BOOL). */
export function immediateTensor(
  dataType: number,
  shape: readonly number[],
  values: ArrayLike<number> | readonly string[],
): MilValue {
  let tensor: MilTensorValue;
  switch (dataType) {
    case MIL_DTYPE.FLOAT32:
      tensor = { floats: { values: Array.from(values as ArrayLike<number>) } };
      break;
    case MIL_DTYPE.FLOAT16: {
      const bits = f32ArrayToF16(values as ArrayLike<number>);
      tensor = { bytes: { values: new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength) } };
      break;
    }
    case MIL_DTYPE.BOOL:
      tensor = { bools: { values: Array.from(values as ArrayLike<number>, (v) => v !== 0) } };
      break;
    case MIL_DTYPE.STRING:
      tensor = { strings: { values: [...(values as readonly string[])] } };
      break;
    case MIL_DTYPE.INT64:
      tensor = { longInts: { values: Array.from(values as ArrayLike<number>) } };
      break;
    default:
      tensor = { ints: { values: Array.from(values as ArrayLike<number>) } };
  }
  return { type: tensorType(dataType, shape), immediateValue: { tensor } };
}

export function scalarString(s: string): MilValue {
  return immediateTensor(MIL_DTYPE.STRING, [], [s]);
}

/** A constant's elements, widened for computing: floats as Float32Array, integers as Int32Array, bools as Uint8Array. */
export interface MilConstant {
  readonly dataType: number;
  readonly shape: number[];
  readonly data: Float32Array | Int32Array | Uint8Array | string[];
}

function shapeOf(file: string, t: MilTensorType | undefined, what: string): number[] {
  if (!t) throw new CoreMLError(`${file}: ${what} is not a tensor`);
  const dims = t.dimensions ?? [];
  if ((t.rank ?? 0) !== dims.length)
    throw new CoreMLError(`${file}: ${what}: rank ${t.rank} but ${dims.length} dimensions`);
  return dims.map((d, i) => {
    // proto3 leaves a size of 0 out, so a constant dimension without one is 0.
    const size = d.constant ? (d.constant.size ?? 0) : undefined;
    if (size === undefined || !Number.isSafeInteger(size)) {
      throw new CoreMLError(`${file}: ${what}: dimension ${i} is not a fixed size (flexible shapes are not supported)`);
    }
    return size;
  });
}

/** The shape of a tensor value type (every dimension must be a constant). */
export function tensorShape(file: string, type: MilValueType | undefined, what: string): number[] {
  return shapeOf(file, type?.tensorType, what);
}

const BLOB_FOR: Readonly<Record<number, number>> = {
  [MIL_DTYPE.FLOAT16]: BLOB_DTYPE.Float16,
  [MIL_DTYPE.FLOAT32]: BLOB_DTYPE.Float32,
  [MIL_DTYPE.UINT8]: BLOB_DTYPE.UInt8,
  [MIL_DTYPE.INT8]: BLOB_DTYPE.Int8,
  [MIL_DTYPE.INT32]: BLOB_DTYPE.Int32,
  [MIL_DTYPE.UINT32]: BLOB_DTYPE.UInt32,
};

/** Read a constant value (immediate or from the weight file), checking its size against its declared type. */
export function readMilValue(file: string, value: MilValue, blobs: BlobReader | null, what: string): MilConstant {
  const t = value.type?.tensorType;
  const dataType = t?.dataType ?? 0;
  const shape = shapeOf(file, t, what);
  const count = shape.reduce((a, b) => a * b, 1);
  const check = (n: number) => {
    if (n !== count) throw new CoreMLError(`${file}: ${what}: ${n} values for shape [${shape}] (${count})`);
  };
  if (value.blobFileValue) {
    const { fileName, offset } = value.blobFileValue;
    if (fileName !== WEIGHT_FILE_REF)
      throw new CoreMLError(`${file}: ${what}: blob file ${JSON.stringify(fileName)}; only ${WEIGHT_FILE_REF} is read`);
    if (!blobs) throw new CoreMLError(`${file}: ${what} is in weights/weight.bin, which the package does not have`);
    const blob = blobs.read(offset ?? 0);
    if (BLOB_FOR[dataType] !== blob.dtype) {
      throw new CoreMLError(
        `${file}: ${what}: the blob at ${offset} has data type ${blob.dtype}, the value is declared ${dataType}`,
      );
    }
    const bytes = new Uint8Array(blob.data); // a copy (Buffer.slice would be a view)
    const b = bytes.buffer;
    switch (dataType) {
      case MIL_DTYPE.FLOAT16:
        check(bytes.length / 2);
        return { dataType, shape, data: f16ArrayToF32(new Uint16Array(b, 0, bytes.length / 2)) };
      case MIL_DTYPE.FLOAT32:
        check(bytes.length / 4);
        return { dataType, shape, data: new Float32Array(b, 0, bytes.length / 4) };
      case MIL_DTYPE.INT32:
      case MIL_DTYPE.UINT32:
        check(bytes.length / 4);
        return { dataType, shape, data: new Int32Array(b, 0, bytes.length / 4) };
      case MIL_DTYPE.INT8:
        check(bytes.length);
        return { dataType, shape, data: Int32Array.from(new Int8Array(b)) };
      default:
        check(bytes.length);
        return { dataType, shape, data: bytes };
    }
  }
  const tensor = value.immediateValue?.tensor;
  if (!tensor) throw new CoreMLError(`${file}: ${what} has neither an immediate tensor nor a blob`);
  if (dataType === MIL_DTYPE.STRING) {
    const s = tensor.strings?.values ?? [];
    check(s.length);
    return { dataType, shape, data: s };
  }
  if (dataType === MIL_DTYPE.FLOAT16) {
    const raw = new Uint8Array(tensor.bytes?.values ?? []);
    check(raw.length / 2);
    return { dataType, shape, data: f16ArrayToF32(new Uint16Array(raw.buffer, 0, raw.length / 2)) };
  }
  if (dataType === MIL_DTYPE.UINT8 && tensor.bytes) {
    const raw = new Uint8Array(tensor.bytes.values ?? []);
    check(raw.length);
    return { dataType, shape, data: raw };
  }
  const list =
    tensor.floats?.values ??
    tensor.doubles?.values ??
    tensor.ints?.values ??
    tensor.longInts?.values ??
    tensor.bools?.values?.map(Number) ??
    [];
  check(list.length);
  if (dataType === MIL_DTYPE.FLOAT32 || dataType === MIL_DTYPE.FLOAT64)
    return { dataType, shape, data: Float32Array.from(list) };
  if (dataType === MIL_DTYPE.BOOL || dataType === MIL_DTYPE.UINT8)
    return { dataType, shape, data: Uint8Array.from(list) };
  return { dataType, shape, data: Int32Array.from(list) };
}
