/// <reference types="@webgpu/types" />
/**
 * The WebGPU backend: storages are GPUBuffers, kernels encode compute passes into a
 * shared command encoder that is submitted in batches (on a read, or every
 * `maxBatch` dispatches), and reads map a staging copy asynchronously.
 *
 * Three things make it safe to use from a synchronous engine:
 * - Ordering: submits, pool returns and host work go through one timeline (timeline.ts).
 * - Fallback without synchronous reads (`deferToHost`): the outputs are allocated now
 *   and filled from the host kernel once the inputs have been read back.
 * - Recovery from device loss (recovery.ts).
 * Kernels see 32-bit elements only; f16 and u8 are widened around them (widen.ts).
 */
import type { Backend, BackendName, Kernel, KernelTensor, StridedView, TensorInfo } from '../../core/backend.js';
import { allocHost, bytesPerElement, type DType, type TypedArray } from '../../core/dtype.js';
import { recordFallback } from '../../core/ledger.js';
import { sizeOf } from '../../core/shape.js';
import { gatherStrided, type JsStorage } from '../js/backend.js';
import type { AdapterReport } from './device.js';
import { type HostCompute, opNode } from './lineage.js';
import { BufferPool } from './pool.js';
import { hostCompute, Recovery, sourcesOf } from './recovery.js';
import { formatCompilation, type ShaderRef, type ShaderVariant, specialize, variantKey, wgsl } from './shaders.js';
import { ceil4, GpuStorage, hostArray, NeedsHost, PENDING } from './storage.js';
import { Timeline } from './timeline.js';
import { MAX_RANK, Uniforms } from './uniforms.js';
import { CONVERT, CONVERT_ENTRIES, type Wide, Widener, type WideOutput } from './widen.js';

export { SNAPSHOT_DEPTH } from './recovery.js';
export { GpuStorage, NeedsHost } from './storage.js';
export type { Wide, WideOutput, WideType } from './widen.js';

const MAP_READ = 1;
const COPY_DST = 8;
const UNIFORM = 64;
const STORAGE = 128;
const COPY_SRC = 4;

/** Shader variants the backend itself dispatches (widening, strided copies). */
export function backendVariants(): ShaderVariant[] {
  return [...CONVERT_ENTRIES.map((entry) => ({ shader: CONVERT, entry })), { shader: STRIDED }];
}

/** Threads per workgroup of the 1-D kernels (`threads:` dispatches); WGSL files use the same. */
export const WORKGROUP = 64;

const STRIDED = wgsl(new URL('./wgsl/strided.wgsl', import.meta.url));
/**
 * The index walks (at4, strided_offsets, unravel) that strided.wgsl and the broadcasting and
 * strided kernels `// @include`; declared here, beside its first user, so it is always loaded.
 */
export const INDEX_WALK_WGSL = wgsl(new URL('./wgsl/index_walk.wgsl', import.meta.url));

function jsStorage(data: TypedArray): JsStorage {
  return { backend: 'js', data, byteLength: data.byteLength };
}

/** The fallback ledger's reason for ops that run on the host after the device went away. */
const DEVICE_LOST = 'the GPU device was lost';

export interface DispatchSpec extends ShaderVariant {
  /** Storage buffers bound at 1, 2, ... in order (binding 0 is the uniform block, when given); null skips a number. */
  readonly bindings: readonly (GPUBuffer | null)[];
  readonly uniforms?: Uniforms;
  /** A 1-D grid of this many threads in workgroups of WORKGROUP (x first, overflow in y). */
  readonly threads?: number;
  /** Explicit workgroup counts instead of `threads`. */
  readonly workgroups?: readonly [number, number?, number?];
}

/** A family's WebGPU kernel: inputs are contiguous; it encodes work on `gpu` and returns the outputs. */
export type GpuKernel<A> = (
  inputs: readonly KernelTensor<GpuStorage>[],
  attrs: A,
  outputs: readonly TensorInfo[],
  gpu: WebGPUBackend,
) => GpuStorage[];

