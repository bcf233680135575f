/**
 * An independent Llama forward pass for tests: plain float64 loops over one sequence, written from llama2.c's
 * run.c and transformers' modeling_llama.py (not from models/llama), with Hugging Face tensor names. It is the
 * oracle for the model code on synthetic networks: GQA, q/k/v biases, tied or separate heads, both RoPE
 * layouts and any inverse-frequency table.
 */

export interface RefTensor {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

export interface RefConfig {
  readonly hidden: number;
  readonly intermediate: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly vocab: number;
  readonly eps: number;
  /** Adjacent-pair RoPE (llama2.c) instead of half-split (Hugging Face). */
  readonly traditional: boolean;
  /** Inverse frequencies, headDim/2 of them. */
  readonly invFreq: readonly number[];
  /** Multiplies cos and sin (yarn); default 1. */
  readonly attentionFactor?: number;
}

/** y[o] = Σ_i W[o, i]·x[i] + b[o]. */
function matvec(w: RefTensor, x: readonly number[], b?: RefTensor): number[] {
  const [out, inF] = w.shape;
  return Array.from({ length: out }, (_, o) => {
    let s = b ? b.data[o] : 0;
    for (let i = 0; i < inF; i++) s += w.data[o * inF + i] * x[i];
    return s;
  });
}

function rmsnorm(x: readonly number[], w: RefTensor, eps: number): number[] {
  let ss = 0;
  for (const v of x) ss += v * v;
  const scale = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * scale * w.data[i]);
}

/** Rotates one head's vector in place for position `pos`. */
function rope(v: number[], offset: number, pos: number, c: RefConfig): void {
  const half = c.headDim / 2;
  const af = c.attentionFactor ?? 1;
  for (let j = 0; j < half; j++) {
    const angle = pos * c.invFreq[j];
    const cos = Math.cos(angle) * af;
    const sin = Math.sin(angle) * af;
    const a = offset + (c.traditional ? 2 * j : j);
    const b = offset + (c.traditional ? 2 * j + 1 : j + half);
    const [x0, x1] = [v[a], v[b]];
    v[a] = x0 * cos - x1 * sin;
    v[b] = x0 * sin + x1 * cos;
  }
}

/**
 * Logits [T][vocab] for `tokens`. `window` limits attention to the last `window` positions (the sliding
 * window a rotating KV cache gives); default: all.
 */
export function referenceLogits(
  c: RefConfig,
  w: ReadonlyMap<string, RefTensor>,
  tokens: readonly number[],
  window = Number.POSITIVE_INFINITY,
): number[][] {
  const get = (name: string) => {
    const t = w.get(name);
    if (!t) throw new Error(`reference: no tensor ${name}`);
    return t;
  };
  const { hidden: H, headDim: d, heads, kvHeads } = c;
  const embed = get('model.embed_tokens.weight');
  const head = w.get('lm_head.weight') ?? embed;
  let h = tokens.map((t) => Array.from({ length: H }, (_, i) => embed.data[t * H + i]));
  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}`;
    const x = h.map((r) => rmsnorm(r, get(`${p}.input_layernorm.weight`), c.eps));
    const proj = (name: string) =>
      x.map((r) => matvec(get(`${p}.self_attn.${name}.weight`), r, w.get(`${p}.self_attn.${name}.bias`)));
    const q = proj('q_proj');
    const k = proj('k_proj');
    const v = proj('v_proj');
    q.forEach((r, t) => {
      for (let hh = 0; hh < heads; hh++) rope(r, hh * d, t, c);
    });
    k.forEach((r, t) => {
      for (let hh = 0; hh < kvHeads; hh++) rope(r, hh * d, t, c);
    });
    const att = q.map((qr, t) => {
      const out = new Array<number>(heads * d).fill(0);
      for (let hh = 0; hh < heads; hh++) {
        const kvh = Math.floor(hh / (heads / kvHeads));
        const first = Math.max(0, t - window + 1);
        const scores: number[] = [];
        for (let s = first; s <= t; s++) {
          let dot = 0;
          for (let i = 0; i < d; i++) dot += qr[hh * d + i] * k[s][kvh * d + i];
          scores.push(dot / Math.sqrt(d));
        }
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let s = first; s <= t; s++) {
          for (let i = 0; i < d; i++) out[hh * d + i] += (e[s - first] / z) * v[s][kvh * d + i];
        }
      }
      return out;
    });
    h = h.map((r, t) => {
      const o = matvec(get(`${p}.self_attn.o_proj.weight`), att[t], w.get(`${p}.self_attn.o_proj.bias`));
      return r.map((val, i) => val + o[i]);
    });
    h = h.map((r) => {
      const xn = rmsnorm(r, get(`${p}.post_attention_layernorm.weight`), c.eps);
      const g = matvec(get(`${p}.mlp.gate_proj.weight`), xn);
      const u = matvec(get(`${p}.mlp.up_proj.weight`), xn);
      const act = g.map((gv, i) => (gv / (1 + Math.exp(-gv))) * u[i]);
      const down = matvec(get(`${p}.mlp.down_proj.weight`), act);
      return r.map((val, i) => val + down[i]);
    });
  }
  return h.map((r) => matvec(head, rmsnorm(r, get('model.norm.weight'), c.eps)));
}
