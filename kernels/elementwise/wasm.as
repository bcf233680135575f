// Elementwise kernels for the wasm backend: unary (f32), binary with broadcasting (f32 and
// i32 arithmetic, comparisons to u8), where, clamp and cast.
//
// Broadcasting arrives pre-simplified from kernels/elementwise/wasm.ts as an i32 record:
//   [k, R, n, inner strides (k), outer shape (R), outer strides (k × R)]
// for k inputs: the output is R outer axes of rows of n elements; input i steps by its inner
// stride (1, or 0 when broadcast along the row) within a row. Units are output rows.
import { scratchTables } from '../../backends/wasm/common.as';
import { erf64, expv, sigmoidv, tanhv } from '../../backends/wasm/simd-math.as';

// ---------------------------------------------------------------- unary

const NEG: i32 = 0;
const ABS: i32 = 1;
const SIGN: i32 = 2;
const EXP: i32 = 3;
const LOG: i32 = 4;
const SQRT: i32 = 5;
const RSQRT: i32 = 6;
const SQUARE: i32 = 7;
const SIN: i32 = 8;
const COS: i32 = 9;
const TANH: i32 = 10;
const SIGMOID: i32 = 11;
const RELU: i32 = 12;
const ERF: i32 = 13;
const GELU: i32 = 14;
const SILU: i32 = 15;

@inline function unaryVector(op: i32, x: v128): v128 {
  switch (op) {
    case NEG:
      return f32x4.neg(x);
    case ABS:
      return f32x4.abs(x);
    case SIGN: {
      const pos = v128.and(f32x4.gt(x, f32x4.splat(0)), f32x4.splat(1));
      const neg = v128.and(f32x4.lt(x, f32x4.splat(0)), f32x4.splat(-1));
      // Zeros and NaN pass through (sign(±0) = ±0, sign(NaN) = NaN).
      const zero = v128.or(f32x4.eq(x, f32x4.splat(0)), f32x4.ne(x, x));
      return v128.bitselect(x, v128.or(pos, neg), zero);
    }
    case EXP:
      return expv(x);
    case SQRT:
      return f32x4.sqrt(x);
    case RSQRT:
      return f32x4.div(f32x4.splat(1), f32x4.sqrt(x));
    case SQUARE:
      return f32x4.mul(x, x);
    case TANH:
      return tanhv(x);
    case SIGMOID:
      return sigmoidv(x);
    case RELU:
      return f32x4.max(x, f32x4.splat(0));
    case SILU:
      return f32x4.mul(x, sigmoidv(x));
    default:
      return x;
  }
}

@inline function hasVector(op: i32): bool {
  return op != LOG && op != SIN && op != COS && op != ERF && op != GELU;
}

function unaryScalar(op: i32, x: f32): f32 {
  switch (op) {
    case LOG:
      return <f32>Math.log(<f64>x);
    case SIN:
      return <f32>Math.sin(<f64>x);
    case COS:
      return <f32>Math.cos(<f64>x);
    case ERF:
      return <f32>erf64(<f64>x);
    case GELU:
      return <f32>(0.5 * <f64>x * (1 + erf64(<f64>x * 0.7071067811865476)));
    default:
      return f32x4.extract_lane(unaryVector(op, f32x4.splat(x)), 0);
  }
}

/** y = op(x) over elements [u0, u1). */
export function unary_f32(op: i32, x: usize, y: usize, u0: i32, u1: i32, tid: i32): void {
  let i = u0;
  if (hasVector(op)) {
    for (; i + 4 <= u1; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, unaryVector(op, v128.load(x + o)));
    }
  }
  for (; i < u1; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, unaryScalar(op, load<f32>(x + o)));
  }
}

/** y = clamp(x, lo, hi) with NaN passing through. */
export function clamp_f32(x: usize, y: usize, lo: f32, hi: f32, u0: i32, u1: i32, tid: i32): void {
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  let i = u0;
  for (; i + 4 <= u1; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.min(f32x4.max(v128.load(x + o), vlo), vhi));
  }
  for (; i < u1; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, min(max(load<f32>(x + o), lo), hi));
  }
}

// ---------------------------------------------------------------- broadcasting rows

/**
 * Byte offsets of row `row` for each of k inputs, written to out[k] (i32 each), from the
 * broadcast record. Units are rows, so threads start anywhere.
 */
