// Layout kernels for the wasm backend: copies that move raw elements of any size (copy,
// concat, gather, pad, sliceScatter work for every dtype, f16 bits included), and the two
// gradient kernels that add (scatterAdd, padGrad; f32).

/** Units are chunks of `chunk` bytes of one contiguous copy of `total` bytes. */
export function copy_bytes(src: usize, dst: usize, total: i32, chunk: i32, u0: i32, u1: i32, tid: i32): void {
  const start = <usize>u0 * <usize>chunk;
  const end = min(<usize>u1 * <usize>chunk, <usize>total);
  if (end > start) memory.copy(dst + start, src + start, end - start);
}

/** Units are rows: row r copies rowBytes from src + r·srcStride to dst + r·dstStride. */
export function copy_rows(
  src: usize,
  dst: usize,
  rowBytes: i32,
  srcStride: i32,
  dstStride: i32,
  u0: i32,
  u1: i32,
  tid: i32,
): void {
  for (let r = u0; r < u1; r++) {
    memory.copy(dst + <usize>r * <usize>dstStride, src + <usize>r * <usize>srcStride, <usize>rowBytes);
  }
}

/** gather: unit u = (o, k) copies row idx[k] of block o (rows of innerBytes, dim rows per block). */
export function gather_rows(x: usize, idx: usize, y: usize, dim: i32, n: i32, innerBytes: i32, u0: i32, u1: i32, tid: i32): void {
  for (let u = u0; u < u1; u++) {
    const o = u / n;
    const k = u - o * n;
    const row = load<i32>(idx + (<usize>k << 2));
    memory.copy(y + <usize>u * <usize>innerBytes, x + (<usize>o * <usize>dim + <usize>row) * <usize>innerBytes, <usize>innerBytes);
  }
}

/** Columns per unit of scatterAdd. */
export const SCATTER_CHUNK: i32 = 256;

/**
 * scatterAdd (gather's gradient), f32: y (blocks of dim rows of inner) = 0, then
 * y[o, idx[k], :] += g[o, k, :]. Units are (o, column chunk), so repeated indices only ever
 * meet inside one unit.
 */
export function scatter_add_f32(g: usize, idx: usize, y: usize, dim: i32, n: i32, inner: i32, u0: i32, u1: i32, tid: i32): void {
  const chunks = (inner + SCATTER_CHUNK - 1) / SCATTER_CHUNK;
  for (let u = u0; u < u1; u++) {
    const o = u / chunks;
    const c0 = (u - o * chunks) * SCATTER_CHUNK;
    const w = min(SCATTER_CHUNK, inner - c0);
    for (let r = 0; r < dim; r++) memory.fill(y + ((<usize>(o * dim + r) * <usize>inner + <usize>c0) << 2), 0, <usize>w << 2);
    for (let k = 0; k < n; k++) {
      const row = load<i32>(idx + (<usize>k << 2));
      const dst = y + ((<usize>(o * dim + row) * <usize>inner + <usize>c0) << 2);
      const src = g + ((<usize>(o * n + k) * <usize>inner + <usize>c0) << 2);
      let j = 0;
      for (; j + 4 <= w; j += 4) {
        const at = <usize>j << 2;
        v128.store(dst + at, f32x4.add(v128.load(dst + at), v128.load(src + at)));
      }
      for (; j < w; j++) {
        const at = <usize>j << 2;
        store<f32>(dst + at, load<f32>(dst + at) + load<f32>(src + at));
      }
    }
  }
}

/**
 * The inverse of strided_copy: contiguous src rows written into a strided view of dst (meta:
 * rank, shape, strides in elements; offset in elements). Units are rows of the view.
 */
export function strided_scatter(src: usize, dst: usize, elemBytes: i32, offset: i32, meta: usize, u0: i32, u1: i32, tid: i32): void {
  const rank = load<i32>(meta);
  const shape = meta + 4;
  const strides = meta + 4 + (<usize>rank << 2);
  const n = rank == 0 ? 1 : load<i32>(shape + (<usize>(rank - 1) << 2));
  const inner = rank == 0 ? 1 : load<i32>(strides + (<usize>(rank - 1) << 2));
  const eb = <usize>elemBytes;
  for (let row = u0; row < u1; row++) {
    let pos = offset;
    let rest = row;
    for (let axis = rank - 2; axis >= 0; axis--) {
      const d = load<i32>(shape + (<usize>axis << 2));
      const i = rest % d;
      rest /= d;
      pos += i * load<i32>(strides + (<usize>axis << 2));
    }
    const from = src + <usize>row * <usize>n * eb;
    if (inner == 1) {
      memory.copy(dst + <usize>pos * eb, from, <usize>n * eb);
      continue;
    }
    for (let j = 0; j < n; j++) memory.copy(dst + <usize>(pos + j * inner) * eb, from + <usize>j * eb, eb);
  }
}

const CONSTANT: i32 = 0;
const REFLECT: i32 = 1;
const EDGE: i32 = 2;

/** Source index along one axis for padded position p, or −1 for a constant (kernels/layout/ref.ts padSource). */
@inline function padSource(p: i32, before: i32, dim: i32, mode: i32): i32 {
  let i = p - before;
  if (i >= 0 && i < dim) return i;
  if (mode == CONSTANT) return -1;
  if (mode == EDGE) return i < 0 ? 0 : dim - 1;
  if (dim == 1) return 0;
  const period = 2 * (dim - 1);
  i = ((i % period) + period) % period;
  return i < dim ? i : period - i;
}

