// AssemblyScript shared by every family's kernels (compiled into the one module built by
// backends/wasm/build.mjs). Kernels work on raw pointers into the shared memory and never
// allocate: the JS side owns the heap, and the stub runtime is never asked for an object,
// so one module instance per thread can run over the same memory.
//
// Calling convention for threaded kernels: the last three parameters are (u0, u1, tid): the
// half-open range of work units this thread takes and its index (0 = the calling thread).

/** Per-thread scratch (packing buffers, small tables): each instance gets its own region. */
let scratch: usize = 0;
let scratchSize: usize = 0;

/**
 * Bytes of scratch each thread needs: the GEMM packing buffers of kernels/matmul/wasm.as
 * (MC·KC + KC·NC + MR·NR floats) plus 16 KiB of small tables at the end.
 */
export const SCRATCH_BYTES: i32 = (128 * 256 + 256 * 1024 + 4 * 8 + 4096) * 4;

/** Called once per instance (thread) with its private scratch region. */
export function thread_init(ptr: usize, bytes: usize): void {
  scratch = ptr;
  scratchSize = bytes;
}

export function scratch_bytes(): i32 {
  return SCRATCH_BYTES;
}

/** Where static data ends: the JS allocator owns memory from here on. */
export function heap_base(): usize {
  return __heap_base;
}

@inline export function threadScratch(): usize {
  return scratch;
}

/** The last 16 KiB of this thread's scratch: small per-thread tables (row offsets, accumulators). */
export const TABLE_BYTES: usize = 16384;

@inline export function scratchTables(): usize {
  return scratch + <usize>SCRATCH_BYTES - TABLE_BYTES;
}

// ---------------------------------------------------------------- f16, bf16 <-> f32

@inline export function f16ToF32(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp == 0) {
    // Zero or subnormal: mant · 2⁻²⁴, exact in f32.
    const v = <f32>mant * 5.9604644775390625e-8;
    return reinterpret<f32>(reinterpret<u32>(v) | sign);
  }
  if (exp == 31) return reinterpret<f32>(sign | 0x7f800000 | (mant << 13));
  return reinterpret<f32>(sign | ((exp + 112) << 23) | (mant << 13));
}

/** Round to nearest even, overflow to ±∞, NaN stays NaN (quiet): as core/dtype.ts f32ToF16Bits. */
@inline export function f32ToF16(v: f32): u32 {
  const x = reinterpret<u32>(v);
  const sign = (x >> 16) & 0x8000;
  const exp = <i32>((x >> 23) & 0xff);
  let mant = x & 0x7fffff;
  if (exp == 0xff) return sign | 0x7c00 | (mant != 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = <u32>(14 - e);
    let half = mant >> shift;
    const rem = mant & ((<u32>1 << shift) - 1);
    const mid = <u32>1 << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1) != 0)) half += 1;
    return sign | half;
  }
  let half = (<u32>e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) half += 1;
  return sign | half;
}

/** Widen n f16 values at src to f32 at dst (units are elements). */
export function f16_to_f32(src: usize, dst: usize, u0: i32, u1: i32, tid: i32): void {
  for (let i = u0; i < u1; i++) {
    store<f32>(dst + (<usize>i << 2), f16ToF32(<u32>load<u16>(src + (<usize>i << 1))));
  }
}

/** Narrow f32 values at src to f16 bits at dst (units are elements). */
export function f32_to_f16(src: usize, dst: usize, u0: i32, u1: i32, tid: i32): void {
  for (let i = u0; i < u1; i++) {
    store<u16>(dst + (<usize>i << 1), <u16>f32ToF16(load<f32>(src + (<usize>i << 2))));
  }
}

/** Widen n bf16 values at src to f32 at dst: bf16 is the upper half of an f32. */
export function bf16_to_f32(src: usize, dst: usize, u0: i32, u1: i32, tid: i32): void {
  for (let i = u0; i < u1; i++) {
    store<u32>(dst + (<usize>i << 2), <u32>load<u16>(src + (<usize>i << 1)) << 16);
  }
}

/** Round to nearest even, NaN stays a quiet NaN: as core/dtype.ts f32ToBf16Bits. */
@inline export function f32ToBf16(v: f32): u32 {
  const x = reinterpret<u32>(v);
  if ((x & 0x7f800000) == 0x7f800000 && (x & 0x7fffff) != 0) return ((x >> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >> 16) & 1)) >> 16) & 0xffff;
}

/** Narrow f32 values at src to bf16 bits at dst (units are elements). */
export function f32_to_bf16(src: usize, dst: usize, u0: i32, u1: i32, tid: i32): void {
  for (let i = u0; i < u1; i++) {
    store<u16>(dst + (<usize>i << 1), <u16>f32ToBf16(load<f32>(src + (<usize>i << 2))));
  }
}

// ---------------------------------------------------------------- strided copy

/**
 * Row-major copy of a strided view: `meta` holds rank, then shape[rank], then strides[rank]
 * (elements, may be negative or zero). Units are output rows (all axes but the last).
 */
export function strided_copy(
  src: usize,
  dst: usize,
  elemBytes: i32,
  offset: i32,
  meta: usize,
  u0: i32,
  u1: i32,
  tid: i32,
): void {
  const rank = load<i32>(meta);
  const shape = meta + 4;
  const strides = meta + 4 + (<usize>rank << 2);
  const n = rank == 0 ? 1 : load<i32>(shape + (<usize>(rank - 1) << 2));
  const inner = rank == 0 ? 1 : load<i32>(strides + (<usize>(rank - 1) << 2));
  for (let row = u0; row < u1; row++) {
    // Source offset of this row's first element: decode the row index axis by axis.
    let pos = offset;
    let rest = row;
    for (let axis = rank - 2; axis >= 0; axis--) {
      const d = load<i32>(shape + (<usize>axis << 2));
      const idx = rest % d;
      rest = rest / d;
      pos += idx * load<i32>(strides + (<usize>axis << 2));
    }
    const out = dst + <usize>row * <usize>n * <usize>elemBytes;
    if (inner == 1) {
      memory.copy(out, src + <usize>pos * <usize>elemBytes, <usize>n * <usize>elemBytes);
      continue;
    }
    if (elemBytes == 4) {
      for (let j = 0; j < n; j++) store<u32>(out + (<usize>j << 2), load<u32>(src + (<usize>(pos + j * inner) << 2)));
    } else if (elemBytes == 2) {
      for (let j = 0; j < n; j++) store<u16>(out + (<usize>j << 1), load<u16>(src + (<usize>(pos + j * inner) << 1)));
    } else if (elemBytes == 1) {
      for (let j = 0; j < n; j++) store<u8>(out + <usize>j, load<u8>(src + <usize>(pos + j * inner)));
    } else {
      for (let j = 0; j < n; j++) store<u64>(out + (<usize>j << 3), load<u64>(src + (<usize>(pos + j * inner) << 3)));
    }
  }
}
