/**
 * Inverted dropout: each element kept with probability 1 − p and scaled by 1/(1 − p), so the expectation is
 * unchanged and evaluation needs no rescaling. The mask is drawn on the host from the default generator
 * (core/random.ts), so a seeded run repeats, a checkpoint can save the generator, and checkpoint() can replay
 * the same mask when it recomputes a block.
 * @module
 */

import { mul } from '../../kernels/ops.js';
import { fromHost, toHost } from '../creation.js';
import { ShapeError } from '../errors.js';
import { defaultRng, type Rng } from '../random.js';
import { type Tensor, tidy } from '../tensor.js';

export function dropout(x: Tensor, p: number, rng: Rng = defaultRng()): Tensor {
  if (!(p >= 0 && p < 1)) throw new ShapeError(`dropout: probability ${p} must be in [0, 1)`);
  if (p === 0) return x;
  const keep = 1 - p;
  const mask = new Float64Array(x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() < keep ? 1 / keep : 0;
  return tidy(() => mul(x, fromHost(toHost(mask, x.dtype), x.shape, x.dtype)));
}
