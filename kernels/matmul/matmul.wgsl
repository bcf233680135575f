// Batched matmul C = op(A)·op(B), z is the batch. Two entry points over one interface, so
// the strides, batch walk and bindings are written once (see KernelVariant):
// - `tiled`, for real GPUs: a 16×16 workgroup computes a 64×64 block of C, each thread a
//   4×4 sub-block, staging 64×16 slices of A and 16×64 slices of B in workgroup memory (two
//   barriers per K step).
// - `blocked`, for CPU-emulated adapters (SwiftShader), which run barrier-heavy kernels far
//   slower: each thread accumulates a 4×4 block of C in registers, reading A and B straight
//   from storage; an 8×8 workgroup covers a 32×32 block of C.

// @include backends/webgpu/wgsl/index_walk.wgsl

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

// Element offsets of batch entry z's matrices in a, b and c.
fn bases(z: u32) -> vec3<u32> {
  let m = strided_offsets(z, p.batch, p.brank, p.a_batch, p.b_batch, array<vec4<u32>, 2>());
  return vec3<u32>(m.x * p.m * p.k, m.y * p.k * p.n, z * p.m * p.n);
}

const TM = 64u;
const TN = 64u;
const TK = 16u;

// Only `tiled` touches these, so `blocked` pipelines reserve no workgroup memory.
var<workgroup> tile_a: array<T, 1024>; // TM × TK, row-major
var<workgroup> tile_b: array<T, 1024>; // TK × TN, row-major

@compute @workgroup_size(16, 16)
fn tiled(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let base = bases(wid.z);
  let a_base = base.x;
  let b_base = base.y;
  let c_base = base.z;
  let block_row = wid.y * TM;
  let block_col = wid.x * TN;

  var acc: array<vec4<T>, 4>;
  let steps = (p.k + TK - 1u) / TK;
  for (var s = 0u; s < steps; s++) {
    let k0 = s * TK;
    // 256 threads load 1024 elements of each tile: 4 apiece, zero outside the matrices.
    for (var e = 0u; e < 4u; e++) {
      let flat = li + e * 256u;
      let ar = flat / TK;
      let ak = flat % TK;
      let gi = block_row + ar;
      let gk = k0 + ak;
      var va = T(0);
      if (gi < p.m && gk < p.k) {
        va = a[a_base + gi * p.a_row + gk * p.a_col];
      }
      tile_a[flat] = va;
      let bk = flat / TN;
      let bc = flat % TN;
      let gk2 = k0 + bk;
      let gj = block_col + bc;
      var vb = T(0);
      if (gk2 < p.k && gj < p.n) {
        vb = b[b_base + gk2 * p.b_row + gj * p.b_col];
      }
      tile_b[flat] = vb;
    }
    workgroupBarrier();
    for (var q = 0u; q < TK; q++) {
      let av = vec4<T>(
        tile_a[(lid.y * 4u + 0u) * TK + q],
        tile_a[(lid.y * 4u + 1u) * TK + q],
        tile_a[(lid.y * 4u + 2u) * TK + q],
        tile_a[(lid.y * 4u + 3u) * TK + q],
      );
      let bv = vec4<T>(
        tile_b[q * TN + lid.x * 4u + 0u],
        tile_b[q * TN + lid.x * 4u + 1u],
        tile_b[q * TN + lid.x * 4u + 2u],
        tile_b[q * TN + lid.x * 4u + 3u],
      );
      acc[0] += av.x * bv;
      acc[1] += av.y * bv;
      acc[2] += av.z * bv;
      acc[3] += av.w * bv;
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let i = block_row + lid.y * 4u + r;
    if (i < p.m) {
      for (var t = 0u; t < 4u; t++) {
        let j = block_col + lid.x * 4u + t;
        if (j < p.n) {
          c[c_base + i * p.n + j] = acc[r][t];
        }
      }
    }
  }
}

@compute @workgroup_size(8, 8)
fn blocked(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row0 = gid.y * 4u;
  let col0 = gid.x * 4u;
  if (row0 >= p.m || col0 >= p.n) {
    return;
  }
  let base = bases(gid.z);
  let a_base = base.x;
  let b_base = base.y;
  let c_base = base.z;
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
