/** The public op API: every op family's functions, in one namespace. */
export * from '../kernels/attention/attention.js';
export * from '../kernels/conv/conv.js';
export * from '../kernels/elementwise/elementwise.js';
export * from '../kernels/image/image.js';
export * from '../kernels/layout/layout.js';
export * from '../kernels/loss/loss.js';
export * from '../kernels/matmul/matmul.js';
export * from '../kernels/norm/norm.js';
export * from '../kernels/pool/pool.js';
export * from '../kernels/quant/quant.js';
export * from '../kernels/reduce/reduce.js';
export * from '../kernels/rope/rope.js';
export * from '../kernels/softmax/softmax.js';
