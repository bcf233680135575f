/**
 * TFLite model reading: the flatbuffer described by tensorflow/lite/schema/schema.fbs (file identifier
 * "TFL3", schema version 3) becomes plain data — operator codes, subgraphs with tensors and quantization,
 * operators with decoded builtin options, and buffers as views into the file. {@link dequantizeTensor} turns
 * a constant tensor into f32 using the file's scales and zero points (per tensor or per channel) or by
 * widening fp16. Building an executable graph from this is the importer's job.
 *
 * There is no generated schema code here: the table accessors below read fields by their index in
 * schema.fbs (a union field takes two slots: its type byte, then its table), through the `flatbuffers`
 * runtime's ByteBuffer. The runtime does no bounds checking, so every offset, vtable and vector is checked
 * against the file before it is followed, and the total work is capped in proportion to the file size, so a
 * corrupt or hostile file (aliased tables, huge counts) fails with a {@link TfliteError} naming the file —
 * never an out-of-bounds read, an unbounded loop or a crash.
 * @module
 */
import { ByteBuffer } from 'flatbuffers';
import { f16BitsToF32 } from '../dtype.js';
import { UsageError } from '../errors.js';
import type { ByteSource } from './bytes.js';
import {
  TFLITE_ACTIVATIONS,
  TFLITE_BUILTIN_OPERATORS,
  TFLITE_BUILTIN_OPTIONS,
  TFLITE_MIRROR_PAD_MODES,
  TFLITE_PADDINGS,
  TFLITE_TENSOR_TYPES,
  TFLITE_WEIGHTS_FORMATS,
  type TfliteTensorType,
} from './tflite-schema.js';

export * from './tflite-schema.js';

/** Malformed or unsupported TFLite data; the message starts with the file name. */
export class TfliteError extends UsageError {
  override name = 'TfliteError';
}

/** Bytes per element; INT4 packs two per byte; null where the size is not fixed. */
const TYPE_BYTES: Record<TfliteTensorType, number | null> = {
  FLOAT32: 4,
  FLOAT16: 2,
  INT32: 4,
  UINT8: 1,
  INT64: 8,
  STRING: null,
  BOOL: 1,
  INT16: 2,
  COMPLEX64: 8,
  INT8: 1,
  FLOAT64: 8,
  COMPLEX128: 16,
  UINT64: 8,
  RESOURCE: null,
  VARIANT: null,
  UINT32: 4,
  UINT16: 2,
  INT4: 0.5,
};

export type TflitePadding = (typeof TFLITE_PADDINGS)[number];
export type TfliteActivation = (typeof TFLITE_ACTIVATIONS)[number];

// ---------------------------------------------------------------------------------------------------------
// Public data model

export interface TfliteQuantization {
  /** One scale per tensor, or one per slice along `quantizedDimension`. Empty when not quantized. */
  scale: number[];
  /** One per scale, or empty when the file omits them (they then read as zeros). */
  zeroPoint: number[];
  quantizedDimension: number;
  /** Calibration ranges, kept for reference; dequantization uses scale and zero point only. */
  min: number[];
  max: number[];
  /** The QuantizationDetails union member when set (custom quantization; scale/zeroPoint then do not apply). */
  details: string | null;
}

export interface TfliteTensor {
  index: number;
  name: string;
  /** Dimensions (NHWC for image ops). */
  shape: number[];
  /** The shape with -1 for dimensions unknown at conversion time, when the file records it. */
  shapeSignature: number[] | null;
  type: TfliteTensorType;
  /** Index into {@link TfliteModel.buffers}; buffer 0 is the empty sentinel of run-time tensors. */
  buffer: number;
  quantization: TfliteQuantization | null;
  isVariable: boolean;
  /** Sparse constant data (SparsityParameters); {@link dequantizeTensor} refuses it. */
  sparse: boolean;
}

export interface TfliteOperatorCode {
  /** max(deprecated_builtin_code, builtin_code), as schema.fbs prescribes. */
  builtinCode: number;
  /** The BuiltinOperator name (e.g. CONV_2D), CUSTOM, or BUILTIN_<code> for codes newer than this reader. */
  name: string;
  customCode: string | null;
  version: number;
}

