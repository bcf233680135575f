/**
 * CLIPTextModel (transformers), the Stable Diffusion text encoder: token + position embeddings, pre-norm
 * transformer layers with causal self-attention (q/k/v/out projections with biases; MLP fc1 → quick_gelu
 * x·σ(1.702x) or exact GELU → fc2), then `final_layer_norm`. The output is `last_hidden_state`
 * [B, 77, hidden], what SD 1.x and 2.x (whose exported encoders already drop the last OpenCLIP layer) condition
 * on. No attention mask: padding tokens attend causally like any other, as the diffusers pipelines run it.
 * @module
 */

import type { Linear } from '../../core/nn/linear.js';
import * as T from '../../index.js';
import { multiHeadAttention } from './attention.js';
import type { TextEncoderConfig } from './config.js';
import { denseLinear, LayerNorm } from './layers.js';
import type { Weights } from './weights.js';

const P = 'text_model';

class EncoderLayer {
  readonly #norm1: LayerNorm;
  readonly #q: Linear;
  readonly #k: Linear;
  readonly #v: Linear;
  readonly #out: Linear;
  readonly #norm2: LayerNorm;
  readonly #fc1: Linear;
  readonly #fc2: Linear;

  constructor(
    w: Weights,
    prefix: string,
    readonly config: TextEncoderConfig,
  ) {
    const { hiddenSize: d, intermediateSize: ff, eps } = config;
    this.#norm1 = new LayerNorm(w, `${prefix}.layer_norm1`, d, eps);
    this.#q = denseLinear(w, `${prefix}.self_attn.q_proj`, d, d);
    this.#k = denseLinear(w, `${prefix}.self_attn.k_proj`, d, d);
    this.#v = denseLinear(w, `${prefix}.self_attn.v_proj`, d, d);
    this.#out = denseLinear(w, `${prefix}.self_attn.out_proj`, d, d);
    this.#norm2 = new LayerNorm(w, `${prefix}.layer_norm2`, d, eps);
    this.#fc1 = denseLinear(w, `${prefix}.mlp.fc1`, d, ff);
    this.#fc2 = denseLinear(w, `${prefix}.mlp.fc2`, ff, d);
  }

  forward(x: T.Tensor): T.Tensor {
    return T.tidy(() => {
      const n = this.#norm1.forward(x);
      const a = multiHeadAttention(this.#q.forward(n), this.#k.forward(n), this.#v.forward(n), this.config.heads, {
        causal: true,
      });
      const h = T.add(x, this.#out.forward(a));
      const m = this.#fc1.forward(this.#norm2.forward(h));
      const act = this.config.activation === 'gelu' ? T.gelu(m) : T.mul(m, T.sigmoid(T.mul(m, 1.702)));
      return T.add(h, this.#fc2.forward(act));
    });
  }
}

export class ClipTextEncoder {
  readonly #tokens: T.Tensor;
  readonly #positions: T.Tensor;
  readonly #layers: EncoderLayer[];
  readonly #final: LayerNorm;

  constructor(
    readonly weights: Weights,
    readonly config: TextEncoderConfig,
  ) {
    const d = config.hiddenSize;
    this.#tokens = weights.get(`${P}.embeddings.token_embedding.weight`, [config.vocabSize, d]);
    this.#positions = weights.get(`${P}.embeddings.position_embedding.weight`, [config.maxPositions, d]);
    this.#layers = Array.from(
      { length: config.layers },
      (_, i) => new EncoderLayer(weights, `${P}.encoder.layers.${i}`, config),
    );
    this.#final = new LayerNorm(weights, `${P}.final_layer_norm`, d, config.eps);
    weights.checkAllRead();
  }

  /**
   * Token ids (each row one prompt, all the same length ≤ max positions) → last_hidden_state [B, L, hidden].
   * The ids may also be an i32 tensor [B, L] (how an exported encoder takes them; values are not checked).
   */
  forward(ids: readonly (readonly number[])[] | T.Tensor): T.Tensor {
    if (ids instanceof T.Tensor) {
      const L = ids.shape[1];
      if (ids.rank !== 2 || ids.dtype !== 'i32' || L > this.config.maxPositions) {
        throw new T.ShapeError(
          `text encoder: id tensor must be i32 [B, L ≤ ${this.config.maxPositions}], got ${ids.dtype} [${ids.shape.join(', ')}]`,
        );
      }
      return this.#encode(ids, L);
    }
    const B = ids.length;
    const L = ids[0]?.length ?? 0;
    if (B === 0 || L === 0 || L > this.config.maxPositions || ids.some((r) => r.length !== L)) {
      throw new T.ShapeError(
        `text encoder: needs one or more id rows of one length 1..${this.config.maxPositions}, got ${ids.map((r) => r.length).join(', ')}`,
      );
    }
    const flat = ids.flat();
    const bad = flat.find((id) => !Number.isInteger(id) || id < 0 || id >= this.config.vocabSize);
    if (bad !== undefined)
      throw new T.UsageError(`text encoder: token id ${bad} is outside the vocabulary 0..${this.config.vocabSize - 1}`);
    return T.tidy(() => this.#encode(T.tensor(Int32Array.from(flat), [B, L], 'i32'), L));
  }

  #encode(ids: T.Tensor, L: number): T.Tensor {
    return T.tidy(() => {
      const tok = T.embedding(this.#tokens, ids);
      const pos = T.slice(this.#positions, [{ start: 0, end: L }]);
      let h = T.add(tok, pos);
      for (const layer of this.#layers) {
        const next = layer.forward(h);
        h.dispose();
        h = next;
      }
      return this.#final.forward(h);
    });
  }

  dispose(): void {
    this.weights.dispose();
  }
}
