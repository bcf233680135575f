/// <reference types="@webgpu/types" />
/**
 * Kernels bind 32-bit elements only: f16 inputs are widened to f32 values (or moved as their raw
 * bits) and u8 to i32 by convert.wgsl before a kernel reads them, and f16/u8 outputs are written
 * wide and packed back when the kernel finishes. f32 and i32 pass through untouched.
 */
import type { KernelTensor, TensorInfo } from '../../core/backend.js';
import { sizeOf } from '../../core/shape.js';
import type { DispatchSpec } from './backend.js';
import { wgsl } from './shaders.js';
import { type GpuStorage, NeedsHost } from './storage.js';
import { Uniforms } from './uniforms.js';

export const CONVERT = wgsl(new URL('./wgsl/convert.wgsl', import.meta.url));
export const CONVERT_ENTRIES = ['unpack16', 'pack16', 'unpack8', 'pack8'] as const;

/** The 32-bit element type a kernel binds: f16 computes as f32 (or moves as raw u32 bits), u8 as i32. */
export type WideType = 'f32' | 'i32' | 'u32';

/** A tensor as a kernel binds it: 32-bit elements, row-major. */
export interface Wide {
  readonly buffer: GPUBuffer;
  readonly type: WideType;
  readonly shape: readonly number[];
  readonly size: number;
}

/** An output being written in wide form; `finish()` narrows it into the op's storage. */
export interface WideOutput extends Wide {
  finish(): GpuStorage;
}

/** What widening needs from the backend: scratch buffers, op outputs and dispatches. */
export interface WideningGpu {
  temp(bytes: number): GPUBuffer;
  alloc(info: TensorInfo): GpuStorage;
  dispatch(spec: DispatchSpec): void;
}

export class Widener {
  constructor(private readonly gpu: WideningGpu) {}

  #convert(entry: string, src: GPUBuffer, dst: GPUBuffer, n: number, count: number, convert: boolean): void {
    this.gpu.dispatch({
      shader: CONVERT,
      entry,
      uniforms: new Uniforms().u32(n, count, convert ? 1 : 0, 0),
      bindings: [src, dst],
      threads: n,
    });
  }

  /**
   * The tensor with 32-bit elements: f32 and i32 as they are; f16 widened to f32 values
   * (mode 'value') or to its raw bits (mode 'raw', for kernels that only move data);
   * u8 widened to i32.
   */
  wide(t: KernelTensor<GpuStorage>, mode: 'value' | 'raw'): Wide {
    const size = t.storage.size;
    const buffer = t.storage.buffer;
    if (!buffer) throw new Error('WebGPU: a kernel input was already freed');
    switch (t.dtype) {
      case 'f32':
      case 'i32':
        return { buffer, type: t.dtype, shape: t.shape, size };
      case 'f16': {
        const out = this.gpu.temp(size * 4);
        this.#convert('unpack16', buffer, out, size, size, mode === 'value');
        return { buffer: out, type: mode === 'value' ? 'f32' : 'u32', shape: t.shape, size };
      }
      case 'u8': {
        const out = this.gpu.temp(size * 4);
        this.#convert('unpack8', buffer, out, size, size, false);
        return { buffer: out, type: 'i32', shape: t.shape, size };
      }
      case 'f64':
        throw new NeedsHost('f64 runs on the host');
    }
  }

  /** Where a kernel writes output `info` in wide form; finish() gives the storage. */
  output(info: TensorInfo, mode: 'value' | 'raw'): WideOutput {
    const size = sizeOf(info.shape);
    switch (info.dtype) {
      case 'f32':
      case 'i32': {
        const s = this.gpu.alloc(info);
        return { buffer: s.buffer!, type: info.dtype, shape: info.shape, size, finish: () => s };
      }
      case 'f16':
      case 'u8': {
        const buffer = this.gpu.temp(size * 4);
        const half = info.dtype === 'f16';
        const type: WideType = half ? (mode === 'value' ? 'f32' : 'u32') : 'i32';
        return {
          buffer,
          type,
          shape: info.shape,
          size,
          finish: () => {
            const s = this.gpu.alloc(info);
            const perWord = half ? 2 : 4;
            const words = Math.ceil(size / perWord);
            this.#convert(half ? 'pack16' : 'pack8', buffer, s.buffer!, words, size, half && mode === 'value');
            return s;
          },
        };
      }
      case 'f64':
        throw new NeedsHost('f64 runs on the host');
    }
  }
}
