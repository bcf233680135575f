/**
 * Index arithmetic shared by kernels: broadcast strides with dimensions merged where
 * every operand allows it, so most kernels walk rank 1 and none exceeds MAX_RANK; the shaders
 * walk them with wgsl/index_walk.wgsl.
 */
import { broadcastStrides } from '../../core/shape.js';
import { NeedsHost } from './storage.js';
import { MAX_RANK } from './uniforms.js';

export interface Walk {
  readonly shape: number[];
  /** One stride list per operand, aligned with shape. */
  readonly strides: number[][];
}

/**
 * Drop size-1 dimensions and merge neighbours that are contiguous for every operand
 * (stride[i] === stride[i+1] * shape[i+1]). An all-ones shape becomes rank 0.
 */
export function collapse(shape: readonly number[], strides: readonly (readonly number[])[]): Walk {
  const keep = shape.map((_, i) => i).filter((i) => shape[i] !== 1);
  const outShape: number[] = [];
  const out: number[][] = strides.map(() => []);
  for (const i of keep) {
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => out[k][last] === s[i] * shape[i])) {
      outShape[last] *= shape[i];
      strides.forEach((s, k) => {
        out[k][last] = s[i];
      });
    } else {
      outShape.push(shape[i]);
      strides.forEach((s, k) => {
        out[k].push(s[i]);
      });
    }
  }
  if (outShape.length > MAX_RANK) {
    throw new NeedsHost(`rank ${outShape.length} after merging dimensions exceeds ${MAX_RANK}`);
  }
  return { shape: outShape, strides: out };
}

/** How each operand (row-major) is read when broadcast to outShape. */
export function broadcastWalk(outShape: readonly number[], shapes: readonly (readonly number[])[]): Walk {
  return collapse(
    outShape,
    shapes.map((s) => broadcastStrides(s, outShape)),
  );
}
