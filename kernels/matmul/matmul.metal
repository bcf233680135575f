// Metal compute kernels for the native addon's Apple path (native-metal/src/apple/metal.mm
// compiles this file at first use). Unverified on hardware: see native-metal/README.md.
#include <metal_stdlib>
using namespace metal;

constant uint TILE = 16;

// c [m, n] = a [m, k] · b [k, n], row-major. One 16x16 threadgroup per 16x16 tile of c;
// each step stages a 16x16 tile of a and of b in threadgroup memory.
kernel void matmul_f32(device const float* a [[buffer(0)]],
                       device const float* b [[buffer(1)]],
                       device float* c [[buffer(2)]],
                       constant uint* dims [[buffer(3)]],
                       uint2 gid [[thread_position_in_grid]],
                       uint2 lid [[thread_position_in_threadgroup]]) {
  const uint m = dims[0], k = dims[1], n = dims[2];
  threadgroup float ta[TILE][TILE];
  threadgroup float tb[TILE][TILE];
  const uint row = gid.y, col = gid.x;
  float acc = 0.0f;
  for (uint t = 0; t < k; t += TILE) {
    ta[lid.y][lid.x] = (row < m && t + lid.x < k) ? a[row * k + t + lid.x] : 0.0f;
    tb[lid.y][lid.x] = (col < n && t + lid.y < k) ? b[(t + lid.y) * n + col] : 0.0f;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint p = 0; p < TILE; p++) acc = fma(ta[lid.y][p], tb[p][lid.x], acc);
    threadgroup_barrier(mem_flags::mem_threadgroup);
  }
  if (row < m && col < n) c[row * n + col] = acc;
}