export interface Conv2DOptions {
  kind: 'Conv2DOptions';
  padding: TflitePadding;
  strideW: number;
  strideH: number;
  activation: TfliteActivation;
  dilationW: number;
  dilationH: number;
}
export interface DepthwiseConv2DOptions {
  kind: 'DepthwiseConv2DOptions';
  padding: TflitePadding;
  strideW: number;
  strideH: number;
  /** Redundant with the filter shape; TFLite ignores it since TF 2.1 (see schema.fbs). */
  depthMultiplier: number;
  activation: TfliteActivation;
  dilationW: number;
  dilationH: number;
}
export interface Pool2DOptions {
  kind: 'Pool2DOptions';
  padding: TflitePadding;
  strideW: number;
  strideH: number;
  filterWidth: number;
  filterHeight: number;
  activation: TfliteActivation;
}
export interface TransposeConvOptions {
  kind: 'TransposeConvOptions';
  padding: TflitePadding;
  strideW: number;
  strideH: number;
  activation: TfliteActivation;
}
export interface FullyConnectedOptions {
  kind: 'FullyConnectedOptions';
  activation: TfliteActivation;
  weightsFormat: (typeof TFLITE_WEIGHTS_FORMATS)[number];
  keepNumDims: boolean;
  asymmetricQuantizeInputs: boolean;
}
export interface ActivationOptions {
  kind: 'AddOptions' | 'SubOptions' | 'MulOptions' | 'DivOptions' | 'L2NormOptions';
  activation: TfliteActivation;
}
export interface ConcatenationOptions {
  kind: 'ConcatenationOptions';
  axis: number;
  activation: TfliteActivation;
}
export interface SoftmaxOptions {
  kind: 'SoftmaxOptions';
  beta: number;
}
export interface ReshapeOptions {
  kind: 'ReshapeOptions';
  /** Null when absent: the shape then comes from the second input tensor. */
  newShape: number[] | null;
}
export interface ResizeOptions {
  kind: 'ResizeBilinearOptions' | 'ResizeNearestNeighborOptions';
  alignCorners: boolean;
  halfPixelCenters: boolean;
}
export interface ReducerOptions {
  kind: 'ReducerOptions';
  keepDims: boolean;
}
export interface MirrorPadOptions {
  kind: 'MirrorPadOptions';
  /** REFLECT excludes the border value, SYMMETRIC repeats it. */
  mode: (typeof TFLITE_MIRROR_PAD_MODES)[number];
}
export interface SqueezeOptions {
  kind: 'SqueezeOptions';
  squeezeDims: number[];
}
export interface StridedSliceOptions {
  kind: 'StridedSliceOptions';
  beginMask: number;
  endMask: number;
  ellipsisMask: number;
  newAxisMask: number;
  shrinkAxisMask: number;
  offset: boolean;
}
export interface AxisOptions {
  kind: 'GatherOptions' | 'PackOptions' | 'UnpackOptions';
  axis: number;
  /** GatherOptions.batch_dims, PackOptions.values_count, UnpackOptions.num. */
  count: number;
}
export interface CountOptions {
  kind: 'SplitOptions' | 'SplitVOptions' | 'SpaceToDepthOptions' | 'DepthToSpaceOptions';
  /** num_splits or block_size. */
  value: number;
}
export interface LeakyReluOptions {
  kind: 'LeakyReluOptions';
  alpha: number;
}
export interface CastOptions {
  kind: 'CastOptions';
  inDataType: TfliteTensorType;
  outDataType: TfliteTensorType;
}
export interface BatchMatMulOptions {
  kind: 'BatchMatMulOptions';
  adjX: boolean;
  adjY: boolean;
}
export interface GeluOptions {
  kind: 'GeluOptions';
  approximate: boolean;
}

/** Options tables with no fields. */
const EMPTY_OPTIONS = [
  'PadOptions',
  'PadV2Options',
  'TransposeOptions',
  'DequantizeOptions',
  'QuantizeOptions',
  'ExpOptions',
  'MaximumMinimumOptions',
  'SliceOptions',
  'ExpandDimsOptions',
  'PowOptions',
  'SquareOptions',
  'SquaredDifferenceOptions',
  'HardSwishOptions',
  'LogSoftmaxOptions',
  'SelectV2Options',
  'BroadcastToOptions',
  'AbsOptions',
  'NegOptions',
  'TileOptions',
] as const;

export interface EmptyOptions {
  kind: (typeof EMPTY_OPTIONS)[number];
}

export type TfliteOptions =
  | Conv2DOptions
  | DepthwiseConv2DOptions
  | Pool2DOptions
  | TransposeConvOptions
  | FullyConnectedOptions
  | ActivationOptions
  | ConcatenationOptions
  | SoftmaxOptions
  | ReshapeOptions
  | ResizeOptions
  | ReducerOptions
  | MirrorPadOptions
  | SqueezeOptions
  | StridedSliceOptions
  | AxisOptions
  | CountOptions
  | LeakyReluOptions
  | CastOptions
  | BatchMatMulOptions
  | GeluOptions
  | EmptyOptions;

export interface TfliteOperator {
  index: number;
  opcodeIndex: number;
  /** The operator code's name, e.g. CONV_2D (see {@link TfliteOperatorCode.name}). */
  opcode: string;
  /** Tensor indices; -1 marks an omitted optional input. */
  inputs: number[];
  outputs: number[];
  intermediates: number[];
  /** The BuiltinOptions union member the file names ('NONE' when absent). */
  builtinOptionsType: string;
  /**
   * Decoded options for the operators listed in {@link TFLITE_OPTIONS_FOR}; when the file omits the table,
   * its schema defaults (what the TFLite runtime uses). Null for other operators.
   */
  options: TfliteOptions | null;
  /** Custom operators' opaque (usually FlexBuffer) options. */
  customOptions: Uint8Array | null;
}

export interface TfliteSubgraph {
  name: string;
  tensors: TfliteTensor[];
  inputs: number[];
  outputs: number[];
  operators: TfliteOperator[];
}

export interface TfliteBuffer {
  /** The constant bytes (a view into the file), or an empty array for run-time tensors. */
  data: Uint8Array;
}

export interface TfliteSignature {
  key: string;
  subgraphIndex: number;
  inputs: { name: string; tensorIndex: number }[];
  outputs: { name: string; tensorIndex: number }[];
}

export interface TfliteModel {
  /** The name of the source, for error messages. */
  file: string;
  version: number;
  description: string;
  operatorCodes: TfliteOperatorCode[];
  subgraphs: TfliteSubgraph[];
  buffers: TfliteBuffer[];
  metadata: { name: string; buffer: number }[];
  signatures: TfliteSignature[];
}

