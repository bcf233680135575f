// The one AssemblyScript module of the wasm backend: every family's kernels compiled together
// so they share one memory (and, with threads, one shared memory across worker instances).
// Built by backends/wasm/build.mjs (npm run build:wasm). Only entry points are exported, so
// the optimiser may inline and specialise everything else; adding a kernel adds a name here.
export {
  bf16_to_f32,
  f16_to_f32,
  f32_to_bf16,
  f32_to_f16,
  heap_base,
  scratch_bytes,
  strided_copy,
  thread_init,
} from './common.as';
export { matmul_f32, matmul_i32 } from '../../kernels/matmul/wasm.as';
export {
  col2im_f32,
  conv2d_f32,
  conv_transpose_gemm_f32,
  conv_weight_grad_f32,
  depthwise_f32,
} from '../../kernels/conv/wasm.as';
export { binary_f32, binary_i32, cast_32, clamp_f32, compare_32, unary_f32, where_any } from '../../kernels/elementwise/wasm.as';
export { reduce_cols, reduce_rows } from '../../kernels/reduce/wasm.as';
export { softmax_cols, softmax_rows } from '../../kernels/softmax/wasm.as';
export { norm_rows } from '../../kernels/norm/wasm.as';
export {
  copy_bytes,
  copy_rows,
  gather_rows,
  pad_grad_f32,
  pad_rows,
  scatter_add_f32,
  strided_scatter,
} from '../../kernels/layout/wasm.as';
export { pool_f32, pool_grad_f32 } from '../../kernels/pool/wasm.as';
export { rope_f32, rope_table } from '../../kernels/rope/wasm.as';
export { cross_entropy_f32, cross_entropy_grad_f32 } from '../../kernels/loss/wasm.as';
export { resize_f32, resize_grad_f32 } from '../../kernels/image/wasm.as';
export { attention_backward_f32, attention_f32 } from '../../kernels/attention/wasm.as';
