/**
 * Rotary position embedding for a Llama config: the inverse frequencies of each `rope_scaling` type as
 * transformers' modeling_rope_utils.py computes them, and their application to q or k [B, heads, T, d].
 *
 * Plain, linear and dynamic RoPE are one frequency base (and a position scale) away from the core `rope` op,
 * which runs them. llama3 and yarn change each frequency separately, which that op cannot express yet (MLX's
 * `fast.rope` takes a `freqs` array for this), so they rotate with cos/sin tables built here and elementwise
 * ops; yarn's attention factor scales those tables as transformers scales its cos and sin.
 * @module
 */
import * as T from '../../index.js';
import type { LlamaConfig, RopeScaling } from './config.js';

/** θ_j = base^(-2j/d), j = 0 … d/2 - 1 (transformers computes these in float32; here in float64). */
function baseFrequencies(base: number, dims: number): Float64Array {
  return Float64Array.from({ length: dims / 2 }, (_, j) => base ** (-(2 * j) / dims));
}

/**
 * transformers' dynamic NTK base for a sequence of `seqLen` positions: unchanged up to
 * max_position_embeddings, then θ·(factor·L/max − (factor − 1))^(d/(d−2)).
 */
export function dynamicBase(theta: number, factor: number, dims: number, maxPositions: number, seqLen: number): number {
  if (seqLen <= maxPositions) return theta;
  return theta * ((factor * seqLen) / maxPositions - (factor - 1)) ** (dims / (dims - 2));
}

/** llama3: long wavelengths divided by factor, short ones kept, a smooth blend between. */
function llama3Frequencies(inv: Float64Array, s: Extract<RopeScaling, { type: 'llama3' }>): Float64Array {
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / s.factor;
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return ((1 - smooth) * f) / s.factor + smooth * f;
  });
}

/** yarn: interpolated (÷factor) frequencies below the correction range, extrapolated above, a ramp between. */
function yarnFrequencies(
  theta: number,
  dims: number,
  inv: Float64Array,
  s: Extract<RopeScaling, { type: 'yarn' }>,
): Float64Array {
  const correctionDim = (rotations: number) =>
    (dims * Math.log(s.originalMaxPositions / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
  let low = correctionDim(s.betaFast);
  let high = correctionDim(s.betaSlow);
  if (s.truncate) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, dims - 1);
  if (low === high) high += 0.001;
  return inv.map((f, j) => {
    const ramp = Math.min(1, Math.max(0, (j - low) / (high - low)));
    const extrapolation = 1 - ramp;
    return (f / s.factor) * (1 - extrapolation) + f * extrapolation;
  });
}

/**
 * The inverse frequencies and cos/sin scale for a config at a sequence length (only dynamic RoPE depends on
 * it): what transformers' ROPE_INIT_FUNCTIONS return.
 */
export function ropeFrequencies(config: LlamaConfig, seqLen = 0): { invFreq: Float64Array; attentionFactor: number } {
  const dims = config.headDim;
  const s = config.ropeScaling;
  const theta = config.ropeTheta;
  if (s?.type === 'dynamic') {
    const base = dynamicBase(theta, s.factor, dims, config.maxPositions, seqLen);
    return { invFreq: baseFrequencies(base, dims), attentionFactor: 1 };
  }
  const inv = baseFrequencies(theta, dims);
  switch (s?.type) {
    case undefined:
      return { invFreq: inv, attentionFactor: 1 };
    case 'linear':
      return { invFreq: inv.map((f) => f / s.factor), attentionFactor: 1 };
    case 'llama3':
      return { invFreq: llama3Frequencies(inv, s), attentionFactor: 1 };
    case 'yarn':
      return { invFreq: yarnFrequencies(theta, dims, inv, s), attentionFactor: s.attentionFactor };
  }
}

/** Applies a config's RoPE to q or k. */
export class RotaryEmbedding {
  readonly #dims: number;
  readonly #traditional: boolean;
  /** llama3/yarn: fixed frequencies rotated through tables; null: the core rope op. */
  readonly #tableFreqs: { invFreq: Float64Array; attentionFactor: number } | null;

  constructor(private readonly config: LlamaConfig) {
    this.#dims = config.headDim;
    this.#traditional = config.ropeTraditional;
    const type = config.ropeScaling?.type;
    this.#tableFreqs = type === 'llama3' || type === 'yarn' ? ropeFrequencies(config) : null;
  }

  /** x [B, heads, T, d] whose rows sit at positions offset … offset + T − 1. */
  apply(x: T.Tensor, offset: number): T.Tensor {
    if (this.#tableFreqs) return this.#applyTables(x, offset, this.#tableFreqs);
    const { ropeTheta, ropeScaling: s, maxPositions } = this.config;
    const seqLen = offset + x.shape[2];
    const base = s?.type === 'dynamic' ? dynamicBase(ropeTheta, s.factor, this.#dims, maxPositions, seqLen) : ropeTheta;
    const scale = s?.type === 'linear' ? 1 / s.factor : 1;
    return T.rope(x, { offset, base, scale, traditional: this.#traditional, dims: this.#dims });
  }

  /** x·cos + rotate(x)·sin with per-frequency tables; the rotated pairs follow the layout. */
  #applyTables(x: T.Tensor, offset: number, { invFreq, attentionFactor }: ReturnType<typeof ropeFrequencies>) {
    const len = x.shape[2];
    const half = this.#dims / 2;
    const cos = new Float32Array(len * half);
    const sin = new Float32Array(len * half);
    for (let t = 0; t < len; t++) {
      for (let j = 0; j < half; j++) {
        const angle = (offset + t) * invFreq[j];
        cos[t * half + j] = Math.cos(angle) * attentionFactor;
        sin[t * half + j] = Math.sin(angle) * attentionFactor;
      }
    }
    return T.tidy(() => {
      const c = T.tensor(cos, [len, half], x.dtype);
      const s = T.tensor(sin, [len, half], x.dtype);
      if (this.#traditional) {
        const pairs = T.reshape(x, [...x.shape.slice(0, 3), half, 2]);
        const a = T.slice(pairs, [null, null, null, null, 0]);
        const b = T.slice(pairs, [null, null, null, null, 1]);
        const ra = T.sub(T.mul(a, c), T.mul(b, s));
        const rb = T.add(T.mul(a, s), T.mul(b, c));
        return T.reshape(T.stack([ra, rb], -1), x.shape);
      }
      const a = T.slice(x, [null, null, null, { end: half }]);
      const b = T.slice(x, [null, null, null, { start: half }]);
      return T.concat([T.sub(T.mul(a, c), T.mul(b, s)), T.add(T.mul(b, c), T.mul(a, s))], -1);
    });
  }
}
