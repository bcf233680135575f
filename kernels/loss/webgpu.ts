/**
 * WebGPU crossEntropy and its gradient (cross_entropy.wgsl): a row of WIDE_ROW classes or
 * more gets a workgroup (the `_wide` entries), a shorter one a thread. Targets the host
 * knows are checked at the call, as the reference does; targets computed on the GPU are
 * checked there and reported by the next read.
 */
import {
  type GpuKernel,
  type GpuKernelTable,
  type GpuStorage,
  registerStatus,
  type WebGPUBackend,
} from '../../backends/webgpu/backend.js';
import { lineGroups, workgroupPerLine } from '../../backends/webgpu/lines.js';
import { type ShaderVariant, wgsl } from '../../backends/webgpu/shaders.js';
import { Uniforms } from '../../backends/webgpu/uniforms.js';
import type { KernelTensor, TensorInfo } from '../../core/backend.js';
import { ShapeError } from '../../core/errors.js';
import { sizeOf } from '../../core/shape.js';
import type { CrossEntropyAttrs } from './loss.js';

const CROSS_ENTROPY = wgsl(new URL('./cross_entropy.wgsl', import.meta.url));

function rangeMessage(t: number, row: number, classes: number, ignoreIndex: number | null): string {
  const ignore =
    ignoreIndex === null ? '; pass ignoreIndex to skip padding targets' : ` or the ignoreIndex ${ignoreIndex}`;
  return `crossEntropy: target ${t} at position ${row} is out of range for ${classes} classes (use 0..${classes - 1}${ignore})`;
}

/** Status codes per ignoreIndex value, so GPU-found errors read exactly like the host's. */
const rangeCodes = new Map<number | null, number>();

function rangeCode(ignoreIndex: number | null): number {
  let code = rangeCodes.get(ignoreIndex);
  if (code === undefined) {
    code = registerStatus((t, row, classes) => rangeMessage(t | 0, row, classes, ignoreIndex));
    rangeCodes.set(ignoreIndex, code);
  }
  return code;
}

/** Checks targets the host knows (throwing like the reference); false when only the GPU has them. */
function checkTargets(
  gpu: WebGPUBackend,
  targets: KernelTensor<GpuStorage>,
  classes: number,
  ignore: number | null,
): boolean {
  const host = gpu.hostData(targets.storage);
  if (!host) return false;
  host.forEach((t, row) => {
    if (t !== ignore && (t < 0 || t >= classes)) throw new ShapeError(rangeMessage(t, row, classes, ignore));
  });
  return true;
}

function run(
  entry: 'forward' | 'backward',
  gpu: WebGPUBackend,
  inputs: readonly KernelTensor<GpuStorage>[],
  { ignoreIndex, labelSmoothing }: CrossEntropyAttrs,
  out: TensorInfo,
): GpuStorage[] {
  const [logits, targets, g] = inputs;
  const classes = logits.shape[logits.shape.length - 1];
  const known = checkTargets(gpu, targets, classes, ignoreIndex);
  const lv = gpu.wide(logits);
  const tv = gpu.wide(targets);
  const gv = g ? gpu.wide(g) : null;
  const y = gpu.output(out);
  const rows = sizeOf(targets.shape);
  const uniforms = () =>
    new Uniforms()
      .u32(rows, classes, ignoreIndex === null ? 0 : 1)
      .i32(ignoreIndex ?? 0)
      .f32(labelSmoothing)
      .u32(rangeCode(ignoreIndex), 0, 0);
  if (!known) {
    gpu.dispatch({
      shader: CROSS_ENTROPY,
      entry: 'check',
      uniforms: uniforms(),
      bindings: [null, tv.buffer, null, null, gpu.statusBuffer],
      workgroups: [1],
    });
  }
  // Rows of logits are contiguous: only their length decides.
  const wide = workgroupPerLine(classes, rows, true);
  gpu.dispatch({
    shader: CROSS_ENTROPY,
    uniforms: uniforms(),
    bindings: [lv.buffer, tv.buffer, gv?.buffer ?? null, y.buffer],
    ...(wide ? { entry: `${entry}_wide`, workgroups: lineGroups(rows) } : { entry, threads: rows }),
  });
  return [y.finish()];
}

const crossEntropy: GpuKernel<CrossEntropyAttrs> = (inputs, attrs, [out], gpu) =>
  run('forward', gpu, inputs, attrs, out);

const crossEntropyGrad: GpuKernel<CrossEntropyAttrs> = (inputs, attrs, [out], gpu) =>
  run('backward', gpu, inputs, attrs, out);

export const gpuKernels: GpuKernelTable = { crossEntropy, crossEntropyGrad };

export function gpuVariants(): ShaderVariant[] {
  return [
    { shader: CROSS_ENTROPY, entry: 'forward' },
    { shader: CROSS_ENTROPY, entry: 'forward_wide' },
    { shader: CROSS_ENTROPY, entry: 'backward' },
    { shader: CROSS_ENTROPY, entry: 'backward_wide' },
    { shader: CROSS_ENTROPY, entry: 'check' },
  ];
}
