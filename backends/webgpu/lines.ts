/**
 * How row kernels (norms, softmax, reductions, argmax, cross-entropy) map lines onto a GPU: a
 * workgroup of 256 per line for long lines (tree-combined in workgroup memory), a thread per
 * line otherwise. One thread per line left an H100 with 32 busy threads on a style network's
 * instance norms; a workgroup per short line wastes most of it, and CPU-emulated adapters run
 * barriers 10-20× slower, so short lines keep the barrier-free kernel.
 */
import { wgsl } from './shaders.js';

/** The workgroup folds (WG, larger, workgroup_fold) the wide entry points `// @include`. */
export const WORKGROUP_WGSL = wgsl(new URL('./wgsl/workgroup.wgsl', import.meta.url));

/** From this many elements on, a line gets a workgroup of 256 threads rather than one. */
export const WIDE_ROW = 256;

/**
 * Lines from which a thread each already keeps a large GPU busy (an H100 holds ~270k threads
 * in flight). It matters only for strided lines: there neighbouring threads read neighbouring
 * words (one line each), while a workgroup per line reads one word per cache line. A guess
 * from that arithmetic, not a measurement.
 */
const MANY_LINES = 1 << 16;

/** Workgroups per grid dimension (WebGPU's default limit); more lines spill into y. */
const MAX_GROUPS_X = 65535;

/** Whether `lines` lines of `length` elements each (contiguous or strided) get a workgroup each. */
export function workgroupPerLine(length: number, lines: number, contiguous: boolean): boolean {
  return length >= WIDE_ROW && lines > 0 && (contiguous || lines < MANY_LINES);
}

/** A workgroup per line: x first, overflow in y (the wide entries read wid.x + wid.y * nwg.x). */
export function lineGroups(lines: number): [number, number] {
  const x = Math.min(lines, MAX_GROUPS_X);
  return [x, Math.ceil(lines / x)];
}
