/**
 * Element types. f64 exists only on the js backend: the reference arithmetic
 * that gradient checks and oracles use. Every other backend stores f32, f16,
 * i32 and u8. bf16 is a file format only: readers widen it to f32 on load.
 */
export type DType = 'f32' | 'f16' | 'i32' | 'u8' | 'f64';

export const DTYPES: readonly DType[] = ['f32', 'f16', 'i32', 'u8', 'f64'];

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array | Uint16Array;

/** The host array that holds a dtype's elements; f16 travels as raw bits in a Uint16Array. */
export type HostArray<D extends DType> = D extends 'f32'
  ? Float32Array
  : D extends 'f64'
    ? Float64Array
    : D extends 'i32'
      ? Int32Array
      : D extends 'u8'
        ? Uint8Array
        : Uint16Array;

export function bytesPerElement(dtype: DType): number {
  switch (dtype) {
    case 'f64':
      return 8;
    case 'f32':
    case 'i32':
      return 4;
    case 'f16':
      return 2;
    case 'u8':
      return 1;
  }
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'f32' || dtype === 'f16' || dtype === 'f64';
}

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

/** The constructor of a dtype's host array (f16: Uint16Array of bits). */
export const HOST_ARRAY: Readonly<Record<DType, new (length: number) => TypedArray>> = {
  f32: Float32Array,
  f64: Float64Array,
  i32: Int32Array,
  u8: Uint8Array,
  f16: Uint16Array,
};

export function allocHost(dtype: DType, size: number): TypedArray {
  return new HOST_ARRAY[dtype](size);
}

/** The dtype a host array naturally carries (Uint16Array is read as f16 bits). */
export function dtypeOfArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Float64Array) return 'f64';
  if (data instanceof Int32Array) return 'i32';
  if (data instanceof Uint8Array) return 'u8';
  return 'f16';
}

/** Result dtype of a binary op on two dtypes: the wider float wins, ints widen to i32. */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  const rank: Record<DType, number> = { u8: 0, i32: 1, f16: 2, f32: 3, f64: 4 };
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