// biome-ignore lint/suspicious/noExplicitAny: a table holds kernels of many attribute types
export type GpuKernelTable = Readonly<Record<string, GpuKernel<any>>>;

/**
 * Families with two kernels (matmul, conv): 'tiled' stages tiles in workgroup memory
 * (real GPUs), 'blocked' keeps a register block per thread with no barriers (CPU-emulated
 * adapters, which run barrier-heavy kernels 10-20× slower).
 */
export type KernelVariant = 'tiled' | 'blocked';

export interface WebGPUOptions {
  /** Dispatches per submit (default 128). */
  readonly maxBatch?: number;
  /** Bytes of freed buffers kept for reuse (default 256 MiB). */
  readonly maxPooledBytes?: number;
  /** Keep host lineage so results survive device loss (default true). */
  readonly recovery?: boolean;
  /** Force a kernel variant for every family that has two (default: per adapter). */
  readonly variant?: KernelVariant;
  readonly warn?: (message: string) => void;
}

type StatusFormatter = (a: number, b: number, c: number) => string;
const statusFormatters: StatusFormatter[] = [];

/**
 * Register a message for an error a shader detects (an index out of range): the shader
 * stores [code, a, b, c] in the status buffer and the next read throws format(a, b, c).
 */
export function registerStatus(format: StatusFormatter): number {
  statusFormatters.push(format);
  return statusFormatters.length;
}

