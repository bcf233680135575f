/**
 * Adapter layers, all in one place, as mlx-lm's tuner defines them (formats.md §2):
 *
 *   LoRALinear     y = base(x) + scale·(dropout(x)·A)·B          A [in, r] ~ U(±1/√in), B [r, out] = 0
 *   DoRALinear     y = m / stopGradient(‖W + scale·BᵀAᵀ‖_row) · (x·Wᵀ + scale·(dropout(x)·A)·B) + bias
 *   LoRAEmbedding  y = E[ids] + scale·dropout(A[ids]·B)           A [vocab, r] ~ U(±1/√vocab), B [r, dim] = 0
 *
 * `scale` is mlx-lm's plain multiplier (default 20; PEFT's α/r). Dropout touches the adapter branch only and
 * only while `training` is set. The base layer is never changed and never trained: its tensors are frozen in
 * the parameter tree, so the tape computes no gradient for them, and a quantized base (dequantized on the fly
 * by its own forward pass) works as it is. `fuse()` folds an adapter into a plain float layer.
 * @module
 */

import {
  add,
  contiguous,
  div,
  embedding,
  linear,
  matmul,
  mul,
  reshape,
  sqrt,
  square,
  stopGradient,
  sum,
  transpose,
} from '../../kernels/ops.js';
import { randomUniform, zeros } from '../creation.js';
import { DTypeError, ShapeError } from '../errors.js';
import { defaultRng, type Rng } from '../random.js';
import { formatShape } from '../shape.js';
import { type Tensor, tidy } from '../tensor.js';
import { dropout } from './dropout.js';
import { DenseEmbedding, DenseLinear, type Linear, type TokenEmbedding } from './linear.js';
import { fieldEntry, type HasParameters, hasParameters, type ParameterEntry, readOnlyEntry } from './parameters.js';

/** mlx-lm's `lora_parameters` (keys aside): rank r, the scale multiplying the update, dropout on its input. */
export interface LoraParameters {
  readonly rank: number;
  readonly scale: number;
  readonly dropout: number;
}

export const DEFAULT_LORA_PARAMETERS: LoraParameters = { rank: 8, scale: 20, dropout: 0 };

/** A layer whose float weight can be read as [out, in] even when stored otherwise (a quantized Linear). */
export interface Dequantizable {
  /** The weight as float [out, in]: a new tensor the caller owns, or the stored one (never dispose that). */
  dequantizedWeight(): Tensor;
}

/** The float [out, in] weight of a Linear: its `weight` when dense, else its dequantized weight. */
export function floatWeight(layer: Linear): Tensor {
  const w = layer.parameters().weight;
  if (w && w.rank === 2 && w.shape[0] === layer.outFeatures && w.shape[1] === layer.inFeatures) return w;
  if (typeof (layer as Partial<Dequantizable>).dequantizedWeight === 'function') {
    return (layer as unknown as Dequantizable).dequantizedWeight();
  }
  throw new DTypeError(
    `this ${layer.constructor.name} has no float weight [${layer.outFeatures}, ${layer.inFeatures}] and cannot dequantize one`,
  );
}

function checkParameters(where: string, p: LoraParameters): void {
  if (!Number.isInteger(p.rank) || p.rank < 1) throw new ShapeError(`${where}: rank ${p.rank} must be an integer >= 1`);
  if (!Number.isFinite(p.scale)) throw new ShapeError(`${where}: scale ${p.scale} must be a finite number`);
  if (!(p.dropout >= 0 && p.dropout < 1)) throw new ShapeError(`${where}: dropout ${p.dropout} must be in [0, 1)`);
}

function checkShape(where: string, name: string, t: Tensor, shape: readonly number[]): void {
  if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`${where}: ${name} is ${formatShape(t.shape)}, expected ${formatShape(shape)}`);
  }
}

/** The base layer's tensors as entries (read-only when the base cannot replace them: a quantized layer). */
function baseEntries(base: Linear | TokenEmbedding): Record<string, ParameterEntry> {
  if (hasParameters(base)) return { ...base.parameterEntries() };
  return Object.fromEntries(
    Object.entries(base.parameters()).map(([k, t]) => [
      k,
      readOnlyEntry(k, () => t, `the ${base.constructor.name} base is not float; train an adapter on it`),
    ]),
  );
}

/** What every adapter layer has: its settings, the training switch, and fusing. */
export interface AdapterLayer {
  readonly kind: 'lora' | 'dora' | 'lora-embedding';
  readonly settings: LoraParameters;
  /** Dropout is applied only while true. */
  training: boolean;
}

/** Is `x` one of this module's adapter layers? */
export function isAdapterLayer(x: unknown): x is AdapterLayer & (Linear | TokenEmbedding) {
  return x instanceof LoRALinear || x instanceof DoRALinear || x instanceof LoRAEmbedding;
}

