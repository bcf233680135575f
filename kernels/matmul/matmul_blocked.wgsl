// Batched matmul, barrier-free and register-blocked: each thread accumulates a 4×4 block
// of C in registers, reading A and B straight from storage. No workgroup memory and no
// barriers, which CPU-emulated adapters (SwiftShader) run far faster than tiled kernels.
// Workgroup 8×8 threads → a 32×32 block of C; z is the batch.

alias T = f32; // @param T

struct Params {
  m: u32,
  k: u32,
  n: u32,
  brank: u32,
  // element strides of op(A)[i, p] and op(B)[p, j] within one matrix
  a_row: u32,
  a_col: u32,
  b_row: u32,
  b_col: u32,
  batch: array<vec4<u32>, 2>,
  // batch strides in whole matrices (0 where an operand broadcasts)
  a_batch: array<vec4<u32>, 2>,
  b_batch: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read_write> c: array<T>;

fn at4(v: array<vec4<u32>, 2>, i: u32) -> u32 {
  return v[i / 4u][i % 4u];
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row0 = gid.y * 4u;
  let col0 = gid.x * 4u;
  if (row0 >= p.m || col0 >= p.n) {
    return;
  }
  // matrix offsets of this batch entry
  var rem = gid.z;
  var am = 0u;
  var bm = 0u;
  for (var d = i32(p.brank) - 1; d >= 0; d--) {
    let i = u32(d);
    let dim = at4(p.batch, i);
    let idx = rem % dim;
    rem = rem / dim;
    am += idx * at4(p.a_batch, i);
    bm += idx * at4(p.b_batch, i);
  }
  let a_base = am * p.m * p.k;
  let b_base = bm * p.k * p.n;
  let c_base = gid.z * p.m * p.n;
  // Clamp out-of-range rows/columns to the last valid one: loads stay in bounds, and those
  // results are simply not stored.
  var ra: array<u32, 4>;
  var cb: array<u32, 4>;
  for (var t = 0u; t < 4u; t++) {
    ra[t] = a_base + min(row0 + t, p.m - 1u) * p.a_row;
    cb[t] = b_base + min(col0 + t, p.n - 1u) * p.b_col;
  }
  var acc: array<vec4<T>, 4>;
  for (var q = 0u; q < p.k; q++) {
    let av = vec4<T>(a[ra[0] + q * p.a_col], a[ra[1] + q * p.a_col], a[ra[2] + q * p.a_col], a[ra[3] + q * p.a_col]);
    let bq = q * p.b_row;
    let bv = vec4<T>(b[cb[0] + bq], b[cb[1] + bq], b[cb[2] + bq], b[cb[3] + bq]);
    acc[0] += av.x * bv;
    acc[1] += av.y * bv;
    acc[2] += av.z * bv;
    acc[3] += av.w * bv;
  }
  for (var r = 0u; r < 4u; r++) {
    let i = row0 + r;
    if (i < p.m) {
      for (var s = 0u; s < 4u; s++) {
        let j = col0 + s;
        if (j < p.n) {
          c[c_base + i * p.n + j] = acc[r][s];
        }
      }
    }
  }
}
