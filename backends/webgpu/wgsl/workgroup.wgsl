// Workgroup-wide folds for the kernels that give one line of data a workgroup of WG threads
// (norms, softmax, reductions, cross-entropy; backends/webgpu/lines.ts picks them). A kernel
// file pulls this in with `// @include backends/webgpu/wgsl/workgroup.wgsl`: the loader appends
// it after the file's last line (WGSL declarations may follow their use), so compiler
// messages keep the kernel file's own line numbers.

const WG: u32 = 256u;
var<workgroup> fold_partial: array<f32, 256>;

// The larger of a and b, NaN winning (as on the host).
fn larger(a: f32, b: f32) -> f32 {
  return select(a, b, b > a || b != b);
}

// Every thread's `v` combined (the larger, or the sum), returned to all of them: a tree in
// workgroup memory, which also rounds less than one long serial sum.
fn workgroup_fold(lid: u32, v: f32, take_max: bool) -> f32 {
  fold_partial[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      let b = fold_partial[lid + s];
      fold_partial[lid] = select(fold_partial[lid] + b, larger(fold_partial[lid], b), take_max);
    }
    workgroupBarrier();
  }
  let total = fold_partial[0];
  // Nobody may overwrite fold_partial[0] for the next fold before every thread has read it.
  workgroupBarrier();
  return total;
}
