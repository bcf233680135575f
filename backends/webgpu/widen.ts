/// <reference types="@webgpu/types" />
/**
 * Kernels bind 32-bit elements only: f16/bf16 inputs are widened to f32 values (or moved as their
 * raw bits) and u8/i8 to i32 by convert.wgsl before a kernel reads them, and narrow outputs are
 * written wide and packed back when the kernel finishes. f32, i32 and u32 pass through untouched.
 */
import type { KernelTensor, TensorInfo } from '../../core/backend.js';
import type { DType } from '../../core/dtype.js';
import { sizeOf } from '../../core/shape.js';
import type { DispatchSpec } from './backend.js';
import { wgsl } from './shaders.js';
import { type GpuStorage, NeedsHost } from './storage.js';
import { Uniforms } from './uniforms.js';

export const CONVERT = wgsl(new URL('./wgsl/convert.wgsl', import.meta.url));
export const CONVERT_ENTRIES = ['unpack16', 'pack16', 'unpack8', 'pack8'] as const;

/** The 32-bit element type a kernel binds: f16/bf16 compute as f32 (or move as raw u32 bits), u8/i8 as i32. */
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

interface Narrow {
  readonly bits: 8 | 16;
  readonly unpack: string;
  readonly pack: string;
  /** convert.wgsl's mode when values (not raw bits) are wanted: f16 1, bf16 2; i8 sign-extends with 1. */
  readonly mode: number;
}

/**
 * How each dtype narrower than 32 bits is widened for kernels (convert.wgsl); undefined for
 * the 32-bit dtypes kernels bind as they are; null for f64, which runs on the host.
 */
const NARROW: Readonly<Record<DType, Narrow | undefined | null>> = {
  f32: undefined,
  i32: undefined,
  u32: undefined,
  f16: { bits: 16, unpack: 'unpack16', pack: 'pack16', mode: 1 },
  bf16: { bits: 16, unpack: 'unpack16', pack: 'pack16', mode: 2 },
  u8: { bits: 8, unpack: 'unpack8', pack: 'pack8', mode: 0 },
  i8: { bits: 8, unpack: 'unpack8', pack: 'pack8', mode: 1 },
  f64: null,
};

export class Widener {
  constructor(private readonly gpu: WideningGpu) {}

  #convert(entry: string, src: GPUBuffer, dst: GPUBuffer, n: number, count: number, mode: number): void {
    this.gpu.dispatch({
      shader: CONVERT,
      entry,
      uniforms: new Uniforms().u32(n, count, mode, 0),
      bindings: [src, dst],
      threads: n,
    });
  }

  /**
   * The tensor with 32-bit elements: f32, i32 and u32 as they are; f16 and bf16 widened to
   * f32 values (mode 'value') or to their raw bits (mode 'raw', for kernels that only move
   * data); u8 and i8 widened to i32.
   */
  wide(t: KernelTensor<GpuStorage>, mode: 'value' | 'raw'): Wide {
    const size = t.storage.size;
    const buffer = t.storage.buffer;
    if (!buffer) throw new Error('WebGPU: a kernel input was already freed');
    const narrow = NARROW[t.dtype];
    if (narrow === null) throw new NeedsHost('f64 runs on the host');
    if (narrow === undefined) return { buffer, type: t.dtype as WideType, shape: t.shape, size };
    const out = this.gpu.temp(size * 4);
    const convert = narrow.bits === 8 || mode === 'value';
    this.#convert(narrow.unpack, buffer, out, size, size, convert ? narrow.mode : 0);
    const type: WideType = narrow.bits === 8 ? 'i32' : convert ? 'f32' : 'u32';
    return { buffer: out, type, shape: t.shape, size };
  }

  /** Where a kernel writes output `info` in wide form; finish() gives the storage. */
  output(info: TensorInfo, mode: 'value' | 'raw'): WideOutput {
    const size = sizeOf(info.shape);
    const narrow = NARROW[info.dtype];
    if (narrow === null) throw new NeedsHost('f64 runs on the host');
    if (narrow === undefined) {
      const s = this.gpu.alloc(info);
      return { buffer: s.buffer!, type: info.dtype as WideType, shape: info.shape, size, finish: () => s };
    }
    const buffer = this.gpu.temp(size * 4);
    const convert = narrow.bits === 16 && mode === 'value';
    return {
      buffer,
      type: narrow.bits === 8 ? 'i32' : convert ? 'f32' : 'u32',
      shape: info.shape,
      size,
      finish: () => {
        const s = this.gpu.alloc(info);
        const words = Math.ceil(size / (32 / narrow.bits));
        this.#convert(narrow.pack, buffer, s.buffer!, words, size, convert ? narrow.mode : 0);
        return s;
      },
    };
  }
}