/** x [..., in] → the rank-r branch scale·(dropout(x)·A)·B as [..., out]. */
function lowRank(x: Tensor, a: Tensor, b: Tensor, s: LoraParameters, training: boolean): Tensor {
  const inF = a.shape[0];
  const x2 = x.rank === 2 ? x : reshape(x, [-1, inF]);
  const xd = training && s.dropout > 0 ? dropout(x2, s.dropout) : x2;
  // Scaling the [N, r] product costs r/out of scaling the result.
  const z = matmul(mul(matmul(xd, a), s.scale), b);
  return x.rank === 2 ? z : reshape(z, [...x.shape.slice(0, -1), b.shape[1]]);
}

export class LoRALinear implements Linear, HasParameters, AdapterLayer {
  readonly kind = 'lora';
  training = false;
  loraA: Tensor;
  loraB: Tensor;

  /** Wraps `base`; without `weights`, A is drawn from `rng` (default: the global generator) and B is zero. */
  constructor(
    readonly base: Linear,
    readonly settings: LoraParameters = DEFAULT_LORA_PARAMETERS,
    weights?: { readonly loraA: Tensor; readonly loraB: Tensor },
    rng: Rng = defaultRng(),
  ) {
    checkParameters('LoRALinear', settings);
    const { inFeatures: inF, outFeatures: outF } = base;
    if (weights) {
      checkShape('LoRALinear', 'lora_a', weights.loraA, [inF, settings.rank]);
      checkShape('LoRALinear', 'lora_b', weights.loraB, [settings.rank, outF]);
      this.loraA = weights.loraA;
      this.loraB = weights.loraB;
    } else {
      const bound = 1 / Math.sqrt(inF);
      this.loraA = randomUniform([inF, settings.rank], -bound, bound, { rng });
      this.loraB = zeros([settings.rank, outF]);
    }
  }

  get inFeatures(): number {
    return this.base.inFeatures;
  }

  get outFeatures(): number {
    return this.base.outFeatures;
  }

  forward(x: Tensor): Tensor {
    return tidy(() => add(this.base.forward(x), lowRank(x, this.loraA, this.loraB, this.settings, this.training)));
  }

  parameters(): Readonly<Record<string, Tensor>> {
    return { ...this.base.parameters(), lora_a: this.loraA, lora_b: this.loraB };
  }

  parameterEntries(): Readonly<Record<string, ParameterEntry>> {
    return { ...baseEntries(this.base), lora_a: fieldEntry(this, 'loraA'), lora_b: fieldEntry(this, 'loraB') };
  }

  /** The update W' − W = scale·Bᵀ·Aᵀ as [out, in]. */
  delta(): Tensor {
    return tidy(() => mul(matmul(this.loraB, this.loraA, { transposeA: true, transposeB: true }), this.settings.scale));
  }

  /** A float Linear with W' = W + scale·Bᵀ·Aᵀ (bias kept). A quantized base comes back dequantized. */
  fuse(): DenseLinear {
    // Built outside tidy: a scope keeps tensors returned in arrays and plain objects, not inside a class.
    const [w, b] = tidy(() => {
      const bias = this.base.parameters().bias;
      return [add(floatWeight(this.base), this.delta()), bias && contiguous(bias)];
    });
    return new DenseLinear(w, b);
  }

  dispose(): void {
    this.base.dispose();
    this.loraA.dispose();
    this.loraB.dispose();
  }
}

export class DoRALinear implements Linear, HasParameters, AdapterLayer {
  readonly kind = 'dora';
  training = false;
  loraA: Tensor;
  loraB: Tensor;
  /** The learned magnitude of each output row, [out]; starts at ‖W‖ per row. */
  m: Tensor;

  constructor(
    readonly base: Linear,
    readonly settings: LoraParameters = DEFAULT_LORA_PARAMETERS,
    weights?: { readonly loraA: Tensor; readonly loraB: Tensor; readonly m: Tensor },
    rng: Rng = defaultRng(),
  ) {
    checkParameters('DoRALinear', settings);
    const { inFeatures: inF, outFeatures: outF } = base;
    if (weights) {
      checkShape('DoRALinear', 'lora_a', weights.loraA, [inF, settings.rank]);
      checkShape('DoRALinear', 'lora_b', weights.loraB, [settings.rank, outF]);
      checkShape('DoRALinear', 'm', weights.m, [outF]);
      this.loraA = weights.loraA;
      this.loraB = weights.loraB;
      this.m = weights.m;
    } else {
      const bound = 1 / Math.sqrt(inF);
      this.loraA = randomUniform([inF, settings.rank], -bound, bound, { rng });
      this.loraB = zeros([settings.rank, outF]);
      this.m = tidy(() => rowNorms(floatWeight(base)));
    }
  }

  get inFeatures(): number {
    return this.base.inFeatures;
  }

  get outFeatures(): number {
    return this.base.outFeatures;
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const w = floatWeight(this.base);
      const bias = this.base.parameters().bias;
      const out = add(linear(x, w), lowRank(x, this.loraA, this.loraB, this.settings, this.training));
      // The norm is a constant to the gradient (the DoRA paper's choice, and mlx-lm's and PEFT's).
      const denom = stopGradient(rowNorms(add(w, this.#delta())));
      const y = mul(out, div(this.m, denom));
      return bias ? add(y, bias) : y;
    });
  }

  parameters(): Readonly<Record<string, Tensor>> {
    return { ...this.base.parameters(), lora_a: this.loraA, lora_b: this.loraB, m: this.m };
  }

  parameterEntries(): Readonly<Record<string, ParameterEntry>> {
    return {
      ...baseEntries(this.base),
      lora_a: fieldEntry(this, 'loraA'),
      lora_b: fieldEntry(this, 'loraB'),
      m: fieldEntry(this, 'm'),
    };
  }

  #delta(): Tensor {
    return mul(matmul(this.loraB, this.loraA, { transposeA: true, transposeB: true }), this.settings.scale);
  }

