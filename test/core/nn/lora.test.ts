/**
 * LoRA and DoRA layers against independent oracles: the forward pass against mlx-lm's formulas
 * (formats.md §2) written in plain JavaScript, gradients of lora_a, lora_b and m against central finite
 * differences in f64 on the js backend, the frozen base getting no gradient, and fuse() matching the
 * adapter's output. The same layer on the native backend (f32) matches the js reference.
 */
import { describe, expect, it } from 'vitest';
import '../../../backends/node.js';
import { DenseLinear } from '../../../core/nn/linear.js';
import { DoRALinear, LoRALinear } from '../../../core/nn/lora.js';
import * as T from '../../../index.js';

const [IN, OUT, R, N] = [7, 5, 3, 4];
const SCALE = 2.5;

function values(n: number, seed: number): number[] {
  const rng = new T.Rng(seed);
  return Array.from({ length: n }, () => rng.normal());
}
const W = values(OUT * IN, 1);
const X = values(N * IN, 2);
const A = values(IN * R, 3);
const B = values(R * OUT, 4);
const G = values(N * OUT, 5);

/** y = x·Wᵀ + scale·(x·A)·B, [N, OUT], in plain JS. */
function loraReference(w: number[], a: number[], b: number[]): number[] {
  const y = new Array<number>(N * OUT).fill(0);
  for (let n = 0; n < N; n++) {
    const xa = Array.from({ length: R }, (_, r) =>
      X.slice(n * IN, (n + 1) * IN).reduce((s, v, i) => s + v * a[i * R + r], 0),
    );
    for (let o = 0; o < OUT; o++) {
      let v = 0;
      for (let i = 0; i < IN; i++) v += X[n * IN + i] * w[o * IN + i];
      for (let r = 0; r < R; r++) v += SCALE * xa[r] * b[r * OUT + o];
      y[n * OUT + o] = v;
    }
  }
  return y;
}

/** DoRA: (m / ‖W + scale·Bᵀ·Aᵀ‖_row)·(x·Wᵀ + scale·x·A·B). */
function doraReference(a: number[], b: number[], m: number[], fixed = rowNorms(A, B)): number[] {
  const y = loraReference(W, a, b);
  return y.map((v, k) => (v * m[k % OUT]) / fixed[k % OUT]);
}

/** ‖W + scale·Bᵀ·Aᵀ‖ per output row. */
function rowNorms(a: number[], b: number[]): number[] {
  return Array.from({ length: OUT }, (_, o) => {
    let s = 0;
    for (let i = 0; i < IN; i++) {
      let d = W[o * IN + i];
      for (let r = 0; r < R; r++) d += SCALE * b[r * OUT + o] * a[i * R + r];
      s += d * d;
    }
    return Math.sqrt(s);
  });
}

const objective = (y: number[]) => y.reduce((s, v, k) => s + v * G[k], 0);

function make(kind: 'lora' | 'dora', dtype: T.DType, m?: number[]) {
  const t = (v: number[], shape: number[]) => T.tensor(v, shape, dtype);
  const base = new DenseLinear(t(W, [OUT, IN]));
  const p = { rank: R, scale: SCALE, dropout: 0 };
  return kind === 'lora'
    ? new LoRALinear(base, p, { loraA: t(A, [IN, R]), loraB: t(B, [R, OUT]) })
    : new DoRALinear(base, p, { loraA: t(A, [IN, R]), loraB: t(B, [R, OUT]), m: t(m!, [OUT]) });
}

const hasNative = (await T.availableBackendNames()).includes('native');
const M = values(OUT, 6).map((v) => 1 + Math.abs(v));

describe.each(['lora', 'dora'] as const)('%s layer', (kind) => {
  // The denominator is a stop_gradient in DoRA: the finite differences hold it at the point's value.
  const reference = (a: number[], b: number[], m: number[]) =>
    kind === 'lora' ? loraReference(W, a, b) : doraReference(a, b, m);

  it('forward matches the formula; gradients match finite differences; the base gets none', async () => {
    await T.setBackend('js');
    const layer = make(kind, 'f64', M);
    const x = T.tensor(X, [N, IN], 'f64');
    const g = T.tensor(G, [N, OUT], 'f64');
    const y = layer.forward(x);
    expect(Array.from(await y.data())).toEqual(reference(A, B, M).map((v) => expect.closeTo(v, 10)));
    const params = kind === 'lora' ? [layer.loraA, layer.loraB] : [layer.loraA, layer.loraB, (layer as DoRALinear).m];
    const { value, grads } = T.valueAndGrad((..._p: T.Tensor[]) => T.sum(T.mul(layer.forward(x), g)))(...params);
    expect((await value.data())[0]).toBeCloseTo(objective(reference(A, B, M)), 10);
    const host = [A, B, M];
    const eps = 1e-6;
    for (let j = 0; j < params.length; j++) {
      const analytic = await grads[j].data();
      for (let k = 0; k < host[j].length; k++) {
        const at = (d: number) => {
          const v = host.map((h, q) => (q === j ? h.map((e, i) => (i === k ? e + d : e)) : h));
          return objective(reference(v[0], v[1], v[2]));
        };
        expect(analytic[k]).toBeCloseTo((at(eps) - at(-eps)) / (2 * eps), 5);
      }
    }
    // The frozen base weight: differentiating with respect to the adapter only leaves it out of the tape.
    expect(grads).toHaveLength(params.length);
    const fused = layer.fuse();
    const yf = fused.forward(x);
    const [a, b] = [await y.data(), await yf.data()];
    for (const [i, v] of Array.from(a).entries()) expect(b[i]).toBeCloseTo(v as number, 10);
    T.dispose([x, g, y, yf, value, ...grads]);
    fused.dispose();
    layer.dispose();
  });

  it.skipIf(!hasNative)('native f32 matches the js f64 reference', async () => {
    await T.setBackend('native');
    try {
      const layer = make(kind, 'f32', M);
      const x = T.tensor(X, [N, IN], 'f32');
      const g = T.tensor(G, [N, OUT], 'f32');
      const { grads } = T.valueAndGrad((_a: T.Tensor, _b: T.Tensor) => T.sum(T.mul(layer.forward(x), g)))(
        layer.loraA,
        layer.loraB,
      );
      const eps = 1e-3;
      const analytic = await grads[1].data();
      for (let k = 0; k < B.length; k++) {
        const at = (d: number) =>
          objective(
            reference(
              A,
              B.map((e, i) => (i === k ? e + d : e)),
              M,
            ),
          );
        expect(analytic[k]).toBeCloseTo((at(eps) - at(-eps)) / (2 * eps), 2);
      }
      T.dispose([x, g, ...grads]);
      layer.dispose();
    } finally {
      await T.setBackend('js');
    }
  });
});