function rowOffsets(meta: usize, row: i32, elemShift: usize, out: usize): void {
  const k = load<i32>(meta);
  const R = load<i32>(meta, 4);
  const shape = meta + 12 + (<usize>k << 2);
  const strides = shape + (<usize>R << 2);
  for (let i = 0; i < k; i++) store<i32>(out + (<usize>i << 2), 0);
  let rest = row;
  for (let axis = R - 1; axis >= 0; axis--) {
    const d = load<i32>(shape + (<usize>axis << 2));
    const idx = rest % d;
    rest /= d;
    for (let i = 0; i < k; i++) {
      const s = load<i32>(strides + (<usize>(i * R + axis) << 2));
      const at = out + (<usize>i << 2);
      store<i32>(at, load<i32>(at) + ((idx * s) << <i32>elemShift));
    }
  }
}

@inline function innerStride(meta: usize, i: i32): i32 {
  return load<i32>(meta + 12 + (<usize>i << 2));
}

const ADD: i32 = 0;
const SUB: i32 = 1;
const MUL: i32 = 2;
const DIV: i32 = 3;
const POW: i32 = 4;
const MAXIMUM: i32 = 5;
const MINIMUM: i32 = 6;

@inline function binaryVector(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case ADD:
      return f32x4.add(a, b);
    case SUB:
      return f32x4.sub(a, b);
    case MUL:
      return f32x4.mul(a, b);
    case DIV:
      return f32x4.div(a, b);
    case MAXIMUM:
      return f32x4.max(a, b);
    case MINIMUM:
      return f32x4.min(a, b);
    default:
      return a;
  }
}

@inline function binaryScalar(op: i32, a: f32, b: f32): f32 {
  switch (op) {
    case POW:
      return <f32>Math.pow(<f64>a, <f64>b);
    default:
      return f32x4.extract_lane(binaryVector(op, f32x4.splat(a), f32x4.splat(b)), 0);
  }
}

/** One row of n elements: vector loops for contiguous and row-broadcast operands. */
@inline function binaryRow(op: i32, a: usize, b: usize, y: usize, n: i32, sa: i32, sb: i32): void {
  let j = 0;
  if (op != POW) {
    if (sa == 1 && sb == 1) {
      for (; j + 4 <= n; j += 4) {
        const o = <usize>j << 2;
        v128.store(y + o, binaryVector(op, v128.load(a + o), v128.load(b + o)));
      }
    } else if (sa == 1 && sb == 0) {
      const vb = v128.load32_splat(b);
      for (; j + 4 <= n; j += 4) {
        const o = <usize>j << 2;
        v128.store(y + o, binaryVector(op, v128.load(a + o), vb));
      }
    } else if (sa == 0 && sb == 1) {
      const va = v128.load32_splat(a);
      for (; j + 4 <= n; j += 4) {
        const o = <usize>j << 2;
        v128.store(y + o, binaryVector(op, va, v128.load(b + o)));
      }
    }
  }
  for (; j < n; j++) {
    store<f32>(
      y + (<usize>j << 2),
      binaryScalar(op, load<f32>(a + (<usize>(j * sa) << 2)), load<f32>(b + (<usize>(j * sb) << 2))),
    );
  }
}

@inline function binaryRows(op: i32, a: usize, b: usize, y: usize, meta: usize, u0: i32, u1: i32): void {
  const n = load<i32>(meta, 8);
  const sa = innerStride(meta, 0);
  const sb = innerStride(meta, 1);
  const offs = scratchTables();
  for (let row = u0; row < u1; row++) {
    rowOffsets(meta, row, 2, offs);
    binaryRow(op, a + <usize>load<i32>(offs), b + <usize>load<i32>(offs, 4), y + (<usize>(row * n) << 2), n, sa, sb);
  }
}