  /** W'' = (m / ‖W'‖_row)·W' with W' = W + scale·Bᵀ·Aᵀ (bias kept): mlx-lm's DoRA fuse. */
  fuse(): DenseLinear {
    const [w, b] = tidy(() => {
      const adapted = add(floatWeight(this.base), this.#delta());
      const bias = this.base.parameters().bias;
      return [mul(adapted, reshape(div(this.m, rowNorms(adapted)), [-1, 1])), bias && contiguous(bias)];
    });
    return new DenseLinear(w, b);
  }

  dispose(): void {
    this.base.dispose();
    this.loraA.dispose();
    this.loraB.dispose();
    this.m.dispose();
  }
}

export class LoRAEmbedding implements TokenEmbedding, HasParameters, AdapterLayer {
  readonly kind = 'lora-embedding';
  training = false;
  loraA: Tensor;
  loraB: Tensor;

  constructor(
    readonly base: TokenEmbedding,
    readonly settings: LoraParameters = DEFAULT_LORA_PARAMETERS,
    weights?: { readonly loraA: Tensor; readonly loraB: Tensor },
    rng: Rng = defaultRng(),
  ) {
    checkParameters('LoRAEmbedding', settings);
    if (weights) {
      checkShape('LoRAEmbedding', 'lora_a', weights.loraA, [base.vocabSize, settings.rank]);
      checkShape('LoRAEmbedding', 'lora_b', weights.loraB, [settings.rank, base.dim]);
      this.loraA = weights.loraA;
      this.loraB = weights.loraB;
    } else {
      const bound = 1 / Math.sqrt(base.vocabSize);
      this.loraA = randomUniform([base.vocabSize, settings.rank], -bound, bound, { rng });
      this.loraB = zeros([settings.rank, base.dim]);
    }
  }

  get vocabSize(): number {
    return this.base.vocabSize;
  }

  get dim(): number {
    return this.base.dim;
  }

  forward(ids: Tensor): Tensor {
    return tidy(() => {
      const z = matmul(embedding(this.loraA, ids), this.loraB);
      const zd = this.training && this.settings.dropout > 0 ? dropout(z, this.settings.dropout) : z;
      return add(this.base.forward(ids), mul(zd, this.settings.scale));
    });
  }

  /** The tied output head through the adapted table (see {@link LoRATiedHead}). */
  asLinear(): Linear {
    return new LoRATiedHead(this);
  }

  parameters(): Readonly<Record<string, Tensor>> {
    return { ...this.base.parameters(), lora_a: this.loraA, lora_b: this.loraB };
  }

  parameterEntries(): Readonly<Record<string, ParameterEntry>> {
    return { ...baseEntries(this.base), lora_a: fieldEntry(this, 'loraA'), lora_b: fieldEntry(this, 'loraB') };
  }

  /** A float embedding with E' = E + scale·A·B. */
  fuse(): DenseEmbedding {
    const table = this.base.parameters().weight;
    if (table?.rank !== 2) throw new DTypeError('LoRAEmbedding.fuse: the base embedding has no float table');
    return new DenseEmbedding(tidy(() => add(table, mul(matmul(this.loraA, this.loraB), this.settings.scale))));
  }

  dispose(): void {
    this.base.dispose();
    this.loraA.dispose();
    this.loraB.dispose();
  }
}

/**
 * A head tied to a LoRA embedding: x·Eᵀ + scale·(dropout(x)·Bᵀ)·Aᵀ, mlx-lm's LoRAEmbedding.as_linear. It owns
 * nothing and lists no parameters: they are the embedding's.
 */
export class LoRATiedHead implements Linear {
  readonly #head: Linear;

  constructor(readonly embedding: LoRAEmbedding) {
    this.#head = embedding.base.asLinear();
  }

  get inFeatures(): number {
    return this.#head.inFeatures;
  }

  get outFeatures(): number {
    return this.#head.outFeatures;
  }

  forward(x: Tensor): Tensor {
    const e = this.embedding;
    const s = e.settings;
    return tidy(() => {
      const xd = e.training && s.dropout > 0 ? dropout(x, s.dropout) : x;
      const z = matmul(mul(matmul(xd, transpose(e.loraB)), s.scale), transpose(e.loraA));
      return add(this.#head.forward(x), z);
    });
  }

  parameters(): Readonly<Record<string, Tensor>> {
    return {};
  }

  dispose(): void {}
}

/** ‖row‖₂ of a matrix [out, in] → [out]. */
function rowNorms(w: Tensor): Tensor {
  return sqrt(sum(square(w), 1));
}