/** Which options table each builtin operator carries (the ones this reader decodes). */
export const TFLITE_OPTIONS_FOR: Readonly<Record<string, TfliteOptions['kind']>> = {
  ADD: 'AddOptions',
  SUB: 'SubOptions',
  MUL: 'MulOptions',
  DIV: 'DivOptions',
  L2_NORMALIZATION: 'L2NormOptions',
  AVERAGE_POOL_2D: 'Pool2DOptions',
  MAX_POOL_2D: 'Pool2DOptions',
  L2_POOL_2D: 'Pool2DOptions',
  CONV_2D: 'Conv2DOptions',
  DEPTHWISE_CONV_2D: 'DepthwiseConv2DOptions',
  TRANSPOSE_CONV: 'TransposeConvOptions',
  FULLY_CONNECTED: 'FullyConnectedOptions',
  CONCATENATION: 'ConcatenationOptions',
  SOFTMAX: 'SoftmaxOptions',
  RESHAPE: 'ReshapeOptions',
  RESIZE_BILINEAR: 'ResizeBilinearOptions',
  RESIZE_NEAREST_NEIGHBOR: 'ResizeNearestNeighborOptions',
  MEAN: 'ReducerOptions',
  SUM: 'ReducerOptions',
  REDUCE_MAX: 'ReducerOptions',
  REDUCE_MIN: 'ReducerOptions',
  REDUCE_PROD: 'ReducerOptions',
  MIRROR_PAD: 'MirrorPadOptions',
  SQUEEZE: 'SqueezeOptions',
  STRIDED_SLICE: 'StridedSliceOptions',
  GATHER: 'GatherOptions',
  PACK: 'PackOptions',
  UNPACK: 'UnpackOptions',
  SPLIT: 'SplitOptions',
  SPLIT_V: 'SplitVOptions',
  SPACE_TO_DEPTH: 'SpaceToDepthOptions',
  DEPTH_TO_SPACE: 'DepthToSpaceOptions',
  LEAKY_RELU: 'LeakyReluOptions',
  CAST: 'CastOptions',
  BATCH_MATMUL: 'BatchMatMulOptions',
  GELU: 'GeluOptions',
  PAD: 'PadOptions',
  PADV2: 'PadV2Options',
  TRANSPOSE: 'TransposeOptions',
  DEQUANTIZE: 'DequantizeOptions',
  QUANTIZE: 'QuantizeOptions',
  EXP: 'ExpOptions',
  MAXIMUM: 'MaximumMinimumOptions',
  MINIMUM: 'MaximumMinimumOptions',
  SLICE: 'SliceOptions',
  EXPAND_DIMS: 'ExpandDimsOptions',
  POW: 'PowOptions',
  SQUARE: 'SquareOptions',
  SQUARED_DIFFERENCE: 'SquaredDifferenceOptions',
  HARD_SWISH: 'HardSwishOptions',
  LOG_SOFTMAX: 'LogSoftmaxOptions',
  SELECT_V2: 'SelectV2Options',
  BROADCAST_TO: 'BroadcastToOptions',
  ABS: 'AbsOptions',
  NEG: 'NegOptions',
  TILE: 'TileOptions',
};

// ---------------------------------------------------------------------------------------------------------
// Bounds-checked flatbuffer access

const FILE_IDENTIFIER = 'TFL3';
const SCHEMA_VERSION = 3;

/** The file and the work budget shared by every table read from it. */
class FlatFile {
  readonly bb: ByteBuffer;
  readonly size: number;
  #units = 0;
  readonly #budget: number;
  readonly #decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(
    readonly file: string,
    readonly bytes: Uint8Array,
  ) {
    this.bb = new ByteBuffer(bytes);
    this.size = bytes.length;
    // Every table, vector element and 4 string bytes costs a unit. Without aliasing a file cannot hold more
    // units than bytes/4; the cap leaves 4x headroom, and stops files that point many entries at one large
    // table (quadratic work) well before they hurt.
    this.#budget = this.size + 4096;
  }

  fail(message: string): never {
    throw new TfliteError(`${this.file}: ${message}`);
  }

  check(pos: number, length: number, what: string): void {
    if (!(pos >= 0 && length >= 0 && pos + length <= this.size)) {
      this.fail(
        `${what}: bytes [${pos}, ${pos + length}) lie outside the ${this.size}-byte file; it is truncated or corrupt`,
      );
    }
  }

  spend(units: number, what: string): void {
    this.#units += units;
    if (this.#units > this.#budget) {
      this.fail(
        `${what}: the file references more tables and elements than its ${this.size} bytes can hold ` +
          `(aliased or looping offsets); it is corrupt`,
      );
    }
  }

  /** Follows the uoffset stored at `pos` (offsets are unsigned and point forward). */
  deref(pos: number, what: string): number {
    this.check(pos, 4, what);
    const target = pos + this.bb.readUint32(pos);
    if (target >= this.size) {
      this.fail(`${what}: offset points to byte ${target}, past the end of the ${this.size}-byte file`);
    }
    return target;
  }

  table(pos: number, what: string): Table {
    this.spend(1, what);
    this.check(pos, 4, `${what} (table)`);
    const vtable = pos - this.bb.readInt32(pos);
    this.check(vtable, 4, `${what} (vtable)`);
    const vtableSize = this.bb.readUint16(vtable);
    const tableSize = this.bb.readUint16(vtable + 2);
    if (vtableSize < 4 || vtableSize % 2 !== 0) {
      this.fail(`${what}: vtable at byte ${vtable} has invalid size ${vtableSize}`);
    }
    this.check(vtable, vtableSize, `${what} (vtable)`);
    if (tableSize < 4) this.fail(`${what}: table at byte ${pos} declares invalid size ${tableSize}`);
    this.check(pos, tableSize, `${what} (table body)`);
    return new Table(this, pos, vtable, vtableSize, tableSize, what);
  }

  utf8(start: number, length: number, what: string): string {
    try {
      return this.#decoder.decode(this.bytes.subarray(start, start + length));
    } catch {
      return this.fail(`${what}: the string at byte ${start} is not valid UTF-8`);
    }
  }
}