/** y = a op b (f32) over broadcast rows [u0, u1). */
export function binary_f32(op: i32, a: usize, b: usize, y: usize, meta: usize, u0: i32, u1: i32, tid: i32): void {
  switch (op) {
    case ADD:
      binaryRows(ADD, a, b, y, meta, u0, u1);
      break;
    case SUB:
      binaryRows(SUB, a, b, y, meta, u0, u1);
      break;
    case MUL:
      binaryRows(MUL, a, b, y, meta, u0, u1);
      break;
    case DIV:
      binaryRows(DIV, a, b, y, meta, u0, u1);
      break;
    case MAXIMUM:
      binaryRows(MAXIMUM, a, b, y, meta, u0, u1);
      break;
    case MINIMUM:
      binaryRows(MINIMUM, a, b, y, meta, u0, u1);
      break;
    default:
      binaryRows(POW, a, b, y, meta, u0, u1);
  }
}

/** y = a op b on i32 with wrapping arithmetic (add, sub, mul, maximum, minimum). */
export function binary_i32(op: i32, a: usize, b: usize, y: usize, meta: usize, u0: i32, u1: i32, tid: i32): void {
  const n = load<i32>(meta, 8);
  const sa = innerStride(meta, 0);
  const sb = innerStride(meta, 1);
  const offs = scratchTables();
  for (let row = u0; row < u1; row++) {
    rowOffsets(meta, row, 2, offs);
    const ar = a + <usize>load<i32>(offs);
    const br = b + <usize>load<i32>(offs, 4);
    const yr = y + (<usize>(row * n) << 2);
    for (let j = 0; j < n; j++) {
      const u = load<i32>(ar + (<usize>(j * sa) << 2));
      const v = load<i32>(br + (<usize>(j * sb) << 2));
      let r: i32;
      if (op == ADD) r = u + v;
      else if (op == SUB) r = u - v;
      else if (op == MUL) r = u * v;
      else if (op == MAXIMUM) r = max(u, v);
      else r = min(u, v);
      store<i32>(yr + (<usize>j << 2), r);
    }
  }
}

const EQ: i32 = 0;
const NE: i32 = 1;
const LT: i32 = 2;
const LE: i32 = 3;
const GT: i32 = 4;
const GE: i32 = 5;

@inline function compareScalar<T>(op: i32, a: T, b: T): u8 {
  switch (op) {
    case EQ:
      return <u8>(a == b);
    case NE:
      return <u8>(a != b);
    case LT:
      return <u8>(a < b);
    case LE:
      return <u8>(a <= b);
    case GT:
      return <u8>(a > b);
    default:
      return <u8>(a >= b);
  }
}

@inline function compareVector(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case EQ:
      return f32x4.eq(a, b);
    case NE:
      return f32x4.ne(a, b);
    case LT:
      return f32x4.lt(a, b);
    case LE:
      return f32x4.le(a, b);
    case GT:
      return f32x4.gt(a, b);
    default:
      return f32x4.ge(a, b);
  }
}

@inline function compareRows<T>(op: i32, a: usize, b: usize, y: usize, meta: usize, u0: i32, u1: i32): void {
  const n = load<i32>(meta, 8);
  const sa = innerStride(meta, 0);
  const sb = innerStride(meta, 1);
  const offs = scratchTables();
  for (let row = u0; row < u1; row++) {
    rowOffsets(meta, row, 2, offs);
    const ar = a + <usize>load<i32>(offs);
    const br = b + <usize>load<i32>(offs, 4);
    const yr = y + <usize>(row * n);
    let j = 0;
    if (!isInteger<T>() && sa == 1 && sb == 1) {
      // 16 comparisons narrowed from 32-bit masks to bytes, then masked to 0/1.
      for (; j + 16 <= n; j += 16) {
        const o = <usize>j << 2;
        const m0 = compareVector(op, v128.load(ar + o), v128.load(br + o));
        const m1 = compareVector(op, v128.load(ar + o, 16), v128.load(br + o, 16));
        const m2 = compareVector(op, v128.load(ar + o, 32), v128.load(br + o, 32));
        const m3 = compareVector(op, v128.load(ar + o, 48), v128.load(br + o, 48));
        const lo = i16x8.narrow_i32x4_s(m0, m1);
        const hi = i16x8.narrow_i32x4_s(m2, m3);
        v128.store(yr + <usize>j, v128.and(i8x16.narrow_i16x8_s(lo, hi), i8x16.splat(1)));
      }
    }
    for (; j < n; j++) {
      store<u8>(yr + <usize>j, compareScalar<T>(op, load<T>(ar + (<usize>(j * sa) << 2)), load<T>(br + (<usize>(j * sb) << 2))));
    }
  }
}

