/**
 * Element types. f64 exists only on the js backend: the reference arithmetic that gradient
 * checks and oracles use. Every other backend stores the rest:
 * - f32; f16 and bf16, the two half-precision floats, stored as their 16 bits and widened
 *   to f32 wherever they are computed (each backend does it at its kernel boundaries);
 * - i32; u8 and i8, small integers, widened to i32 wherever a backend computes in 32 bits;
 * - u32, a storage dtype: packed words (MLX quantized weights). Data movement (views, copies,
 *   concat, gather, pad) and cast take it; arithmetic ops reject it (cast it first).
 */
export type DType = 'f32' | 'f16' | 'bf16' | 'i32' | 'u8' | 'i8' | 'u32' | 'f64';

export const DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'i32', 'u8', 'i8', 'u32', 'f64'];

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array | Uint16Array | Uint32Array;

/** The host array that holds a dtype's elements; f16 and bf16 travel as raw bits in a Uint16Array. */
export type HostArray<D extends DType> = D extends 'f32'
  ? Float32Array
  : D extends 'f64'
    ? Float64Array
    : D extends 'i32'
      ? Int32Array
      : D extends 'u8'
        ? Uint8Array
        : D extends 'i8'
          ? Int8Array
          : D extends 'u32'
            ? Uint32Array
            : Uint16Array;

export function bytesPerElement(dtype: DType): number {
  switch (dtype) {
    case 'f64':
      return 8;
    case 'f32':
    case 'i32':
    case 'u32':
      return 4;
    case 'f16':
    case 'bf16':
      return 2;
    case 'u8':
    case 'i8':
      return 1;
  }
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'f32' || dtype === 'f16' || dtype === 'bf16' || dtype === 'f64';
}

/** The half-precision floats: stored as 16-bit patterns, computed as f32. */
export type HalfDType = 'f16' | 'bf16';

export function isHalf(dtype: DType): dtype is HalfDType {
  return dtype === 'f16' || dtype === 'bf16';
}

/**
 * Dtypes that only store data (u32 packed words): ops that move elements or interpret them
 * themselves take them (OpDef.storageDTypes); every other op rejects them.
 */
export function isStorageOnly(dtype: DType): boolean {
  return dtype === 'u32';
}

/**
 * The dtype a stored dtype is computed in by a backend that widens (js references, native,
 * wasm): the halves become f32; every other dtype computes as itself.
 */
export function computeDType(dtype: DType): DType {
  return isHalf(dtype) ? 'f32' : dtype;
}

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

interface HostArrayConstructor {
  new (length: number): TypedArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray;
}

/** The constructor of a dtype's host array (f16, bf16: Uint16Array of bits). */
export const HOST_ARRAY: Readonly<Record<DType, HostArrayConstructor>> = {
  f32: Float32Array,
  f64: Float64Array,
  i32: Int32Array,
  u8: Uint8Array,
  i8: Int8Array,
  u32: Uint32Array,
  f16: Uint16Array,
  bf16: Uint16Array,
};

export function allocHost(dtype: DType, size: number): TypedArray {
  return new HOST_ARRAY[dtype](size);
}

/** A dtype's host array over `length` elements of existing memory (no copy). */
export function hostView(dtype: DType, buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray {
  return new HOST_ARRAY[dtype](buffer, byteOffset, length);
}

/** The dtype a host array naturally carries (a Uint16Array is read as f16 bits: name bf16 explicitly). */
export function dtypeOfArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Float64Array) return 'f64';
  if (data instanceof Int32Array) return 'i32';
  if (data instanceof Uint8Array) return 'u8';
  if (data instanceof Int8Array) return 'i8';
  if (data instanceof Uint32Array) return 'u32';
  return 'f16';
}

/** Whether `data` is the host layout of `dtype` (what uploads and kernels expect). */
export function holdsDType(data: TypedArray, dtype: DType): boolean {
  return data instanceof HOST_ARRAY[dtype];
}

/** Result dtype of a binary op on two dtypes: the wider float wins, ints widen to i32. */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  const rank: Record<DType, number> = { u8: 0, i8: 0, u32: 1, i32: 1, bf16: 2, f16: 2, f32: 3, f64: 4 };
  if (rank[a] === rank[b]) return rank[a] === 2 ? 'f32' : 'i32';
  return rank[a] >= rank[b] ? a : b;
}

// IEEE 754 half <-> single conversion (round to nearest even), shared by every
// host-side path that touches f16 bits.
const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

export function f32ToF16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1) !== 0)) half += 1;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) !== 0)) half += 1;
  return sign | half;
}

export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant !== 0 ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function bf16BitsToF32(bits: number): number {
  u32Scratch[0] = bits << 16;
  return f32Scratch[0];
}

/** bf16 bits of a value: the upper half of its f32 bits, rounded to nearest even; NaN stays a quiet NaN. */
export function f32ToBf16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function f16ArrayToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = f16BitsToF32(bits[i]);
  return out;
}

export function f32ArrayToF16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32ToF16Bits(values[i]);
  return out;
}

export function bf16ArrayToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const words = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) words[i] = bits[i] << 16;
  return out;
}

export function f32ArrayToBf16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32ToBf16Bits(values[i]);
  return out;
}

/** Half-precision bits (f16 or bf16) widened to f32 values. */
export function widenHalf(bits: Uint16Array, dtype: HalfDType): Float32Array {
  return dtype === 'f16' ? f16ArrayToF32(bits) : bf16ArrayToF32(bits);
}

/** Values rounded to a half-precision dtype's bits (nearest even). */
export function narrowHalf(values: ArrayLike<number>, dtype: HalfDType): Uint16Array {
  return dtype === 'f16' ? f32ArrayToF16(values) : f32ArrayToBf16(values);
}

/**
 * A stored array in its compute layout: half-precision bits widened to f32, everything
 * else as it is (the same array). What every widening backend does at a kernel's inputs.
 */
export function toCompute(data: TypedArray, dtype: DType): TypedArray {
  return isHalf(dtype) ? widenHalf(data as Uint16Array, dtype) : data;
}

/** The inverse of toCompute at a kernel's outputs: f32 results narrowed to a half dtype's bits. */
export function fromCompute(data: TypedArray, dtype: DType): TypedArray {
  return isHalf(dtype) ? narrowHalf(data as Float32Array, dtype) : data;
}

/**
 * The bit pattern (unsigned) of `value` stored as one element of dtype: halves rounded to
 * nearest even, integers wrapped as a typed array stores them. Kernels that fill raw elements
 * (pad values) take their constant this way. Not for f64, whose 64 bits a number cannot hold.
 */
export function elementBits(value: number, dtype: DType): number {
  if (dtype === 'f64') throw new RangeError('elementBits: f64 elements do not fit in a 32-bit pattern');
  const one = isHalf(dtype) ? narrowHalf([value], dtype) : allocHost(dtype, 1);
  if (!isHalf(dtype)) one[0] = value;
  const bytes = new Uint8Array(one.buffer, one.byteOffset, one.byteLength);
  let bits = 0;
  for (let i = bytes.length - 1; i >= 0; i--) bits = bits * 256 + bytes[i];
  return bits;
}
