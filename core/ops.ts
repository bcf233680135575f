/** The public op API: every op family's functions (kernels/ops.ts is generated from the folders). */
export * from '../kernels/ops.js';