/** y (u8 0/1) = a op b over broadcast rows; `isInt` selects i32 operands instead of f32. */
export function compare_32(op: i32, isInt: bool, a: usize, b: usize, y: usize, meta: usize, u0: i32, u1: i32, tid: i32): void {
  if (isInt) {
    compareRows<i32>(op, a, b, y, meta, u0, u1);
    return;
  }
  switch (op) {
    case EQ:
      compareRows<f32>(EQ, a, b, y, meta, u0, u1);
      break;
    case NE:
      compareRows<f32>(NE, a, b, y, meta, u0, u1);
      break;
    case LT:
      compareRows<f32>(LT, a, b, y, meta, u0, u1);
      break;
    case LE:
      compareRows<f32>(LE, a, b, y, meta, u0, u1);
      break;
    case GT:
      compareRows<f32>(GT, a, b, y, meta, u0, u1);
      break;
    default:
      compareRows<f32>(GE, a, b, y, meta, u0, u1);
  }
}

/** y = c ? a : b over broadcast rows, on raw elements of elemBytes (1, 2 or 4): any dtype. */
export function where_any(c: usize, a: usize, b: usize, y: usize, elemBytes: i32, meta: usize, u0: i32, u1: i32, tid: i32): void {
  const n = load<i32>(meta, 8);
  const sc = innerStride(meta, 0);
  const sa = innerStride(meta, 1);
  const sb = innerStride(meta, 2);
  const offs = scratchTables();
  const shift: usize = elemBytes == 4 ? 2 : elemBytes == 2 ? 1 : 0;
  for (let row = u0; row < u1; row++) {
    // The condition is u8 (shift 0); the values use the element size.
    rowOffsets(meta, row, 0, offs);
    const cr = c + <usize>load<i32>(offs);
    const ar = a + (<usize>load<i32>(offs, 4) << shift);
    const br = b + (<usize>load<i32>(offs, 8) << shift);
    const yr = y + (<usize>(row * n) << shift);
    for (let j = 0; j < n; j++) {
      const pick = load<u8>(cr + <usize>(j * sc)) != 0;
      const src = pick ? ar + (<usize>(j * sa) << shift) : br + (<usize>(j * sb) << shift);
      const dst = yr + (<usize>j << shift);
      if (shift == 2) store<u32>(dst, load<u32>(src));
      else if (shift == 1) store<u16>(dst, load<u16>(src));
      else store<u8>(dst, load<u8>(src));
    }
  }
}

// ---------------------------------------------------------------- cast

const T_F32: i32 = 0;
const T_I32: i32 = 1;
const T_U8: i32 = 2;
const T_I8: i32 = 3;
const T_U32: i32 = 4;

/** Saturate a truncated value to an integer dtype's range (NaN → 0), as the reference. */
@inline function saturate(v: f64, lo: f64, hi: f64): f64 {
  if (v != v) return 0;
  return min(max(trunc(v), lo), hi);
}

/**
 * Casts between f32, i32, u8, i8 and u32: float → int truncates toward zero and saturates
 * (NaN → 0), int → narrower int saturates to its range, as the reference.
 */
export function cast_32(from: i32, to: i32, x: usize, y: usize, u0: i32, u1: i32, tid: i32): void {
  for (let i = u0; i < u1; i++) {
    let v: f64;
    if (from == T_F32) v = <f64>load<f32>(x + (<usize>i << 2));
    else if (from == T_I32) v = <f64>load<i32>(x + (<usize>i << 2));
    else if (from == T_U32) v = <f64>load<u32>(x + (<usize>i << 2));
    else if (from == T_I8) v = <f64>load<i8>(x + <usize>i);
    else v = <f64>load<u8>(x + <usize>i);
    if (to == T_F32) store<f32>(y + (<usize>i << 2), <f32>v);
    else if (to == T_I32) store<i32>(y + (<usize>i << 2), <i32>saturate(v, -2147483648, 2147483647));
    else if (to == T_U32) store<u32>(y + (<usize>i << 2), <u32>saturate(v, 0, 4294967295));
    else if (to == T_I8) store<i8>(y + <usize>i, <i8>saturate(v, -128, 127));
    else store<u8>(y + <usize>i, <u8>saturate(v, 0, 255));
  }
}

