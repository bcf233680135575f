/// <reference types="@webgpu/types" />
/**
 * Surviving device loss: every WebGPU storage records how to rebuild it on the host (lineage.ts)
 * — its uploaded data, or the op and inputs that made it with the js reference kernel as a host
 * function. When the device is lost, reads rebuild results from that lineage and every later op
 * runs on the host, so the caller's results survive. Long chains get a host snapshot copied
 * off the GPU in the background, so a rebuild never replays more than SNAPSHOT_DEPTH ops.
 */
import type { KernelTensor, TensorInfo } from '../../core/backend.js';
import { getBackend, resolveKernel } from '../../core/dispatch.js';
import type { DType, TypedArray } from '../../core/dtype.js';
import { sizeOf } from '../../core/shape.js';
import { type HostCompute, hostNode, type LineageNode, materialize, opNode, type Source } from './lineage.js';
import { ceil4, GpuStorage, hostArray, PENDING } from './storage.js';

const MAP_READ = 1;
const COPY_DST = 8;

/** Lineage chains longer than this get a background host snapshot (bounds recovery work). */
export const SNAPSHOT_DEPTH = 64;
/** Storages larger than this are never snapshotted (their chain stays, recovery replays it). */
const SNAPSHOT_MAX_BYTES = 64 * 2 ** 20;

/** A copy of a storage on its way to the host; it replaces the lineage once mapped. */
export interface Snapshot {
  readonly storage: GpuStorage;
  readonly staging: GPUBuffer;
  readonly node: LineageNode;
}

/** The js reference kernel of `op` as a host function (what recovery, f64 ops and host runs compute). */
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

/** What recovery needs from the backend: the device, and a copy encoded in stream order. */
export interface RecoveryGpu {
  readonly device: GPUDevice;
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void;
}

export class Recovery {
  /** Why the device was lost; null while it works. */
  lost: string | null = null;
  #snapshots: Snapshot[] = [];

  /** `enabled` false (EAI_WEBGPU_RECOVERY=0): no lineage is kept, and a lost device loses its results. */
  constructor(
    readonly enabled: boolean,
    private readonly gpu: RecoveryGpu,
  ) {}

  /** The warning for a lost device. */
  lostMessage(why: string): string {
    return this.enabled
      ? `[efficientai-toolkit] WebGPU device lost (${why}); results are rebuilt on the host and later ops run on js`
      : `[efficientai-toolkit] WebGPU device lost (${why}); recovery is off (EAI_WEBGPU_RECOVERY=0), so results on it are gone`;
  }

  /** The lineage of an upload (its own copy of the data). */
  uploadSource(copy: TypedArray): Source {
    return this.enabled ? { node: hostNode(copy, 'upload'), index: 0 } : PENDING;
  }

  /** A storage with no buffer, backed by host data (uploads after the device is lost). */
  hostStorage(data: TypedArray, dtype: DType, label: string): GpuStorage {
    return new GpuStorage(dtype, data.length, null, { node: hostNode(data, label), index: 0 });
  }

  /** Outputs of a GPU op: each can be rebuilt by `compute` from its inputs' lineage. */
  recordOp(
    label: string,
    inputs: readonly KernelTensor<GpuStorage>[],
    results: readonly GpuStorage[],
    compute: HostCompute,
  ): void {
    if (!this.enabled) return;
    const node = opNode(label, sourcesOf(inputs), compute);
    results.forEach((s, index) => {
      s.source = { node, index };
      if (node.depth >= SNAPSHOT_DEPTH) this.#snapshot(s);
    });
  }

  /**
   * Bound recovery cost: copy a storage at the end of a long chain to a staging buffer and,
   * once the GPU is done, make that copy its lineage. Mapping happens off the timeline, so it
   * never holds up later submits.
   */
  #snapshot(storage: GpuStorage): void {
    const bytes = ceil4(storage.byteLength);
    if (!storage.buffer || bytes > SNAPSHOT_MAX_BYTES) return;
    const staging = this.gpu.device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST });
    this.gpu.copy(storage.buffer, 0, staging, 0, bytes);
    this.#snapshots.push({ storage, staging, node: storage.source.node });
  }

  /** The snapshots encoded since the last submit (they are mapped once it is submitted). */
  takeSnapshots(): Snapshot[] {
    const list = this.#snapshots;
    this.#snapshots = [];
    return list;
  }

  startSnapshots(list: readonly Snapshot[]): void {
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

  /** Run an op on the host now (the device is lost): outputs are host-backed storages. */
  runOnHost(
    inputs: readonly KernelTensor<GpuStorage>[],
    outputs: readonly TensorInfo[],
    compute: HostCompute,
  ): GpuStorage[] {
    const node = opNode('host op', sourcesOf(inputs), compute);
    node.host = compute(inputs.map((t) => this.hostCopy(t.storage)));
    return outputs.map((o, index) => new GpuStorage(o.dtype, sizeOf(o.shape), null, { node, index }));
  }

  /** The storage's contents when the host already has them (an upload, a finished read), else null. */
  hostData(storage: GpuStorage): TypedArray | null {
    const { node, index } = storage.source;
    return node.host ? node.host[index] : null;
  }

  /** The storage's contents rebuilt on the host from its lineage. */
  hostCopy(storage: GpuStorage): TypedArray {
    if (storage.source === PENDING) {
      throw new Error(
        `WebGPU device lost (${this.lost}) and this ${storage.dtype} tensor has no host lineage (recovery is off or it was freed)`,
      );
    }
    return materialize(storage.source);
  }

  /** A finished read: the data is known now, so recovery no longer needs the chain that produced it. */
  afterRead(storage: GpuStorage, data: TypedArray): void {
    if (this.enabled && storage.source.node.depth > 0 && storage.buffer) {
      storage.source = { node: hostNode(data.slice(), 'read'), index: 0 };
    }
  }
}

export function sourcesOf(inputs: readonly KernelTensor<GpuStorage>[]): Source[] {
  return inputs.map((t) => t.storage.source);
}
