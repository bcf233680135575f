/**
 * What a WebGPU storage is (a GPUBuffer with the host lineage that can rebuild it) and the small
 * byte helpers the backend, its widening and its recovery share.
 */
import type { Storage } from '../../core/backend.js';
import { bytesPerElement, type DType, hostView, type TypedArray } from '../../core/dtype.js';
import type { Source } from './lineage.js';

/** The lineage of a storage whose producer is not recorded (recovery off, freed, not yet written). */
export const PENDING: Source = { node: { inputs: [], depth: 0, label: 'pending' }, index: 0 };

export class GpuStorage implements Storage {
  readonly backend = 'webgpu' as const;
  readonly byteLength: number;
  constructor(
    readonly dtype: DType,
    readonly size: number,
    /** null once freed, or for storages made after the device was lost (host-backed). */
    public buffer: GPUBuffer | null,
    public source: Source,
  ) {
    this.byteLength = size * bytesPerElement(dtype);
  }
}

/** Thrown by a kernel before it dispatches anything: this configuration runs on the host instead. */
export class NeedsHost extends Error {
  override name = 'NeedsHost';
}

/** Buffer sizes are multiples of 4 bytes, and never 0. */
export function ceil4(bytes: number): number {
  return Math.max(4, Math.ceil(bytes / 4) * 4);
}

/** The first `size` elements of mapped bytes as the dtype's host array (f16/bf16 as Uint16Array bits). */
export function hostArray(bytes: ArrayBuffer, dtype: DType, size: number): TypedArray {
  return hostView(dtype, bytes, 0, size);
}
