/**
 * The source taps of a resize, per axis: which input indices (i0, i1) each output index reads
 * and with what weight. The single definition every backend's resize uses (the reference,
 * wasm and WebGPU build their tables from it), so their sampling cannot drift apart.
 */
import type { ResizeAttrs } from './image.js';

export interface Tap {
  readonly i0: number;
  readonly i1: number;
  /** Weight of i1; i0 gets 1 − w1. */
  readonly w1: number;
}

/** Source index for nearest: exact integer arithmetic (see the table in image.ts). */
function nearestSource(d: number, inSize: number, outSize: number, coordinate: ResizeAttrs['coordinate']): number {
  let s: number;
  if (coordinate === 'asymmetric') s = Math.floor((d * inSize) / outSize);
  else if (coordinate === 'halfPixel') s = Math.floor(((2 * d + 1) * inSize) / (2 * outSize));
  // round(d·(in−1)/(out−1)) with halves rounding up, as floor((2·d·(in−1) + (out−1)) / (2·(out−1)))
  else s = outSize > 1 ? Math.floor((2 * d * (inSize - 1) + (outSize - 1)) / (2 * (outSize - 1))) : 0;
  return Math.min(s, inSize - 1);
}

function bilinearSource(d: number, inSize: number, outSize: number, coordinate: ResizeAttrs['coordinate']): number {
  if (coordinate === 'asymmetric') return (d * inSize) / outSize;
  if (coordinate === 'halfPixel') return Math.max(((d + 0.5) * inSize) / outSize - 0.5, 0);
  return outSize > 1 ? (d * (inSize - 1)) / (outSize - 1) : 0;
}

export function resizeTaps(inSize: number, outSize: number, { mode, coordinate }: ResizeAttrs): Tap[] {
  return Array.from({ length: outSize }, (_, d) => {
    if (mode === 'nearest') {
      const s = nearestSource(d, inSize, outSize, coordinate);
      return { i0: s, i1: s, w1: 0 };
    }
    const src = bilinearSource(d, inSize, outSize, coordinate);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    return { i0, i1: Math.min(i0 + 1, inSize - 1), w1: src - i0 };
  });
}
