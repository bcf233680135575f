/**
 * WebGPU resize and its gradient (resize.wgsl). The per-axis tap tables are built on the
 * host with the reference's formulas and uploaded with the op; the gradient reads them
 * inverted (per input index: the outputs that read it), so it gathers instead of scattering.
 * Both run on a grid of (column, row, plane), each axis capped at MAX_GROUPS workgroups.
 */
import type { GpuKernel, GpuKernelTable, WebGPUBackend, Wide } from '../../backends/webgpu/backend.js';
import { type ShaderVariant, wgsl } from '../../backends/webgpu/shaders.js';
import { Uniforms } from '../../backends/webgpu/uniforms.js';
import type { ResizeAttrs, ResizeGradAttrs } from './image.js';
import { resizeTaps as axisTaps, type Tap } from './taps.js';

const RESIZE = wgsl(new URL('./resize.wgsl', import.meta.url));

/** resize.wgsl's workgroup: 32 columns (a coalesced row segment) by 8 rows. */
const WG_X = 32;
const WG_Y = 8;

/** Workgroups per grid dimension (WebGPU's default limit); the shader loops over the rest. */
const MAX_GROUPS = 65535;

/** Per input index, the (output index, weight) pairs that read it, weight-0 taps left out. */
function inverse(taps: readonly Tap[], inSize: number): [number, number][][] {
  const lists: [number, number][][] = Array.from({ length: inSize }, () => []);
  taps.forEach(({ i0, i1, w1 }, d) => {
    if (1 - w1 !== 0) lists[i0].push([d, 1 - w1]);
    if (w1 !== 0) lists[i1].push([d, w1]);
  });
  return lists;
}

/** [row taps][col taps][row offsets][col offsets][row pairs][col pairs], with section starts. */
function tables(h: number, w: number, attrs: ResizeAttrs) {
  const rows = axisTaps(h, attrs.size[0], attrs);
  const cols = axisTaps(w, attrs.size[1], attrs);
  const forward = [...rows, ...cols].flatMap((t) => [t.i0, t.i1, t.w1]);
  const rowLists = inverse(rows, h);
  const colLists = inverse(cols, w);
  const rowCsrAt = forward.length;
  const colCsrAt = rowCsrAt + h + 1;
  let at = colCsrAt + w + 1;
  const offsets = (lists: [number, number][][]) => {
    const out = [at];
    for (const l of lists) {
      at += 2 * l.length;
      out.push(at);
    }
    return out;
  };
  const rowOffsets = offsets(rowLists);
  const colOffsets = offsets(colLists);
  const data = Float32Array.from([...forward, ...rowOffsets, ...colOffsets, ...rowLists.flat(2), ...colLists.flat(2)]);
  return { data, colsAt: 3 * rows.length, rowCsrAt, colCsrAt };
}

function run(
  gpu: WebGPUBackend,
  entry: 'resize' | 'resize_grad',
  inShape: readonly number[],
  attrs: ResizeAttrs,
  x: Wide,
  y: Wide,
) {
  const [n, c, h, w] = inShape;
  const [oh, ow] = attrs.size;
  const t = tables(h, w, attrs);
  // The forward walks output pixels, the gradient input pixels.
  const [rows, cols] = entry === 'resize' ? [oh, ow] : [h, w];
  const groups = (count: number, per: number) => Math.min(Math.ceil(count / per), MAX_GROUPS);
  gpu.dispatch({
    shader: RESIZE,
    entry,
    uniforms: new Uniforms().u32(n * c, h, w, oh, ow, 0).u32(t.colsAt, t.rowCsrAt, t.colCsrAt, 0, 0, 0),
    bindings: [x.buffer, gpu.uploadTemp(t.data), y.buffer],
    workgroups: [groups(cols, WG_X), groups(rows, WG_Y), groups(n * c, 1)],
  });
}

const resize: GpuKernel<ResizeAttrs> = ([x], attrs, [out], gpu) => {
  const y = gpu.output(out);
  run(gpu, 'resize', x.shape, attrs, gpu.wide(x), y);
  return [y.finish()];
};

const resizeGrad: GpuKernel<ResizeGradAttrs> = ([g], attrs, [out], gpu) => {
  const y = gpu.output(out);
  run(gpu, 'resize_grad', attrs.inputShape, attrs, gpu.wide(g), y);
  return [y.finish()];
};

export const gpuKernels: GpuKernelTable = { resize, resizeGrad };

export function gpuVariants(): ShaderVariant[] {
  return [
    { shader: RESIZE, entry: 'resize' },
    { shader: RESIZE, entry: 'resize_grad' },
  ];
}