/** One table: fields by their index in schema.fbs, each bounds-checked against the table and the file. */
class Table {
  constructor(
    readonly f: FlatFile,
    readonly pos: number,
    readonly vtable: number,
    readonly vtableSize: number,
    readonly tableSize: number,
    readonly what: string,
  ) {}

  /** Absolute position of field `index` (`width` bytes), or 0 when the field is absent. */
  field(index: number, width: number): number {
    const slot = 4 + 2 * index;
    if (slot + 2 > this.vtableSize) return 0;
    const offset = this.f.bb.readUint16(this.vtable + slot);
    if (offset === 0) return 0;
    if (offset < 4 || offset + width > this.tableSize) {
      this.f.fail(
        `${this.what}: field ${index} at table offset ${offset} lies outside the ${this.tableSize}-byte table`,
      );
    }
    return this.pos + offset;
  }

  int8(index: number, fallback: number): number {
    const p = this.field(index, 1);
    return p ? this.f.bb.readInt8(p) : fallback;
  }

  uint8(index: number, fallback: number): number {
    const p = this.field(index, 1);
    return p ? this.f.bb.readUint8(p) : fallback;
  }

  bool(index: number, fallback: boolean): boolean {
    const p = this.field(index, 1);
    return p ? this.f.bb.readUint8(p) !== 0 : fallback;
  }

  int32(index: number, fallback: number): number {
    const p = this.field(index, 4);
    return p ? this.f.bb.readInt32(p) : fallback;
  }

  uint32(index: number, fallback: number): number {
    const p = this.field(index, 4);
    return p ? this.f.bb.readUint32(p) : fallback;
  }

  float32(index: number, fallback: number): number {
    const p = this.field(index, 4);
    return p ? this.f.bb.readFloat32(p) : fallback;
  }

  /** A ulong field as a number; values past 2^53 are no real offset or size, so they are rejected. */
  uint64(index: number, name: string): number {
    const p = this.field(index, 8);
    if (!p) return 0;
    const v = this.f.bb.readUint32(p + 4) * 2 ** 32 + this.f.bb.readUint32(p);
    if (!Number.isSafeInteger(v)) this.f.fail(`${this.what}: ${name} ${v} is impossibly large`);
    return v;
  }

  table(index: number, what: string): Table | null {
    const p = this.field(index, 4);
    return p ? this.f.table(this.f.deref(p, what), what) : null;
  }

  /** Start and length of a vector field of `width`-byte elements, or null when absent. */
  vector(index: number, width: number, what: string): { start: number; length: number } | null {
    const p = this.field(index, 4);
    if (!p) return null;
    const at = this.f.deref(p, what);
    this.f.check(at, 4, `${what} (vector length)`);
    const length = this.f.bb.readUint32(at);
    this.f.check(at + 4, length * width, `${what} (${length} elements)`);
    return { start: at + 4, length };
  }

  int32s(index: number, what: string): number[] | null {
    const v = this.vector(index, 4, what);
    if (!v) return null;
    this.f.spend(v.length, what);
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.f.bb.readInt32(v.start + 4 * i);
    return out;
  }

  float32s(index: number, what: string): number[] | null {
    const v = this.vector(index, 4, what);
    if (!v) return null;
    this.f.spend(v.length, what);
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.f.bb.readFloat32(v.start + 4 * i);
    return out;
  }

