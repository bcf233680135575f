/// <reference types="@webgpu/types" />
/**
 * The WebGPU backend: storages are GPUBuffers, kernels encode compute passes into a
 * shared command encoder that is submitted in batches (on a read, or every
 * `maxBatch` dispatches), and reads map a staging copy asynchronously.
 *
 * Three things make it safe to use from a synchronous engine:
 * - Ordering. Submits, pool returns and host work go through one timeline; while an
 *   asynchronous step (a fallback op waiting for its inputs) is pending, later steps
 *   queue behind it, so no command runs before the data it reads exists.
 * - Fallback without synchronous reads (`deferToHost`): the outputs are allocated now
 *   and filled from the host kernel once the inputs have been read back.
 * - Recovery. Every storage records how to rebuild it on the host (lineage.ts). When
 *   the device is lost, reads rebuild results with the js reference kernels and every
 *   later op runs on the host, so the caller's results survive.
 */
import type {
  Backend,
  BackendName,
  Kernel,
  KernelTensor,
  Storage,
  StridedView,
  TensorInfo,
} from '../../core/backend.js';
import { getBackend, resolveKernel } from '../../core/dispatch.js';
import { allocHost, bytesPerElement, type DType, hostView, type TypedArray } from '../../core/dtype.js';
import { sizeOf } from '../../core/shape.js';
import { gatherStrided, type JsStorage } from '../js/backend.js';
import type { AdapterReport } from './device.js';
import { type HostCompute, hostNode, type LineageNode, materialize, opNode, type Source } from './lineage.js';
import { BufferPool } from './pool.js';
import { formatCompilation, type ShaderRef, type ShaderVariant, specialize, variantKey, wgsl } from './shaders.js';
import { MAX_RANK, Uniforms } from './uniforms.js';

const MAP_READ = 1;
const COPY_DST = 8;
const UNIFORM = 64;
const STORAGE = 128;
const COPY_SRC = 4;

/** Shader variants the backend itself dispatches (widening, strided copies). */
export function backendVariants(): ShaderVariant[] {
  return [
    ...['unpack16', 'pack16', 'unpack8', 'pack8'].map((entry) => ({ shader: CONVERT, entry })),
    { shader: STRIDED },
  ];
}

/** Lineage chains longer than this get a background host snapshot (bounds recovery work). */
export const SNAPSHOT_DEPTH = 64;
/** Storages larger than this are never snapshotted (their chain stays, recovery replays it). */
const SNAPSHOT_MAX_BYTES = 64 * 2 ** 20;

interface Snapshot {
  readonly storage: GpuStorage;
  readonly staging: GPUBuffer;
  readonly node: LineageNode;
}

/** Threads per workgroup of the 1-D kernels (`threads:` dispatches); WGSL files use the same. */
export const WORKGROUP = 64;

const CONVERT = wgsl(new URL('./wgsl/convert.wgsl', import.meta.url));
const STRIDED = wgsl(new URL('./wgsl/strided.wgsl', import.meta.url));

/** The 32-bit element type a kernel binds: f16/bf16 compute as f32 (or move as raw u32 bits), u8/i8 as i32. */
export type WideType = 'f32' | 'i32' | 'u32';

interface Narrow {
  readonly bits: 8 | 16;
  readonly unpack: string;
  readonly pack: string;
  /** convert.wgsl's mode when values (not raw bits) are wanted. */
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

const PENDING: Source = { node: { inputs: [], depth: 0, label: 'pending' }, index: 0 };

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

/** Thrown by a kernel before it dispatches anything: this configuration runs on the host instead. */
export class NeedsHost extends Error {
  override name = 'NeedsHost';
}

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

function ceil4(bytes: number): number {
  return Math.max(4, Math.ceil(bytes / 4) * 4);
}

function hostArray(bytes: ArrayBuffer, dtype: DType, size: number): TypedArray {
  return hostView(dtype, bytes, 0, size);
}

function jsStorage(data: TypedArray): JsStorage {
  return { backend: 'js', data, byteLength: data.byteLength };
}

/** The js reference kernel of `op` as a host function (what recovery and f64 ops run). */
export function hostCompute<A>(
  op: string,
  attrs: A,
  inputs: readonly TensorInfo[],
  outputs: readonly TensorInfo[],
): HostCompute {
  const infos = inputs.map((t) => ({ shape: t.shape, dtype: t.dtype }));
  return (hosts) => {
    const js = getBackend('js');
    const { kernel } = resolveKernel(op, 'js');
    const ins = hosts.map((data, i) => ({ storage: js.upload(data, infos[i].dtype), ...infos[i] }));
    return kernel(ins, attrs, outputs, js).map((s, i) => js.readSync!(s, outputs[i].dtype));
  };
}

/** Serialises submits and host steps; runs a step at once when nothing is pending. */
class Timeline {
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  constructor(private readonly onError: (err: unknown) => void) {}