// pad meta: [rank, mode, valueBits, inShape (rank), before (rank), after (rank)]

@inline function storeElem(dst: usize, src: usize, eb: usize): void {
  if (eb == 4) store<u32>(dst, load<u32>(src));
  else if (eb == 2) store<u16>(dst, load<u16>(src));
  else if (eb == 1) store<u8>(dst, load<u8>(src));
  else store<u64>(dst, load<u64>(src));
}

@inline function storeValue(dst: usize, bits: i32, eb: usize): void {
  if (eb == 4) store<u32>(dst, <u32>bits);
  else if (eb == 2) store<u16>(dst, <u16>bits);
  else if (eb == 1) store<u8>(dst, <u8>bits);
  else store<u64>(dst, <u64>bits);
}

/** pad: units are output rows (all axes but the last). Constant value arrives as element bits. */
export function pad_rows(x: usize, y: usize, elemBytes: i32, meta: usize, u0: i32, u1: i32, tid: i32): void {
  const rank = load<i32>(meta);
  const mode = load<i32>(meta, 4);
  const bits = load<i32>(meta, 8);
  const inShape = meta + 12;
  const before = inShape + (<usize>rank << 2);
  const after = before + (<usize>rank << 2);
  const eb = <usize>elemBytes;
  const last = rank - 1;
  const inLast = load<i32>(inShape + (<usize>last << 2));
  const bLast = load<i32>(before + (<usize>last << 2));
  const outLast = inLast + bLast + load<i32>(after + (<usize>last << 2));
  for (let row = u0; row < u1; row++) {
    // Decode the output row into a source row (or a constant row).
    let rest = row;
    let srcRow = 0;
    let stride = 1;
    let constant = false;
    for (let axis = last - 1; axis >= 0; axis--) {
      const dim = load<i32>(inShape + (<usize>axis << 2));
      const b = load<i32>(before + (<usize>axis << 2));
      const outDim = dim + b + load<i32>(after + (<usize>axis << 2));
      const p = rest % outDim;
      rest /= outDim;
      const s = padSource(p, b, dim, mode);
      if (s < 0) constant = true;
      srcRow += s * stride;
      stride *= dim;
    }
    const out = y + <usize>row * <usize>outLast * eb;
    if (constant) {
      for (let j = 0; j < outLast; j++) storeValue(out + <usize>j * eb, bits, eb);
      continue;
    }
    const src = x + <usize>srcRow * <usize>inLast * eb;
    for (let j = 0; j < bLast; j++) {
      const s = padSource(j, bLast, inLast, mode);
      if (s < 0) storeValue(out + <usize>j * eb, bits, eb);
      else storeElem(out + <usize>j * eb, src + <usize>s * eb, eb);
    }
    memory.copy(out + <usize>bLast * eb, src, <usize>inLast * eb);
    for (let j = bLast + inLast; j < outLast; j++) {
      const s = padSource(j, bLast, inLast, mode);
      if (s < 0) storeValue(out + <usize>j * eb, bits, eb);
      else storeElem(out + <usize>j * eb, src + <usize>s * eb, eb);
    }
  }
}

/**
 * padGrad (f32): y = 0 of the input's shape, then every padded position's gradient added to
 * the element it copied. Units are the blocks of the leading `lead` axes, which are not padded,
 * so no two units touch the same element.
 */
export function pad_grad_f32(g: usize, y: usize, lead: i32, meta: usize, u0: i32, u1: i32, tid: i32): void {
  const rank = load<i32>(meta);
  const mode = load<i32>(meta, 4);
  const inShape = meta + 12;
  const before = inShape + (<usize>rank << 2);
  const after = before + (<usize>rank << 2);
  let inBlock = 1;
  let outBlock = 1;
  for (let axis = lead; axis < rank; axis++) {
    const dim = load<i32>(inShape + (<usize>axis << 2));
    inBlock *= dim;
    outBlock *= dim + load<i32>(before + (<usize>axis << 2)) + load<i32>(after + (<usize>axis << 2));
  }
  for (let u = u0; u < u1; u++) {
    const yb = y + (<usize>u * <usize>inBlock << 2);
    const gb = g + (<usize>u * <usize>outBlock << 2);
    memory.fill(yb, 0, <usize>inBlock << 2);
    for (let o = 0; o < outBlock; o++) {
      let rest = o;
      let src = 0;
      let stride = 1;
      for (let axis = rank - 1; axis >= lead; axis--) {
        const dim = load<i32>(inShape + (<usize>axis << 2));
        const b = load<i32>(before + (<usize>axis << 2));
        const outDim = dim + b + load<i32>(after + (<usize>axis << 2));
        const p = rest % outDim;
        rest /= outDim;
        const s = padSource(p, b, dim, mode);
        if (s < 0) {
          src = -1;
          break;
        }
        src += s * stride;
        stride *= dim;
      }
      if (src < 0) continue;
      const at = yb + (<usize>src << 2);
      store<f32>(at, load<f32>(at) + load<f32>(gb + (<usize>o << 2)));
    }
  }
}
