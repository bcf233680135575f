/**
 * `efficientai-toolkit/compression`: model compression on the tensor core — the quantized Linear and
 * Embedding layers mlx-lm's quantized folders load into, their config (`quantization` in config.json),
 * GPTQ and HQQ quantizers, calibration statistics, and pruning (unstructured, N:M, whole FFN neurons).
 * The MLX affine quantize/dequantize/quantizedMatmul ops themselves are in the root entry.
 * Browser-safe; the `compression:*` commands that read and write model folders are the CLI's.
 */
export * from '../core/nn/quantized.js';
export * from '../models/compression/calibration.js';
export * from '../models/compression/gptq.js';
export * from '../models/compression/hqq.js';
export * from '../models/compression/prune.js';
export * from '../models/llama/quantization.js';