  run(step: () => void | Promise<void>): void {
    if (this.#pending === 0) {
      let result: void | Promise<void>;
      try {
        result = step();
      } catch (err) {
        this.onError(err);
        return;
      }
      if (!(result instanceof Promise)) return;
      this.#track(result);
      return;
    }
    this.#track(this.#tail.then(step));
  }

  #track(p: Promise<void>): void {
    this.#pending++;
    this.#tail = p.catch(this.onError).finally(() => {
      this.#pending--;
    });
  }

  idle(): Promise<void> {
    return this.#tail;
  }
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
  readonly #recovery: boolean;
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
  #lost: string | null = null;
  #closing = false;
  readonly #lostPromise: Promise<unknown>;
  readonly #hostRuns = new Map<string, number>();
  #submits = 0;
  #snapshots: Snapshot[] = [];
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
    this.#recovery = options.recovery ?? true;
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

  #enterHostMode(why: string): void {
    if (this.#lost) return;
    this.#lost = why;
    // Errors of the dying device are moot; host replays re-raise any genuine one.
    this.#asyncError = null;
    this.#encoder = null;
    this.#pass = null;
    this.#retired = [];
    this.#warn(
      this.#recovery
        ? `[efficientai-toolkit] WebGPU device lost (${why}); results are rebuilt on the host and later ops run on js`
        : `[efficientai-toolkit] WebGPU device lost (${why}); recovery is off (EAI_WEBGPU_RECOVERY=0), so results on it are gone`,
    );
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

  #storageForHost(data: TypedArray, dtype: DType, label: string): GpuStorage {
    return new GpuStorage(dtype, data.length, null, { node: hostNode(data, label), index: 0 });
  }

  upload(data: TypedArray, dtype: DType): GpuStorage {
    const copy = data.slice();
    if (this.#lost) return this.#storageForHost(copy, dtype, 'upload');
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
    const source = this.#recovery ? { node: hostNode(copy, 'upload'), index: 0 } : PENDING;
    return new GpuStorage(dtype, data.length, buffer, source);
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
    const snapshots = this.#snapshots;
    this.#snapshots = [];
    this.#timeline.run(() => {
      if (this.#lost) return;
      if (encoder) {
        if (uniforms) this.device.queue.writeBuffer(this.#arena, 0, uniforms);
        this.device.queue.submit([encoder.finish()]);
        this.#submits++;
      }
      this.pool.release(retired);
      this.#startSnapshots(snapshots);
    });
  }

  // ------------------------------------------------------------------ 16- and 8-bit widening

  #convert(entry: string, src: GPUBuffer, dst: GPUBuffer, n: number, count: number, mode: number): void {
    this.dispatch({
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
  wide(t: KernelTensor<GpuStorage>, mode: 'value' | 'raw' = 'value'): Wide {
    const size = t.storage.size;
    const buffer = t.storage.buffer;
    if (!buffer) throw new Error('WebGPU: a kernel input was already freed');
    const narrow = NARROW[t.dtype];
    if (narrow === null) throw new NeedsHost('f64 runs on the host');
    if (narrow === undefined) return { buffer, type: t.dtype as WideType, shape: t.shape, size };
    const out = this.temp(size * 4);
    const convert = narrow.bits === 8 || mode === 'value';
    this.#convert(narrow.unpack, buffer, out, size, size, convert ? narrow.mode : 0);
    const type: WideType = narrow.bits === 8 ? 'i32' : convert ? 'f32' : 'u32';
    return { buffer: out, type, shape: t.shape, size };
  }

  /** Where a kernel writes output `info` in wide form (see `wide`); finish() gives the storage. */
  output(info: TensorInfo, mode: 'value' | 'raw' = 'value'): WideOutput {
    const size = sizeOf(info.shape);
    const narrow = NARROW[info.dtype];
    if (narrow === null) throw new NeedsHost('f64 runs on the host');
    if (narrow === undefined) {
      const s = this.alloc(info);
      return { buffer: s.buffer!, type: info.dtype as WideType, shape: info.shape, size, finish: () => s };
    }
    const buffer = this.temp(size * 4);
    const convert = narrow.bits === 16 && mode === 'value';
    return {
      buffer,
      type: narrow.bits === 8 ? 'i32' : convert ? 'f32' : 'u32',
      shape: info.shape,
      size,
      finish: () => {
        const s = this.alloc(info);
        const words = Math.ceil(size / (32 / narrow.bits));
        this.#convert(narrow.pack, buffer, s.buffer!, words, size, convert ? narrow.mode : 0);
        return s;
      },
    };
  }

  // ------------------------------------------------------------------ running ops

  #noteHostRun(op: string, why: string): void {
    const n = this.#hostRuns.get(op) ?? 0;
    if (n === 0 && !this.#lost) {
      this.#warn(`[efficientai-toolkit] webgpu runs '${op}' on the host (${why}) (warned once)`);
    }
    this.#hostRuns.set(op, n + 1);
  }

  /** Ops (or configurations) that ran on the host instead of the GPU, with counts. */
  hostRunStats(): Record<string, number> {
    return Object.fromEntries(this.#hostRuns);
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
    if (this.#lost) return this.#runOnHost(inputs, outputs, onHost());
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
    if (this.#recovery) {
      const node = opNode(`op ${op}`, this.#sourcesOf(inputs), onHost());
      results.forEach((s, index) => {
        s.source = { node, index };
        if (node.depth >= SNAPSHOT_DEPTH) this.#snapshot(s);
      });
    }
    return results;
  }

  /**
   * Bound recovery cost: copy a storage at the end of a long chain to a staging buffer
   * and, once the GPU is done, make that copy its lineage. Mapping happens off the
   * timeline, so it never holds up later submits.
   */
  #snapshot(storage: GpuStorage): void {
    const bytes = ceil4(storage.byteLength);
    if (!storage.buffer || bytes > SNAPSHOT_MAX_BYTES) return;
    const staging = this.device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST });
    this.copy(storage.buffer, 0, staging, 0, bytes);
    this.#snapshots.push({ storage, staging, node: storage.source.node });
  }

  #startSnapshots(list: readonly Snapshot[]): void {
    for (const { storage, staging, node } of list) {
      staging
        .mapAsync(MAP_READ)
        .then(() => {
          // Still the same data (not freed, not replaced by a read)?
          if (storage.buffer && storage.source.node === node) {
            const data = hostArray(staging.getMappedRange().slice(0), storage.dtype, storage.size);
            storage.source = { node: hostNode(data, 'snapshot'), index: 0 };
          }
        })
        .catch(() => {
          // A lost device: the lineage is still there.
        })
        .finally(() => staging.destroy());
    }
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

  #sourcesOf(inputs: readonly KernelTensor<GpuStorage>[]): Source[] {
    return inputs.map((t) => t.storage.source);
  }

  #runOnHost(
    inputs: readonly KernelTensor<GpuStorage>[],
    outputs: readonly TensorInfo[],
    compute: HostCompute,
  ): GpuStorage[] {
    const node = opNode('host op', this.#sourcesOf(inputs), compute);
    node.host = compute(inputs.map((t) => this.#hostCopy(t.storage)));
    return outputs.map((o, index) => new GpuStorage(o.dtype, sizeOf(o.shape), null, { node, index }));
  }

  /** The storage's contents when the host already has them (an upload, a finished read), else null. */
  hostData(storage: GpuStorage): TypedArray | null {
    const { node, index } = storage.source;
    return node.host ? node.host[index] : null;
  }

  #hostCopy(storage: GpuStorage): TypedArray {
    if (storage.source === PENDING) {
      throw new Error(
        `WebGPU device lost (${this.#lost}) and this ${storage.dtype} tensor has no host lineage (recovery is off or it was freed)`,
      );
    }
    return materialize(storage.source);
  }

  deferToHost(
    inputs: readonly KernelTensor<GpuStorage>[],
    outputs: readonly TensorInfo[],
    compute: HostCompute,
  ): GpuStorage[] {
    if (this.#lost) return this.#runOnHost(inputs, outputs, compute);
    const known = inputs.map((t) => this.hostData(t.storage));
    if (known.every((d) => d !== null)) {
      // Inputs known on the host (uploads): run now, so errors are thrown at the call.
      const outs = compute(known as TypedArray[]);
      const node = opNode('fallback op', this.#sourcesOf(inputs), compute);
      node.host = outs;
      return outs.map((data, index) => {
        const s = this.upload(data, outputs[index].dtype);
        if (this.#recovery) s.source = { node, index };
        return s;
      });
    }
    const node = opNode('fallback op', this.#sourcesOf(inputs), compute);
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
    if (this.#lost) return this.#runOnHost([input], [info], compute)[0];
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
    if (this.#recovery) result.source = { node: opNode('contiguous', [view.storage.source], compute), index: 0 };
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
    if (this.#lost || !storage.buffer) return this.#hostCopy(storage).slice();
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
      if (await this.#confirmLost()) return this.#hostCopy(storage).slice();
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
    // The data is known now: recovery no longer needs the chain that produced it.
    if (this.#recovery && storage.source.node.depth > 0 && storage.buffer) {
      storage.source = { node: hostNode(out.slice(), 'read'), index: 0 };
    }
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