  int64s(index: number, what: string): number[] | null {
    const v = this.vector(index, 8, what);
    if (!v) return null;
    this.f.spend(v.length, what);
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) {
      const p = v.start + 8 * i;
      const value = this.f.bb.readInt32(p + 4) * 2 ** 32 + this.f.bb.readUint32(p);
      if (!Number.isSafeInteger(value)) this.f.fail(`${what}: element ${i} (${value}) is outside ±2^53`);
      out[i] = value;
    }
    return out;
  }

  /** A ubyte vector as a view into the file (no copy). */
  bytes(index: number, what: string): Uint8Array | null {
    const v = this.vector(index, 1, what);
    return v ? this.f.bytes.subarray(v.start, v.start + v.length) : null;
  }

  string(index: number, what: string): string | null {
    const v = this.vector(index, 1, what);
    if (!v) return null;
    this.f.spend(Math.ceil(v.length / 4), what);
    // Flatbuffer strings carry a NUL terminator after their bytes.
    this.f.check(v.start + v.length, 1, `${what} (string terminator)`);
    if (this.f.bb.readUint8(v.start + v.length) !== 0) {
      this.f.fail(`${what}: the string at byte ${v.start} is not NUL-terminated`);
    }
    return this.f.utf8(v.start, v.length, what);
  }

  tables(index: number, what: string): Table[] {
    const v = this.vector(index, 4, what);
    if (!v) return [];
    this.f.spend(v.length, what);
    const out = new Array<Table>(v.length);
    for (let i = 0; i < v.length; i++) {
      const label = `${what}[${i}]`;
      out[i] = this.f.table(this.f.deref(v.start + 4 * i, label), label);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

function enumName<T extends string>(f: FlatFile, names: readonly T[], value: number, what: string): T {
  const name = names[value];
  if (name === undefined) {
    f.fail(`${what}: unknown value ${value} (known: ${names.map((n, i) => `${i} ${n}`).join(', ')})`);
  }
  return name;
}

function decodeOptions(f: FlatFile, kind: TfliteOptions['kind'], t: Table | null, what: string): TfliteOptions {
  // A missing table reads as all defaults, which is what the TFLite runtime does.
  const i8 = (i: number, d: number) => (t ? t.int8(i, d) : d);
  const i32 = (i: number, d: number) => (t ? t.int32(i, d) : d);
  const bool = (i: number, d: boolean) => (t ? t.bool(i, d) : d);
  const f32 = (i: number, d: number) => (t ? t.float32(i, d) : d);
  const padding = (i: number) => enumName(f, TFLITE_PADDINGS, i8(i, 0), `${what}: padding`);
  const activation = (i: number) => enumName(f, TFLITE_ACTIVATIONS, i8(i, 0), `${what}: fused_activation_function`);
  switch (kind) {
    case 'Conv2DOptions':
      return {
        kind,
        padding: padding(0),
        strideW: i32(1, 0),
        strideH: i32(2, 0),
        activation: activation(3),
        dilationW: i32(4, 1),
        dilationH: i32(5, 1),
      };
    case 'DepthwiseConv2DOptions':
      return {
        kind,
        padding: padding(0),
        strideW: i32(1, 0),
        strideH: i32(2, 0),
        depthMultiplier: i32(3, 0),
        activation: activation(4),
        dilationW: i32(5, 1),
        dilationH: i32(6, 1),
      };
    case 'Pool2DOptions':
      return {
        kind,
        padding: padding(0),
        strideW: i32(1, 0),
        strideH: i32(2, 0),
        filterWidth: i32(3, 0),
        filterHeight: i32(4, 0),
        activation: activation(5),
      };
    case 'TransposeConvOptions':
      return { kind, padding: padding(0), strideW: i32(1, 0), strideH: i32(2, 0), activation: activation(3) };
    case 'FullyConnectedOptions':
      return {
        kind,
        activation: activation(0),
        weightsFormat: enumName(f, TFLITE_WEIGHTS_FORMATS, i8(1, 0), `${what}: weights_format`),
        keepNumDims: bool(2, false),
        asymmetricQuantizeInputs: bool(3, false),
      };
    case 'AddOptions':
    case 'SubOptions':
    case 'MulOptions':
    case 'DivOptions':
    case 'L2NormOptions':
      return { kind, activation: activation(0) };
    case 'ConcatenationOptions':
      return { kind, axis: i32(0, 0), activation: activation(1) };
    case 'SoftmaxOptions':
      return { kind, beta: f32(0, 0) };
    case 'ReshapeOptions':
      return { kind, newShape: t ? t.int32s(0, `${what}: new_shape`) : null };
    case 'ResizeBilinearOptions':
      // Fields 0 and 1 are the deprecated new_height/new_width.
      return { kind, alignCorners: bool(2, false), halfPixelCenters: bool(3, false) };
    case 'ResizeNearestNeighborOptions':
      return { kind, alignCorners: bool(0, false), halfPixelCenters: bool(1, false) };
    case 'ReducerOptions':
      return { kind, keepDims: bool(0, false) };
    case 'MirrorPadOptions':
      return { kind, mode: enumName(f, TFLITE_MIRROR_PAD_MODES, i8(0, 0), `${what}: mode`) };
    case 'SqueezeOptions':
      return { kind, squeezeDims: (t ? t.int32s(0, `${what}: squeeze_dims`) : null) ?? [] };
    case 'StridedSliceOptions':
      return {
        kind,
        beginMask: i32(0, 0),
        endMask: i32(1, 0),
        ellipsisMask: i32(2, 0),
        newAxisMask: i32(3, 0),
        shrinkAxisMask: i32(4, 0),
        offset: bool(5, false),
      };
    case 'GatherOptions':
      return { kind, axis: i32(0, 0), count: i32(1, 0) };
    case 'PackOptions':
    case 'UnpackOptions':
      return { kind, axis: i32(1, 0), count: i32(0, 0) };
    case 'SplitOptions':
    case 'SplitVOptions':
    case 'SpaceToDepthOptions':
    case 'DepthToSpaceOptions':
      return { kind, value: i32(0, 0) };
    case 'LeakyReluOptions':
      return { kind, alpha: f32(0, 0) };
    case 'CastOptions':
      return {
        kind,
        inDataType: enumName(f, TFLITE_TENSOR_TYPES, i8(0, 0), `${what}: in_data_type`),
        outDataType: enumName(f, TFLITE_TENSOR_TYPES, i8(1, 0), `${what}: out_data_type`),
      };
    case 'BatchMatMulOptions':
      return { kind, adjX: bool(0, false), adjY: bool(1, false) };
    case 'GeluOptions':
      return { kind, approximate: bool(0, false) };
    default:
      return { kind };
  }
}

function decodeOperatorCode(t: Table, i: number): TfliteOperatorCode {
  const what = `operator_codes[${i}]`;
  const deprecated = t.int8(0, 0);
  const builtin = t.int32(3, 0);
  const code = Math.max(deprecated, builtin);
  if (code < 0) t.f.fail(`${what}: builtin code ${code} is negative`);
  const customCode = t.string(1, `${what}.custom_code`);
  return {
    builtinCode: code,
    name: TFLITE_BUILTIN_OPERATORS[code] ?? `BUILTIN_${code}`,
    customCode,
    version: t.int32(2, 1),
  };
}

function decodeQuantization(t: Table, what: string): TfliteQuantization {
  const detailsType = t.uint8(4, 0);
  return {
    min: t.float32s(0, `${what}.min`) ?? [],
    max: t.float32s(1, `${what}.max`) ?? [],
    scale: t.float32s(2, `${what}.scale`) ?? [],
    zeroPoint: t.int64s(3, `${what}.zero_point`) ?? [],
    details: detailsType === 0 ? null : detailsType === 1 ? 'CustomQuantization' : `details type ${detailsType}`,
    quantizedDimension: t.int32(6, 0),
  };
}

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function decodeTensor(t: Table, index: number, what: string, buffers: readonly TfliteBuffer[]): TfliteTensor {
  const f = t.f;
  const shape = t.int32s(0, `${what}.shape`) ?? [];
  const type = enumName(f, TFLITE_TENSOR_TYPES, t.int8(1, 0), `${what}.type`);
  const buffer = t.uint32(2, 0);
  const name = t.string(3, `${what}.name`) ?? '';
  const label = `${what} ("${name}")`;
  const q = t.table(4, `${what}.quantization`);
  const sparse = t.field(6, 4) !== 0;
  const shapeSignature = t.int32s(7, `${what}.shape_signature`);
  for (const d of shape) if (d < 0) f.fail(`${label}: shape [${shape.join(', ')}] has a negative dimension`);
  if (buffer >= buffers.length) {
    f.fail(`${label}: buffer index ${buffer} is out of range (the model has ${buffers.length} buffers)`);
  }
  let quantization: TfliteQuantization | null = null;
  if (q) {
    quantization = decodeQuantization(q, `${what}.quantization`);
    const { scale, zeroPoint, quantizedDimension: dim } = quantization;
    if (scale.length > 0 && zeroPoint.length > 0 && scale.length !== zeroPoint.length) {
      f.fail(`${label}: ${scale.length} quantization scales but ${zeroPoint.length} zero points; they must pair up`);
    }
    if (scale.length > 1) {
      if (!(dim >= 0 && dim < shape.length) || shape[dim] !== scale.length) {
        f.fail(
          `${label}: ${scale.length} per-channel scales along quantized_dimension ${dim}, but the shape is ` +
            `[${shape.join(', ')}]; the scales must match that dimension's size`,
        );
      }
    }
  }
  const data = buffers[buffer].data;
  const width = TYPE_BYTES[type];
  if (data.length > 0 && width !== null && !sparse) {
    const expected = Math.ceil(elementCount(shape) * width);
    if (expected !== data.length) {
      f.fail(
        `${label}: shape [${shape.join(', ')}] × ${type} needs ${expected} bytes, but buffer ${buffer} holds ` +
          `${data.length}`,
      );
    }
  }
  return {
    index,
    name,
    shape,
    shapeSignature,
    type,
    buffer,
    quantization,
    isVariable: t.bool(5, false),
    sparse,
  };
}

function checkTensorIndices(
  f: FlatFile,
  list: readonly number[],
  count: number,
  what: string,
  optional: boolean,
): void {
  for (const i of list) {
    if (!(i >= 0 && i < count) && !(optional && i === -1)) {
      f.fail(`${what} refers to tensor ${i}, but the subgraph has ${count} tensors (indices 0..${count - 1})`);
    }
  }
}

function decodeOperator(
  t: Table,
  index: number,
  what: string,
  codes: readonly TfliteOperatorCode[],
  tensorCount: number,
): TfliteOperator {
  const f = t.f;
  const opcodeIndex = t.uint32(0, 0);
  if (opcodeIndex >= codes.length) {
    f.fail(`${what}: opcode_index ${opcodeIndex} is out of range (the model has ${codes.length} operator codes)`);
  }
  const opcode = codes[opcodeIndex].name;
  const label = `${what} (${opcode})`;
  const inputs = t.int32s(1, `${what}.inputs`) ?? [];
  const outputs = t.int32s(2, `${what}.outputs`) ?? [];
  const intermediates = t.int32s(8, `${what}.intermediates`) ?? [];
  checkTensorIndices(f, inputs, tensorCount, `${label} input`, true);
  checkTensorIndices(f, outputs, tensorCount, `${label} output`, true);
  checkTensorIndices(f, intermediates, tensorCount, `${label} intermediate`, false);
  const typeCode = t.uint8(3, 0);
  const builtinOptionsType = TFLITE_BUILTIN_OPTIONS[typeCode];
  if (builtinOptionsType === undefined) f.fail(`${label}: unknown builtin options type ${typeCode}`);
  const expected = TFLITE_OPTIONS_FOR[opcode];
  if (typeCode !== 0 && expected !== undefined && builtinOptionsType !== expected) {
    f.fail(`${label} carries ${builtinOptionsType}; this operator's options table is ${expected}`);
  }
  const table = typeCode === 0 ? null : t.table(4, `${label}.builtin_options`);
  const options = expected === undefined ? null : decodeOptions(f, expected, table, `${label}.builtin_options`);
  const customOptions = t.bytes(5, `${what}.custom_options`);
  if (t.uint64(9, 'large_custom_options_offset') > 1) {
    f.fail(`${label}: custom options stored outside the flatbuffer (models over 2 GB) are not supported`);
  }
  return {
    index,
    opcodeIndex,
    opcode,
    inputs,
    outputs,
    intermediates,
    builtinOptionsType,
    options,
    customOptions,
  };
}

function decodeBuffer(t: Table, i: number): TfliteBuffer {
  const what = `buffers[${i}]`;
  const inline = t.bytes(0, `${what}.data`);
  // Models over 2 GB keep buffer data after the flatbuffer: offset (from the start of the file) and size;
  // an offset of 0 or 1 means "not used" (schema.fbs).
  const offset = t.uint64(1, `${what}.offset`);
  const size = t.uint64(2, `${what}.size`);
  if (offset > 1) {
    if (inline && inline.length > 0) {
      t.f.fail(`${what} has both inline data and an external offset; only one is allowed`);
    }
    t.f.check(offset, size, `${what} (offset ${offset}, size ${size})`);
    return { data: t.f.bytes.subarray(offset, offset + size) };
  }
  return { data: inline ?? new Uint8Array(0) };
}

function decodeSignature(t: Table, i: number, subgraphs: readonly TfliteSubgraph[]): TfliteSignature {
  const what = `signature_defs[${i}]`;
  const key = t.string(2, `${what}.signature_key`) ?? '';
  const subgraphIndex = t.uint32(4, 0);
  const sg = subgraphs[subgraphIndex];
  if (!sg) {
    t.f.fail(`${what} ("${key}"): subgraph_index ${subgraphIndex} is out of range (${subgraphs.length} subgraphs)`);
  }
  const maps = (field: number, name: string) =>
    t.tables(field, `${what}.${name}`).map((m, j) => {
      const tensorIndex = m.uint32(1, 0);
      const label = `${what}.${name}[${j}]`;
      if (tensorIndex >= sg.tensors.length) t.f.fail(`${label}: tensor_index ${tensorIndex} is out of range`);
      return { name: m.string(0, `${label}.name`) ?? '', tensorIndex };
    });
  return { key, subgraphIndex, inputs: maps(0, 'inputs'), outputs: maps(1, 'outputs') };
}

/**
 * Parses a TFLite model held in memory. Buffers are views into `bytes`, so do not modify `bytes` while the
 * model is in use.
 */
export function parseTflite(file: string, input: Uint8Array): TfliteModel {
  // A plain view: Node's Buffer (a Uint8Array subclass) has a slice() that does not copy.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const f = new FlatFile(file, bytes);
  if (bytes.length < 8) {
    f.fail(`not a TFLite model: ${bytes.length} bytes is shorter than the 8-byte flatbuffer header`);
  }
  if (!f.bb.__has_identifier(FILE_IDENTIFIER)) {
    const found = Array.from(bytes.subarray(4, 8), (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join(
      '',
    );
    f.fail(`not a TFLite model: bytes 4..8 hold "${found}", not the file identifier "${FILE_IDENTIFIER}"`);
  }
  const root = f.table(f.deref(0, 'root table offset'), 'Model');
  const version = root.uint32(0, 0);
  if (version !== SCHEMA_VERSION) {
    f.fail(
      `schema version ${version} is not supported (this reader and the TFLite runtime read version ${SCHEMA_VERSION})`,
    );
  }
  const operatorCodes = root.tables(1, 'operator_codes').map(decodeOperatorCode);
  const buffers = root.tables(4, 'buffers').map(decodeBuffer);
  const subgraphTables = root.tables(2, 'subgraphs');
  if (subgraphTables.length === 0) f.fail('the model has no subgraphs');
  const subgraphs = subgraphTables.map((sg, s): TfliteSubgraph => {
    const what = `subgraphs[${s}]`;
    const tensors = sg.tables(0, `${what}.tensors`).map((t, i) => decodeTensor(t, i, `${what}.tensors[${i}]`, buffers));
    const inputs = sg.int32s(1, `${what}.inputs`) ?? [];
    const outputs = sg.int32s(2, `${what}.outputs`) ?? [];
    checkTensorIndices(f, inputs, tensors.length, `${what} input`, false);
    checkTensorIndices(f, outputs, tensors.length, `${what} output`, false);
    const operators = sg
      .tables(3, `${what}.operators`)
      .map((op, i) => decodeOperator(op, i, `${what}.operators[${i}]`, operatorCodes, tensors.length));
    return { name: sg.string(4, `${what}.name`) ?? '', tensors, inputs, outputs, operators };
  });
  const metadata = root.tables(6, 'metadata').map((m, i) => {
    const buffer = m.uint32(1, 0);
    if (buffer >= buffers.length) {
      f.fail(`metadata[${i}]: buffer ${buffer} is out of range (${buffers.length} buffers)`);
    }
    return { name: m.string(0, `metadata[${i}].name`) ?? '', buffer };
  });
  const signatures = root.tables(7, 'signature_defs').map((t, i) => decodeSignature(t, i, subgraphs));
  return {
    file,
    version,
    description: root.string(3, 'description') ?? '',
    operatorCodes,
    subgraphs,
    buffers,
    metadata,
    signatures,
  };
}

/** Reads a whole TFLite file from `source` and parses it (flatbuffers need random access to all of it). */
export async function readTflite(source: ByteSource): Promise<TfliteModel> {
  const bytes = await source.read(0, source.size);
  return parseTflite(source.name, bytes);
}

// ---------------------------------------------------------------------------------------------------------
// Tensor data

function tensorAt(model: TfliteModel, tensorIndex: number, subgraphIndex: number): TfliteTensor {
  const sg = model.subgraphs[subgraphIndex];
  if (!sg) {
    throw new TfliteError(`${model.file}: no subgraph ${subgraphIndex} (the model has ${model.subgraphs.length})`);
  }
  const t = sg.tensors[tensorIndex];
  if (!t) {
    throw new TfliteError(
      `${model.file}: no tensor ${tensorIndex} in subgraph ${subgraphIndex} (it has ${sg.tensors.length})`,
    );
  }
  return t;
}

function constantBytes(model: TfliteModel, t: TfliteTensor, what: string): Uint8Array {
  const data = model.buffers[t.buffer]?.data;
  if (!data || data.length === 0) {
    throw new TfliteError(`${model.file}: ${what} has no constant data; it is computed when the model runs`);
  }
  if (t.sparse) throw new TfliteError(`${model.file}: ${what} is stored sparse, which this reader does not expand`);
  return data;
}

/** The integers of a quantized tensor, without copying where the type allows a direct view. */
function integersOf(type: TfliteTensorType, data: Uint8Array, view: DataView, n: number): ArrayLike<number> {
  if (type === 'UINT8') return data;
  if (type === 'INT8') return new Int8Array(data.buffer, data.byteOffset, n);
  const out = new Int32Array(n);
  if (type === 'INT16') for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true);
  else for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true);
  return out;
}

export type TfliteValues =
  | Float32Array
  | Float64Array
  | Uint16Array
  | Int32Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | BigInt64Array;

/**
 * A constant tensor's elements in its file type (FLOAT16 as raw bits in a Uint16Array, BOOL as bytes), as a
 * fresh array. For reading index data such as RESHAPE shapes, PAD amounts or MEAN axes.
 */
export function tensorValues(model: TfliteModel, tensorIndex: number, subgraphIndex = 0): TfliteValues {
  const t = tensorAt(model, tensorIndex, subgraphIndex);
  const what = `tensor ${tensorIndex} ("${t.name}")`;
  const data = new Uint8Array(constantBytes(model, t, what));
  const buf = data.buffer;
  switch (t.type) {
    case 'FLOAT32':
      return new Float32Array(buf);
    case 'FLOAT64':
      return new Float64Array(buf);
    case 'FLOAT16':
    case 'UINT16':
      return new Uint16Array(buf);
    case 'INT32':
      return new Int32Array(buf);
    case 'INT16':
      return new Int16Array(buf);
    case 'INT64':
      return new BigInt64Array(buf);
    case 'UINT8':
    case 'BOOL':
      return data;
    case 'INT8':
      return new Int8Array(buf);
    default:
      throw new TfliteError(`${model.file}: ${what} has type ${t.type}, which tensorValues does not read`);
  }
}

/**
 * A constant tensor as f32: FLOAT32 as is, FLOAT16 widened, and quantized integers (INT8, UINT8, INT16,
 * INT32) mapped through f = scale × (q − zero_point), with one scale per tensor or one per slice along the
 * quantized dimension.
 */
export function dequantizeTensor(model: TfliteModel, tensorIndex: number, subgraphIndex = 0): Float32Array {
  const t = tensorAt(model, tensorIndex, subgraphIndex);
  const what = `tensor ${tensorIndex} ("${t.name}", ${t.type} [${t.shape.join(', ')}])`;
  const data = constantBytes(model, t, what);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = elementCount(t.shape);
  const out = new Float32Array(n);
  if (t.type === 'FLOAT32') {
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  if (t.type === 'FLOAT16') {
    for (let i = 0; i < n; i++) out[i] = f16BitsToF32(view.getUint16(2 * i, true));
    return out;
  }
  if (t.type === 'FLOAT64') {
    for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
    return out;
  }
  if (t.type !== 'INT8' && t.type !== 'UINT8' && t.type !== 'INT16' && t.type !== 'INT32') {
    throw new TfliteError(`${model.file}: ${what}: cannot dequantize ${t.type} data`);
  }
  const q = t.quantization;
  if (!q || q.scale.length === 0) {
    throw new TfliteError(
      `${model.file}: ${what} has no quantization scale, so its integers are plain values, not quantized ` +
        `reals; read them with tensorValues`,
    );
  }
  if (q.details !== null) {
    throw new TfliteError(`${model.file}: ${what} uses ${q.details} quantization, which this reader does not support`);
  }
  const values = integersOf(t.type, data, view, n);
  const channels = q.scale.length;
  // Elements per step of the quantized dimension: the product of the dimensions after it.
  let inner = n;
  if (channels > 1) {
    inner = 1;
    for (let d = q.quantizedDimension + 1; d < t.shape.length; d++) inner *= t.shape[d];
  }
  for (let start = 0, c = 0; start < n; start += inner, c = channels === 1 ? 0 : (c + 1) % channels) {
    const scale = q.scale[c];
    const zero = q.zeroPoint[c] ?? 0;
    const end = Math.min(n, start + inner);
    for (let i = start; i < end; i++) out[i] = scale * (values[i] - zero);
  }
  return out;
}
