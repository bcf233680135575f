/** The public op API: every op family's functions, in one namespace. */
export * from '../kernels/elementwise/elementwise.js';
export * from '../kernels/layout/layout.js';
export * from '../kernels/reduce/reduce.js';
