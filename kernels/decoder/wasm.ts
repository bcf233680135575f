/**
 * wasm decoder layer: the reference on the wasm memory. The layer is native's decoding path (the model
 * fuses only there); wasm runs the layer as separate SIMD ops, and this kernel exists so the op runs
 * everywhere.
 */
import { kernelTable, wasmKernel } from '../../backends/wasm/kernel.js';
import type { DecoderLayerAttrs } from './decoder.js';
import { refKernels } from './ref.js';

const decoderLayer = wasmKernel<DecoderLayerAttrs>({
  op: 'decoderLayer',
  ref: refKernels.decoderLayer,
  accepts: () => false,
  run() {
    throw new Error('decoderLayer: wasm runs the reference');
  },
});

export const wasmKernels = kernelTable({ decoderLayer });
