/**
 * The part of Core ML's model specification an ML Program needs, as our own schema for ./proto-schema.ts.
 * Field numbers and types are those of apple/coremltools `mlmodel/format/Model.proto`,
 * `FeatureTypes.proto` and `MIL.proto` (BSD-3-Clause; package CoreML.Specification and
 * CoreML.Specification.MILSpec). Messages and fields an ML Program does not use (neural networks, pipelines,
 * image and sequence features, flexible shapes, multi-function descriptions) are left out: a reader reports
 * them as unknown fields rather than mis-reading them.
 * @module
 */
import type { ProtoSchema } from './proto-schema.js';

const msg = (message: string) => ({ message });

export const COREML_SCHEMA: ProtoSchema = {
  // Model.proto
  Model: {
    specificationVersion: { no: 1, type: 'int32' },
    description: { no: 2, type: msg('ModelDescription') },
    isUpdatable: { no: 10, type: 'bool' },
    mlProgram: { no: 502, type: msg('Program'), oneof: 'Type' },
  },
  ModelDescription: {
    input: { no: 1, type: msg('FeatureDescription'), repeated: true },
    output: { no: 10, type: msg('FeatureDescription'), repeated: true },
    predictedFeatureName: { no: 11, type: 'string' },
    predictedProbabilitiesName: { no: 12, type: 'string' },
    metadata: { no: 100, type: msg('Metadata') },
  },
  FeatureDescription: {
    name: { no: 1, type: 'string' },
    shortDescription: { no: 2, type: 'string' },
    type: { no: 3, type: msg('FeatureType') },
  },
  Metadata: {
    shortDescription: { no: 1, type: 'string' },
    versionString: { no: 2, type: 'string' },
    author: { no: 3, type: 'string' },
    license: { no: 4, type: 'string' },
    userDefined: { no: 100, type: 'string', map: true },
  },
  // FeatureTypes.proto
  FeatureType: {
    multiArrayType: { no: 5, type: msg('ArrayFeatureType'), oneof: 'Type' },
    isOptional: { no: 1000, type: 'bool' },
  },
  ArrayFeatureType: {
    shape: { no: 1, type: 'int64', repeated: true },
    dataType: { no: 2, type: 'enum' },
  },
  // MIL.proto
  Program: {
    version: { no: 1, type: 'int64' },
    functions: { no: 2, type: msg('Function'), map: true },
    docString: { no: 3, type: 'string' },
    attributes: { no: 4, type: msg('Value'), map: true },
  },
  Function: {
    inputs: { no: 1, type: msg('NamedValueType'), repeated: true },
    opset: { no: 2, type: 'string' },
    block_specializations: { no: 3, type: msg('Block'), map: true },
    attributes: { no: 4, type: msg('Value'), map: true },
  },
  Block: {
    inputs: { no: 1, type: msg('NamedValueType'), repeated: true },
    outputs: { no: 2, type: 'string', repeated: true },
    operations: { no: 3, type: msg('Operation'), repeated: true },
    attributes: { no: 4, type: msg('Value'), map: true },
  },
  Argument: {
    arguments: { no: 1, type: msg('Binding'), repeated: true },
  },
  Binding: {
    name: { no: 1, type: 'string', oneof: 'binding' },
    value: { no: 2, type: msg('Value'), oneof: 'binding' },
  },
  Operation: {
    type: { no: 1, type: 'string' },
    inputs: { no: 2, type: msg('Argument'), map: true },
    outputs: { no: 3, type: msg('NamedValueType'), repeated: true },
    blocks: { no: 4, type: msg('Block'), repeated: true },
    attributes: { no: 5, type: msg('Value'), map: true },
  },
  NamedValueType: {
    name: { no: 1, type: 'string' },
    type: { no: 2, type: msg('ValueType') },
  },
  ValueType: {
    tensorType: { no: 1, type: msg('TensorType'), oneof: 'type' },
    listType: { no: 2, type: msg('ListType'), oneof: 'type' },
    tupleType: { no: 3, type: msg('TupleType'), oneof: 'type' },
  },
  TensorType: {
    dataType: { no: 1, type: 'enum' },
    rank: { no: 2, type: 'int64' },
    dimensions: { no: 3, type: msg('Dimension'), repeated: true },
    attributes: { no: 4, type: msg('Value'), map: true },
  },
  TupleType: {
    types: { no: 1, type: msg('ValueType'), repeated: true },
  },
  ListType: {
    type: { no: 1, type: msg('ValueType') },
    length: { no: 2, type: msg('Dimension') },
  },
  Dimension: {
    constant: { no: 1, type: msg('ConstantDimension'), oneof: 'dimension' },
    unknown: { no: 2, type: msg('UnknownDimension'), oneof: 'dimension' },
  },
  ConstantDimension: {
    size: { no: 1, type: 'uint64' },
  },
  UnknownDimension: {
    variadic: { no: 1, type: 'bool' },
  },
  Value: {
    docString: { no: 1, type: 'string' },
    type: { no: 2, type: msg('ValueType') },
    immediateValue: { no: 3, type: msg('ImmediateValue'), oneof: 'value' },
    blobFileValue: { no: 5, type: msg('BlobFileValue'), oneof: 'value' },
  },
  ImmediateValue: {
    tensor: { no: 1, type: msg('TensorValue'), oneof: 'value' },
    tuple: { no: 2, type: msg('ValueList'), oneof: 'value' },
    list: { no: 3, type: msg('ValueList'), oneof: 'value' },
  },
  BlobFileValue: {
    fileName: { no: 1, type: 'string' },
    offset: { no: 2, type: 'uint64' },
  },
  TensorValue: {
    floats: { no: 1, type: msg('RepeatedFloats'), oneof: 'value' },
    ints: { no: 2, type: msg('RepeatedInts'), oneof: 'value' },
    bools: { no: 3, type: msg('RepeatedBools'), oneof: 'value' },
    strings: { no: 4, type: msg('RepeatedStrings'), oneof: 'value' },
    longInts: { no: 5, type: msg('RepeatedLongInts'), oneof: 'value' },
    doubles: { no: 6, type: msg('RepeatedDoubles'), oneof: 'value' },
    bytes: { no: 7, type: msg('RepeatedBytes'), oneof: 'value' },
  },
  RepeatedFloats: { values: { no: 1, type: 'float', repeated: true } },
  RepeatedDoubles: { values: { no: 1, type: 'double', repeated: true } },
  RepeatedInts: { values: { no: 1, type: 'int32', repeated: true } },
  RepeatedLongInts: { values: { no: 1, type: 'int64', repeated: true } },
  RepeatedBools: { values: { no: 1, type: 'bool', repeated: true } },
  RepeatedStrings: { values: { no: 1, type: 'string', repeated: true } },
  RepeatedBytes: { values: { no: 1, type: 'bytes' } },
  /** TupleValue and ListValue have the same wire form: `repeated Value values = 1`. */
  ValueList: { values: { no: 1, type: msg('Value'), repeated: true } },
};

/** MIL.proto DataType. */
export const MIL_DTYPE = {
  BOOL: 1,
  STRING: 2,
  FLOAT16: 10,
  FLOAT32: 11,
  FLOAT64: 12,
  BFLOAT16: 13,
  INT8: 21,
  INT16: 22,
  INT32: 23,
  INT64: 24,
  UINT8: 31,
  UINT16: 32,
  UINT32: 33,
  UINT64: 34,
} as const;

/** FeatureTypes.proto ArrayFeatureType.ArrayDataType. */
export const ARRAY_DTYPE = { FLOAT32: 65568, DOUBLE: 65600, INT32: 131104, INT8: 131080, FLOAT16: 65552 } as const;

/** Specification version → the MIL opset name its programs declare (coremltools `_OPSET`). */
export const OPSET_OF_SPEC: Readonly<Record<number, string>> = {
  6: 'CoreML5',
  7: 'CoreML6',
  8: 'CoreML7',
  9: 'CoreML8',
};
