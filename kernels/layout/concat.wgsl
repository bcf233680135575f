// One input's block of a concatenation: [outer, rows·inner] placed at column `col` of
// [outer, outRow]. Moves raw 32-bit elements (f16 and u8 arrive as zero-extended bits).

struct Params {
  n: u32,
  row: u32,
  out_row: u32,
  col: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) {
    return;
  }
  let o = i / p.row;
  let j = i % p.row;
  dst[o * p.out_row + p.col + j] = src[i];
}