export class WebGPUBackend implements Backend<GpuStorage> {
  readonly name: BackendName = 'webgpu';
  readonly emulated: boolean;
  readonly details: Readonly<Record<string, string | number | boolean>>;
  readonly limits: GPUSupportedLimits;
  readonly pool: BufferPool;
  /** [code, a, b, c]: errors kernels detect (registerStatus). */
  readonly statusBuffer: GPUBuffer;
  readonly #sources: ReadonlyMap<string, string>;
  readonly #pipelines = new Map<string, GPUComputePipeline>();
  readonly #modules = new Map<string, GPUShaderModule>();
  readonly #timeline: Timeline;
  readonly #maxBatch: number;
  readonly #recovery: Recovery;
  readonly #widen: Widener;
  readonly #warn: (message: string) => void;
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #batched = 0;
  #retired: GPUBuffer[] = [];
  readonly #arena: GPUBuffer;
  readonly #arenaHost: Uint8Array;
  #arenaOffset = 0;
  #asyncError: unknown = null;
  /** Storages allocated while one op runs: those it does not return are freed at its end. */
  #opScope: Set<GpuStorage | GPUBuffer> | null = null;
  #closing = false;
  readonly #lostPromise: Promise<unknown>;
  #submits = 0;
  readonly #variants = new Map<string, KernelVariant>();
  /** Dispatch counts keyed `file#entry`: variants can be entry points of one file. */
  readonly #byEntry = new Map<string, number>();
  readonly #defaultVariant: KernelVariant | undefined;
  #dispatches = 0;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterReport,
    sources: ReadonlyMap<string, string>,
    options: WebGPUOptions = {},
  ) {
    this.emulated = adapter.emulated;
    this.details = adapter.details;
    this.limits = device.limits;
    this.#sources = sources;
    this.#maxBatch = options.maxBatch ?? 128;
    this.#recovery = new Recovery(options.recovery ?? true, this);
    this.#widen = new Widener(this);
    this.#defaultVariant = options.variant;
    this.#warn = options.warn ?? ((m) => console.warn(m));
    this.#timeline = new Timeline((err) => {
      this.#asyncError ??= err;
    });
    this.pool = new BufferPool(device, options.maxPooledBytes ?? 256 * 2 ** 20);
    this.statusBuffer = device.createBuffer({ size: 16, usage: STORAGE | COPY_SRC | COPY_DST, label: 'eai-status' });
    const arenaBytes = Math.min(65536, device.limits.maxUniformBufferBindingSize);
    this.#arena = device.createBuffer({ size: arenaBytes, usage: UNIFORM | COPY_DST, label: 'eai-uniforms' });
    this.#arenaHost = new Uint8Array(arenaBytes);
    this.#lostPromise = device.lost.then((info) => {
      if (this.#closing) return;
      this.#enterHostMode(`${info.reason}: ${info.message || 'no message'}`);
    });
    device.onuncapturederror = (event) => {
      if (!this.#lost) this.#asyncError ??= new Error(`WebGPU: ${event.error.message}`);
    };
  }

  /** The kernel variant a family uses on this adapter (or as forced by setVariant/options). */
  variant(family: string): KernelVariant {
    return this.#variants.get(family) ?? this.#defaultVariant ?? (this.emulated ? 'blocked' : 'tiled');
  }

  /** Force a family's variant (tests cover both on any adapter); null restores the default. */
  setVariant(family: string, variant: KernelVariant | null): void {
    if (variant) this.#variants.set(family, variant);
    else this.#variants.delete(family);
  }

  /** True once the device is gone: every op now runs on the host (js kernels). */
  get lost(): boolean {
    return this.#lost !== null;
  }

  /** Why the device was lost, or null while it works. */
  get #lost(): string | null {
    return this.#recovery.lost;
  }

  #enterHostMode(why: string): void {
    if (this.#lost) return;
    this.#recovery.lost = why;
    // Errors of the dying device are moot; host replays re-raise any genuine one.
    this.#asyncError = null;
    this.#encoder = null;
    this.#pass = null;
    this.#retired = [];
    this.#warn(this.#recovery.lostMessage(why));
  }

  // ------------------------------------------------------------------ memory

  #checkSize(bytes: number, what: string): void {
    const limit = Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize);
    if (bytes > limit) {
      throw new RangeError(
        `WebGPU: ${what} needs ${bytes} bytes, over this adapter's maxStorageBufferBindingSize/maxBufferSize of ${limit} bytes (${this.details.description}); split the tensor or use another backend (setBackend('wasm'|'native'|'js'))`,
      );
    }
  }

  /** A fresh storage for an op output (freed at the op's end unless the kernel returns it). */
  alloc(info: TensorInfo): GpuStorage {
    if (info.dtype === 'f64') throw new NeedsHost('f64 runs on the host');
    const size = sizeOf(info.shape);
    const bytes = size * bytesPerElement(info.dtype);
    this.#checkSize(bytes, `a ${info.dtype} tensor of ${size} elements`);
    const s = new GpuStorage(info.dtype, size, this.pool.acquire(ceil4(bytes)), PENDING);
    this.#opScope?.add(s);
    return s;
  }

  /** A scratch buffer for the current op; returned to the pool when the op ends. */
  temp(bytes: number): GPUBuffer {
    this.#checkSize(bytes, 'a scratch buffer');
    const b = this.pool.acquire(ceil4(bytes));
    if (this.#opScope) this.#opScope.add(b);
    else this.#retired.push(b);
    return b;
  }

  /** Host data as a scratch buffer of the current op (tap tables, index lists). */
  uploadTemp(data: TypedArray): GPUBuffer {
    const buffer = this.temp(data.byteLength);
    if (data.byteLength > 0) {
      const padded = new Uint8Array(ceil4(data.byteLength));
      padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      this.device.queue.writeBuffer(buffer, 0, padded);
    }
    return buffer;
  }

  upload(data: TypedArray, dtype: DType): GpuStorage {
    const copy = data.slice();
    if (this.#lost) return this.#recovery.hostStorage(copy, dtype, 'upload');
    const bytes = data.byteLength;
    this.#checkSize(bytes, `uploading ${data.length} ${dtype} elements`);
    const buffer = this.pool.acquire(ceil4(bytes));
    if (bytes > 0) {
      if (bytes % 4 === 0) {
        this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, bytes);
      } else {
        const padded = new Uint8Array(ceil4(bytes));
        padded.set(new Uint8Array(data.buffer, data.byteOffset, bytes));
        this.device.queue.writeBuffer(buffer, 0, padded);
      }
    }
    return new GpuStorage(dtype, data.length, buffer, this.#recovery.uploadSource(copy));
  }

  free(storage: GpuStorage): void {
    if (storage.buffer && !this.#lost) this.#retired.push(storage.buffer);
    storage.buffer = null;
    storage.source = PENDING;
  }

  // ------------------------------------------------------------------ encoding

  #computePass(): GPUComputePassEncoder {
    this.#encoder ??= this.device.createCommandEncoder();
    this.#pass ??= this.#encoder.beginComputePass();
    return this.#pass;
  }

  #endPass(): void {
    this.#pass?.end();
    this.#pass = null;
  }

  /** Encode a buffer-to-buffer copy in stream order. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.#endPass();
    this.#encoder ??= this.device.createCommandEncoder();
    this.#encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  #module(v: ShaderVariant, code: string): GPUShaderModule {
    let m = this.#modules.get(code);
    if (!m) {
      m = this.device.createShaderModule({ code, label: v.shader.name });
      this.#modules.set(code, m);
      // A broken variant must say where: file:line:col, ahead of Dawn's "invalid pipeline".
      m.getCompilationInfo().then((info) => {
        const text = formatCompilation(v.shader.name, info.messages, v.params);
        if (text) this.#asyncError = new Error(`WebGPU shader compilation failed:\n${text}`);
      });
    }
    return m;
  }

  /** The compute pipeline of a shader variant, compiled once. */
  pipeline(v: ShaderVariant): GPUComputePipeline {
    const key = variantKey(v);
    let p = this.#pipelines.get(key);
    if (!p) {
      const source = this.#sources.get(v.shader.name);
      if (source === undefined) throw new Error(`WebGPU: shader ${v.shader.name} was not loaded`);
      const module = this.#module(v, specialize(source, v.params));
      p = this.device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint: v.entry ?? 'main' },
        label: key,
      });
      this.#pipelines.set(key, p);
    }
    return p;
  }

  #writeUniforms(bytes: Uint8Array): number {
    const align = Math.max(256, this.limits.minUniformBufferOffsetAlignment);
    if (bytes.byteLength > 256) throw new Error(`WebGPU: a uniform block of ${bytes.byteLength} bytes exceeds 256`);
    if (this.#arenaOffset + bytes.byteLength > this.#arenaHost.byteLength) this.flush();
    const at = this.#arenaOffset;
    this.#arenaHost.set(bytes, at);
    this.#arenaOffset = at + Math.ceil(bytes.byteLength / align) * align;
    return at;
  }

  /** Encode one compute dispatch. */
  dispatch(spec: DispatchSpec): void {
    let groups: [number, number, number];
    if (spec.workgroups) {
      groups = [spec.workgroups[0], spec.workgroups[1] ?? 1, spec.workgroups[2] ?? 1];
    } else {
      const total = Math.ceil((spec.threads ?? 0) / WORKGROUP);
      const maxX = this.limits.maxComputeWorkgroupsPerDimension;
      const x = Math.min(total, maxX);
      groups = [x, x === 0 ? 0 : Math.ceil(total / x), 1];
    }
    if (groups[0] === 0 || groups[1] === 0 || groups[2] === 0) return;
    const pipeline = this.pipeline(spec);
    const entries: GPUBindGroupEntry[] = [];
    if (spec.uniforms) {
      const bytes = spec.uniforms.bytes();
      const offset = this.#writeUniforms(bytes);
      entries.push({ binding: 0, resource: { buffer: this.#arena, offset, size: bytes.byteLength } });
    }
    spec.bindings.forEach((buffer, i) => {
      if (buffer) entries.push({ binding: i + 1, resource: { buffer } });
    });
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const pass = this.#computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    this.#dispatches++;
    const entry = `${spec.shader.name}#${spec.entry ?? 'main'}`;
    this.#byEntry.set(entry, (this.#byEntry.get(entry) ?? 0) + 1);
    if (++this.#batched >= this.#maxBatch) this.flush();
  }

  /** Submit what has been encoded (in timeline order) and recycle buffers it no longer needs. */
  flush(): void {
    if (this.#lost) return;
    this.#endPass();
    const encoder = this.#encoder;
    const uniforms = this.#arenaOffset > 0 ? this.#arenaHost.slice(0, this.#arenaOffset) : null;
    const retired = this.#retired;
    if (!encoder && retired.length === 0) return;
    this.#encoder = null;
    this.#batched = 0;
    this.#arenaOffset = 0;
    this.#retired = [];
    const snapshots = this.#recovery.takeSnapshots();
    this.#timeline.run(() => {
      if (this.#lost) return;
      if (encoder) {
        if (uniforms) this.device.queue.writeBuffer(this.#arena, 0, uniforms);
        this.device.queue.submit([encoder.finish()]);
        this.#submits++;
      }
      this.pool.release(retired);
      this.#recovery.startSnapshots(snapshots);
    });
  }

  // ------------------------------------------------------------------ 16- and 8-bit widening

  /** An input as 32-bit elements (widen.ts): f16 as f32 values ('value') or raw bits ('raw'), u8 as i32. */
  wide(t: KernelTensor<GpuStorage>, mode: 'value' | 'raw' = 'value'): Wide {
    return this.#widen.wide(t, mode);
  }

  /** Where a kernel writes output `info` in wide form (widen.ts); finish() gives the storage. */
  output(info: TensorInfo, mode: 'value' | 'raw' = 'value'): WideOutput {
    return this.#widen.output(info, mode);
  }

  // ------------------------------------------------------------------ running ops

  /** An op that runs the js reference kernel on the host instead of a GPU kernel: into the fallback ledger. */
  #noteHostRun(op: string, why: string): void {
    recordFallback(op, 'reference', 'webgpu', 'js', why);
  }

  /**
   * Run one op's GPU kernel: outputs it does not return and its scratch buffers are
   * freed, and each output records its host lineage. f64 data, a kernel's NeedsHost,
   * or a lost device send the op to the host kernel instead.
   */
  runKernel<A>(
    op: string,
    kernel: GpuKernel<A>,
    inputs: readonly KernelTensor<GpuStorage>[],
    attrs: A,
    outputs: readonly TensorInfo[],
  ): GpuStorage[] {
    const onHost = () => hostCompute(op, attrs, inputs, outputs);
    if (this.#lost) {
      this.#noteHostRun(op, DEVICE_LOST);
      return this.#recovery.runOnHost(inputs, outputs, onHost());
    }
    if (inputs.some((t) => t.dtype === 'f64') || outputs.some((t) => t.dtype === 'f64')) {
      this.#noteHostRun(op, 'f64 is js-only');
      return this.deferToHost(inputs, outputs, onHost());
    }
    let results: GpuStorage[];
    try {
      results = this.#scoped(() => kernel(inputs, attrs, outputs, this));
    } catch (err) {
      if (!(err instanceof NeedsHost)) throw err;
      this.#noteHostRun(op, err.message);
      return this.deferToHost(inputs, outputs, onHost());
    }
    this.#recovery.recordOp(`op ${op}`, inputs, results, onHost());
    return results;
  }

  /** The storage's contents when the host already has them (an upload, a finished read), else null. */
  hostData(storage: GpuStorage): TypedArray | null {
    return this.#recovery.hostData(storage);
  }

  /** Run fn with an allocation scope: scratch buffers and storages it does not return are freed. */
  #scoped(fn: () => GpuStorage[]): GpuStorage[] {
    const outer = this.#opScope;
    const scope = new Set<GpuStorage | GPUBuffer>();
    this.#opScope = scope;
    let results: GpuStorage[] = [];
    try {
      results = fn();
      return results;
    } finally {
      this.#opScope = outer;
      for (const item of scope) {
        if (item instanceof GpuStorage) {
          if (!results.includes(item)) this.free(item);
        } else this.#retired.push(item);
      }
    }
  }

  deferToHost(
    inputs: readonly KernelTensor<GpuStorage>[],
    outputs: readonly TensorInfo[],
    compute: HostCompute,
  ): GpuStorage[] {
    if (this.#lost) return this.#recovery.runOnHost(inputs, outputs, compute);
    const known = inputs.map((t) => this.#recovery.hostData(t.storage));
    if (known.every((d) => d !== null)) {
      // Inputs known on the host (uploads): run now, so errors are thrown at the call.
      const outs = compute(known as TypedArray[]);
      const node = opNode('fallback op', sourcesOf(inputs), compute);
      node.host = outs;
      return outs.map((data, index) => {
        const s = this.upload(data, outputs[index].dtype);
        if (this.#recovery.enabled) s.source = { node, index };
        return s;
      });
    }
    const node = opNode('fallback op', sourcesOf(inputs), compute);
    const stagings = inputs.map((t) => {
      const bytes = ceil4(t.storage.byteLength);
      const staging = this.device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST });
      this.copy(t.storage.buffer!, 0, staging, 0, bytes);
      return staging;
    });
    const results = outputs.map((o) => {
      const size = sizeOf(o.shape);
      const bytes = size * bytesPerElement(o.dtype);
      this.#checkSize(bytes, `a ${o.dtype} tensor of ${size} elements`);
      return new GpuStorage(o.dtype, size, this.pool.acquire(ceil4(bytes)), { node, index: 0 });
    });
    results.forEach((s, index) => {
      s.source = { node, index };
    });
    this.flush();
    const buffers = results.map((s) => s.buffer!);
    this.#timeline.run(async () => {
      try {
        await Promise.all(stagings.map((s) => s.mapAsync(MAP_READ)));
        if (this.#lost) return;
        const hosts = stagings.map((s, i) =>
          hostArray(s.getMappedRange().slice(0), inputs[i].dtype, inputs[i].storage.size),
        );
        const outs = compute(hosts);
        node.host = outs;
        outs.forEach((data, i) => {
          if (data.byteLength === 0) return;
          const padded = new Uint8Array(ceil4(data.byteLength));
          padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
          this.device.queue.writeBuffer(buffers[i], 0, padded);
        });
      } finally {
        for (const s of stagings) s.destroy();
      }
    });
    return results;
  }

  contiguous(view: StridedView<GpuStorage>): GpuStorage {
    const { dtype, shape, strides, offset } = view;
    const info = { shape, dtype };
    const compute: HostCompute = ([data]) => [
      gatherStrided({ storage: jsStorage(data), shape, strides, offset, dtype }),
    ];
    const input = { storage: view.storage, shape: [view.storage.size], dtype };
    if (this.#lost) {
      this.#noteHostRun('contiguous', DEVICE_LOST);
      return this.#recovery.runOnHost([input], [info], compute)[0];
    }
    if (dtype === 'f64' || shape.length > MAX_RANK) {
      this.#noteHostRun('contiguous', dtype === 'f64' ? 'f64 is js-only' : `rank ${shape.length} > ${MAX_RANK}`);
      return this.deferToHost([input], [info], compute)[0];
    }
    const [result] = this.#scoped(() => {
      const src = this.wide(input, 'raw');
      const out = this.output(info, 'raw');
      this.dispatch({
        shader: STRIDED,
        uniforms: new Uniforms().u32(out.size, shape.length, offset, 0).u32Array(shape).u32Array(strides),
        bindings: [src.buffer, out.buffer],
        threads: out.size,
      });
      return [out.finish()];
    });
    this.#recovery.recordOp('contiguous', [input], [result], compute);
    return result;
  }

  // ------------------------------------------------------------------ reading

  async #confirmLost(): Promise<boolean> {
    if (this.#lost) return true;
    await Promise.race([this.#lostPromise, new Promise((r) => setTimeout(r, 2000))]);
    return this.#lost !== null;
  }

  #throwAsyncError(): void {
    const err = this.#asyncError;
    if (err === null) return;
    this.#asyncError = null;
    throw err;
  }

  async read(storage: GpuStorage, dtype: DType): Promise<TypedArray> {
    if (storage.size === 0) return allocHost(dtype, 0);
    if (this.#lost || !storage.buffer) return this.#recovery.hostCopy(storage).slice();
    const bytes = ceil4(storage.byteLength);
    const staging = this.device.createBuffer({ size: bytes + 16, usage: MAP_READ | COPY_DST });
    this.copy(storage.buffer, 0, staging, 0, bytes);
    this.copy(this.statusBuffer, 0, staging, bytes, 16);
    this.flush();
    await this.#timeline.idle();
    let raw: ArrayBuffer;
    try {
      if (this.#lost) throw new Error('device lost');
      await staging.mapAsync(MAP_READ);
      raw = staging.getMappedRange().slice(0);
      staging.unmap();
    } catch (err) {
      if (await this.#confirmLost()) return this.#recovery.hostCopy(storage).slice();
      throw err;
    } finally {
      staging.destroy();
    }
    this.#throwAsyncError();
    const status = new Uint32Array(raw, bytes, 4);
    if (status[0] !== 0) {
      const [code, a, b, c] = status;
      this.device.queue.writeBuffer(this.statusBuffer, 0, new Uint32Array(4));
      const format = statusFormatters[code - 1];
      throw new RangeError(format ? format(a, b, c) : `WebGPU: a kernel reported error code ${code}`);
    }
    const out = hostArray(raw, dtype, storage.size);
    this.#recovery.afterRead(storage, out);
    return out;
  }

  async sync(): Promise<void> {
    this.flush();
    await this.#timeline.idle();
    if (!this.#lost) await this.device.queue.onSubmittedWorkDone();
    this.#throwAsyncError();
  }

  stats(): Record<string, number> {
    return {
      submits: this.#submits,
      dispatches: this.#dispatches,
      pipelines: this.#pipelines.size,
      ...this.pool.stats(),
    };
  }

  /** Dispatches so far per WGSL file (which kernels actually ran). */
  dispatchesByShader(): Record<string, number> {
    const byFile: Record<string, number> = {};
    for (const [key, n] of this.#byEntry) {
      const file = key.slice(0, key.lastIndexOf('#'));
      byFile[file] = (byFile[file] ?? 0) + n;
    }
    return byFile;
  }

  /** Dispatches so far per `file#entry` (which variants actually ran). */
  dispatchesByEntry(): Record<string, number> {
    return Object.fromEntries(this.#byEntry);
  }

  /** Release the device on purpose (not a loss). */
  destroy(): void {
    this.#closing = true;
    this.pool.clear();
    this.device.destroy();
  }
}

/** Adapt a family's WebGPU kernel table: each kernel runs through runKernel under its op name. */
export function webgpuKernels(table: GpuKernelTable): Record<string, Kernel<never, never>> {
  return Object.fromEntries(
    Object.entries(table).map(([op, kernel]) => [
      op,
      ((inputs, attrs, outputs, backend) =>
        (backend as unknown as WebGPUBackend).runKernel(
          op,
          kernel,
          inputs as unknown as KernelTensor<GpuStorage>[],
          attrs,
          outputs,
        )) as Kernel<never, never>,
    ]),
  );
}

export type { ShaderRef };
