/**
 * Layers as interfaces, so that their storage can change under the model code: a dense float Linear today,
 * a quantized one (MLX affine: packed uint32 weights with per-group scales and biases) or a LoRA-wrapped one
 * later, each a drop-in for the others. Model code only calls `forward`.
 * @module
 */

import { embedding, linear } from '../../kernels/ops.js';
import { ShapeError } from '../errors.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { fieldEntry, type HasParameters, type ParameterEntry } from './parameters.js';

/** y = x·Wᵀ (+ b): a fully connected layer, x [..., inFeatures] → [..., outFeatures]. */
export interface Linear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  forward(x: Tensor): Tensor;
  /**
   * The tensors the layer holds, keyed by the suffix they take in a safetensors file after the layer's path
   * (`weight`, `bias`; a quantized layer adds `scales` and `biases`, a LoRA layer `lora_a`, `lora_b`).
   */
  parameters(): Readonly<Record<string, Tensor>>;
  /** Frees what the layer owns (a tied head owns nothing: the embedding does). */
  dispose(): void;
}

/** A Linear over a float weight [out, in] and an optional bias [out]; both replaceable (training). */
export class DenseLinear implements Linear, HasParameters {
  readonly inFeatures: number;
  readonly outFeatures: number;

  /** `owned` false: the weight belongs to another layer; dispose leaves it. */
  constructor(
    public weight: Tensor,
    public bias?: Tensor,
    private readonly owned = true,
  ) {
    if (weight.rank !== 2)
      throw new ShapeError(`DenseLinear: weight must be [out, in], got ${formatShape(weight.shape)}`);
    [this.outFeatures, this.inFeatures] = weight.shape;
    if (bias && (bias.rank !== 1 || bias.shape[0] !== this.outFeatures)) {
      throw new ShapeError(
        `DenseLinear: bias must be [${this.outFeatures}] for weight ${formatShape(weight.shape)}, got ${formatShape(bias.shape)}`,
      );
    }
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  parameters(): Readonly<Record<string, Tensor>> {
    return this.bias ? { weight: this.weight, bias: this.bias } : { weight: this.weight };
  }

  parameterEntries(): Readonly<Record<string, ParameterEntry>> {
    const weight = fieldEntry(this, 'weight');
    return this.bias ? { weight, bias: fieldEntry(this, 'bias') } : { weight };
  }

  dispose(): void {
    if (this.owned) this.weight.dispose();
    this.bias?.dispose();
  }
}

/** Token embedding: ids of any shape → [..., dim] rows. */
export interface TokenEmbedding {
  readonly vocabSize: number;
  readonly dim: number;
  forward(ids: Tensor): Tensor;
  /** The same table as an output head (tied embeddings): logits = x·Eᵀ. Owned by the embedding. */
  asLinear(): Linear;
  parameters(): Readonly<Record<string, Tensor>>;
  dispose(): void;
}

/** An embedding over a float table [vocab, dim] (replaceable: training). */
export class DenseEmbedding implements TokenEmbedding, HasParameters {
  readonly vocabSize: number;
  readonly dim: number;

  constructor(public weight: Tensor) {
    if (weight.rank !== 2) {
      throw new ShapeError(`DenseEmbedding: table must be [vocab, dim], got ${formatShape(weight.shape)}`);
    }
    [this.vocabSize, this.dim] = weight.shape;
  }

  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }

  asLinear(): Linear {
    return new TiedHead(this);
  }

  parameters(): Readonly<Record<string, Tensor>> {
    return { weight: this.weight };
  }

  parameterEntries(): Readonly<Record<string, ParameterEntry>> {
    return { weight: fieldEntry(this, 'weight') };
  }

  dispose(): void {
    this.weight.dispose();
  }
}

/**
 * An output head tied to an embedding: logits = x·Eᵀ with the table the embedding holds at each call (so a
 * trained table is the head's too). It owns nothing and lists no parameters of its own: they are the
 * embedding's, under the embedding's name.
 */
export class TiedHead implements Linear {
  constructor(readonly table: { readonly weight: Tensor; readonly vocabSize: number; readonly dim: number }) {}

  get inFeatures(): number {
    return this.table.dim;
  }

  get outFeatures(): number {
    return this.table.vocabSize;
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.table.weight);
  }

  parameters(): Readonly<Record<string, Tensor>> {
    return {};
  }

  dispose(): void {}
}
