/**
 * Oracles for the attention references: a hand-computed case, an explicit
 * scores → softmax → weighted-sum loop written here, the same math composed from
 * matmul/softmax ops (with autograd through it as the oracle for attentionBackward),
 * GQA against repeated K/V heads, causal masking against explicit -Infinity masks,
 * and decode steps against the rows of a full causal pass.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../../index.js';

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-12): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    expect(Math.abs(got[i] - want[i]), `element ${i}: got ${got[i]}, want ${want[i]}`).toBeLessThanOrEqual(
      tol * (1 + Math.abs(want[i])),
    );
  }
}

const values = async (t: T.Tensor) => Array.from(await t.data());

function randomF64(shape: number[], seed: number, std = 1): T.Tensor {
  return T.randomNormal(shape, 0, std, { dtype: 'f64', rng: new T.Rng(seed) });
}

interface Problem {
  B: number;
  Hq: number;
  Hkv: number;
  Tq: number;
  S: number;
  D: number;
  Dv: number;
}

/**
 * Attention as the definition reads, on host arrays: for each (b, h) the whole score
 * matrix with -Infinity where a key is hidden, a softmax per row, then P·V. The key/value
 * head of query head h is floor(h·Hkv/Hq).
 */
function attentionLoops(
  p: Problem,
  q: number[],
  k: number[],
  v: number[],
  opts: { scale: number; causal: boolean; mask?: { values: number[]; shape: number[] } },
): number[] {
  const out: number[] = [];
  const maskAt = (b: number, h: number, t: number, j: number): number => {
    if (!opts.mask) return 0;
    const shape = [1, 1, 1, 1, ...opts.mask.shape].slice(-4);
    const idx = [b, h, t, j].map((i, a) => (shape[a] === 1 ? 0 : i));
    return opts.mask.values[((idx[0] * shape[1] + idx[1]) * shape[2] + idx[2]) * shape[3] + idx[3]];
  };
  for (let b = 0; b < p.B; b++) {
    for (let h = 0; h < p.Hq; h++) {
      const kvh = Math.floor((h * p.Hkv) / p.Hq);
      const scores: number[][] = [];
      for (let t = 0; t < p.Tq; t++) {
        const row: number[] = [];
        for (let j = 0; j < p.S; j++) {
          if (opts.causal && j > t + p.S - p.Tq) {
            row.push(Number.NEGATIVE_INFINITY);
            continue;
          }
          let dot = 0;
          for (let d = 0; d < p.D; d++)
            dot += q[((b * p.Hq + h) * p.Tq + t) * p.D + d] * k[((b * p.Hkv + kvh) * p.S + j) * p.D + d];
          row.push(opts.scale * dot + maskAt(b, h, t, j));
        }
        scores.push(row);
      }
      for (const row of scores) {
        const max = Math.max(...row);
        const e = row.map((s) => (max === Number.NEGATIVE_INFINITY ? 0 : Math.exp(s - max)));
        const total = e.reduce((a, c) => a + c, 0);
        for (let c = 0; c < p.Dv; c++) {
          let acc = 0;
          for (let j = 0; j < p.S; j++)
            if (total > 0) acc += (e[j] / total) * v[((b * p.Hkv + kvh) * p.S + j) * p.Dv + c];
          out.push(acc);
        }
      }
    }
  }
  return out;
}

/** Repeat each key/value head G times along axis 1: [B, Hkv, S, ·] → [B, Hkv·G, S, ·]. */
function repeatHeads(x: T.Tensor, group: number): T.Tensor {
  const index = Array.from({ length: x.shape[1] * group }, (_, h) => Math.floor(h / group));
  return T.tidy(() => T.gather(x, T.tensor(index, [index.length], 'i32'), 1));
}

/** [1, 1, Tq, S] additive mask hiding key j from query t when j > t + S - Tq. */
function causalMask(Tq: number, S: number): T.Tensor {
  const m: number[] = [];
  for (let t = 0; t < Tq; t++) for (let j = 0; j < S; j++) m.push(j > t + S - Tq ? Number.NEGATIVE_INFINITY : 0);
  return T.tensor(m, [1, 1, Tq, S], 'f64');
}

/** softmax(scale·q·kᵀ + mask)·v from matmul and softmax ops, with K/V heads repeated for GQA. */
function attentionComposed(q: T.Tensor, k: T.Tensor, v: T.Tensor, scale: number, mask?: T.Tensor): T.Tensor {
  return T.tidy(() => {
    const group = q.shape[1] / k.shape[1];
    const scores = T.mul(T.matmul(q, repeatHeads(k, group), { transposeB: true }), scale);
    const weights = T.softmax(mask ? T.add(scores, mask) : scores, -1);
    return T.matmul(weights, repeatHeads(v, group));
  });
}

describe('scaledDotProductAttention reference', () => {
  it('matches a hand-computed single query', async () => {
    // scores [1, 0] → weights [e, 1]/(e + 1) → 0.731·[1, 2] + 0.269·[3, 4]
    const q = T.tensor([1, 0], [1, 1, 1, 2], 'f64');
    const k = T.tensor([1, 0, 0, 1], [1, 1, 2, 2], 'f64');
    const v = T.tensor([1, 2, 3, 4], [1, 1, 2, 2], 'f64');
    const o = T.scaledDotProductAttention(q, k, v, { scale: 1 });
    expectClose(await values(o), [1.5378828427399902, 2.5378828427399904]);
    T.dispose([q, k, v, o]);
  });

  const problems: { name: string; p: Problem; causal: boolean; maskShape?: number[]; scale?: number }[] = [
    { name: 'one head, T=S=7, D=16', p: { B: 1, Hq: 1, Hkv: 1, Tq: 7, S: 7, D: 16, Dv: 16 }, causal: false },
    {
      name: 'GQA 4/2, causal over S=33, Dv=5, mask [1,1,7,33]',
      p: { B: 2, Hq: 4, Hkv: 2, Tq: 7, S: 33, D: 8, Dv: 5 },
      causal: true,
      maskShape: [1, 1, 7, 33],
    },
    {
      name: 'MQA 4/1 decode T=1, mask [2,4,1,33], scale 0.2',
      p: { B: 2, Hq: 4, Hkv: 1, Tq: 1, S: 33, D: 8, Dv: 8 },
      causal: true,
      maskShape: [2, 4, 1, 33],
      scale: 0.2,
    },
    {
      name: 'GQA 8/4 (stories260K heads), head mask [4,1,1]',
      p: { B: 1, Hq: 8, Hkv: 4, Tq: 7, S: 7, D: 8, Dv: 8 },
      causal: false,
      maskShape: [8, 1, 1],
    },
  ];

  for (const { name, p, causal, maskShape, scale } of problems) {
    it(`equals the explicit loops: ${name}`, async () => {
      const q = randomF64([p.B, p.Hq, p.Tq, p.D], 1);
      const k = randomF64([p.B, p.Hkv, p.S, p.D], 2);
      const v = randomF64([p.B, p.Hkv, p.S, p.Dv], 3);
      const mask = maskShape ? T.randomUniform(maskShape, -3, 1, { dtype: 'f64', rng: new T.Rng(4) }) : undefined;
      const o = T.scaledDotProductAttention(q, k, v, { causal, mask, scale });
      const want = attentionLoops(p, await values(q), await values(k), await values(v), {
        scale: scale ?? 1 / Math.sqrt(p.D),
        causal,
        mask: mask && maskShape ? { values: await values(mask), shape: maskShape } : undefined,
      });
      expect(o.shape).toEqual([p.B, p.Hq, p.Tq, p.Dv]);
      expectClose(await values(o), want);
      T.dispose([q, k, v, mask, o]);
    });
  }

  it('equals softmax(scale·QKᵀ + mask)·V composed from matmul/softmax ops, and so do its gradients', async () => {
    const q = randomF64([2, 4, 7, 8], 11);
    const k = randomF64([2, 2, 33, 8], 12);
    const v = randomF64([2, 2, 33, 5], 13);
    const w = randomF64([2, 4, 7, 5], 14);
    const extra = T.randomUniform([1, 1, 7, 33], -2, 0, { dtype: 'f64', rng: new T.Rng(15) });
    const fullMask = T.tidy(() => T.add(extra, causalMask(7, 33)));
    const scale = 0.4;
    const fused = (a: T.Tensor, b: T.Tensor, c: T.Tensor) =>
      T.sum(T.mul(T.scaledDotProductAttention(a, b, c, { scale, causal: true, mask: extra }), w));
    const composed = (a: T.Tensor, b: T.Tensor, c: T.Tensor) =>
      T.sum(T.mul(attentionComposed(a, b, c, scale, fullMask), w));
    const got = T.valueAndGrad(fused)(q, k, v);
    const want = T.valueAndGrad(composed)(q, k, v);
    expectClose([await got.value.item()], [await want.value.item()]);
    for (let i = 0; i < 3; i++) expectClose(await values(got.grads[i]), await values(want.grads[i]), 1e-10);
    T.dispose([q, k, v, w, extra, fullMask, got, want]);
  });

  it('GQA equals attention with each K/V head repeated for its query heads (values and gradients)', async () => {
    const q = randomF64([2, 8, 7, 8], 21);
    const k = randomF64([2, 4, 9, 8], 22);
    const v = randomF64([2, 4, 9, 8], 23);
    const w = randomF64([2, 8, 7, 8], 24);
    const grouped = (a: T.Tensor, b: T.Tensor, c: T.Tensor) =>
      T.sum(T.mul(T.scaledDotProductAttention(a, b, c, { causal: true }), w));
    // gather's gradient sums the repeated heads back, which is what the grouped dk/dv must do.
    const repeated = (a: T.Tensor, b: T.Tensor, c: T.Tensor) =>
      T.sum(T.mul(T.scaledDotProductAttention(a, repeatHeads(b, 2), repeatHeads(c, 2), { causal: true }), w));
    const got = T.valueAndGrad(grouped)(q, k, v);
    const want = T.valueAndGrad(repeated)(q, k, v);
    expectClose([await got.value.item()], [await want.value.item()]);
    for (let i = 0; i < 3; i++) expectClose(await values(got.grads[i]), await values(want.grads[i]));
    T.dispose([q, k, v, w, got, want]);
  });

  it('causal equals an explicit -Infinity upper-triangular mask, for T = S and for T < S aligned to the end', async () => {
    for (const [Tq, S] of [
      [7, 7],
      [5, 12],
    ]) {
      const q = randomF64([1, 4, Tq, 8], 31);
      const k = randomF64([1, 2, S, 8], 32);
      const v = randomF64([1, 2, S, 8], 33);
      const mask = causalMask(Tq, S);
      const causal = T.scaledDotProductAttention(q, k, v, { causal: true });
      const masked = T.scaledDotProductAttention(q, k, v, { mask });
      expectClose(await values(causal), await values(masked));
      T.dispose([q, k, v, mask, causal, masked]);
    }
  });

  it('a decode step T=1 over the cache equals the last row of the full causal pass, and each prefix row too', async () => {
    const S = 9;
    const q = randomF64([2, 4, S, 8], 41);
    const k = randomF64([2, 2, S, 8], 42);
    const v = randomF64([2, 2, S, 8], 43);
    const full = T.scaledDotProductAttention(q, k, v, { causal: true });
    for (let t = 0; t < S; t++) {
      const row = { start: t, end: t + 1 };
      const upTo = { end: t + 1 };
      // Step t: one query against the cache of the first t + 1 keys.
      const step = T.tidy(() =>
        T.scaledDotProductAttention(
          T.slice(q, [null, null, row]),
          T.slice(k, [null, null, upTo]),
          T.slice(v, [null, null, upTo]),
          {
            causal: true,
          },
        ),
      );
      const want = T.tidy(() => T.slice(full, [null, null, row]));
      expectClose(await values(step), await values(want));
      T.dispose([step, want]);
    }
    const last = T.tidy(() =>
      T.scaledDotProductAttention(T.slice(q, [null, null, { start: S - 1 }]), k, v, { causal: true }),
    );
    const lastRow = T.tidy(() => T.slice(full, [null, null, { start: S - 1 }]));
    expectClose(await values(last), await values(lastRow));
    T.dispose([q, k, v, full, last, lastRow]);
  });

  it('a u8 mask keeps where nonzero, exactly like a 0 / -Infinity additive mask', async () => {
    const q = randomF64([1, 2, 7, 8], 51);
    const k = randomF64([1, 2, 9, 8], 52);
    const v = randomF64([1, 2, 9, 8], 53);
    const keep = Array.from({ length: 7 * 9 }, (_, i) => (i % 4 === 1 ? 0 : 1));
    const boolMask = T.tensor(keep, [1, 1, 7, 9], 'u8');
    const additive = T.tensor(
      keep.map((m) => (m ? 0 : Number.NEGATIVE_INFINITY)),
      [1, 1, 7, 9],
      'f64',
    );
    const a = T.scaledDotProductAttention(q, k, v, { mask: boolMask });
    const b = T.scaledDotProductAttention(q, k, v, { mask: additive });
    expect(await values(a)).toEqual(await values(b));
    T.dispose([q, k, v, boolMask, additive, a, b]);
  });

  it('a row with no visible key gives zeros and a zero gradient; the other rows are unaffected', async () => {
    const q = randomF64([1, 1, 3, 4], 61);
    const k = randomF64([1, 1, 5, 4], 62);
    const v = randomF64([1, 1, 5, 4], 63);
    const m = Array.from({ length: 15 }, (_, i) => (i >= 5 && i < 10 ? Number.NEGATIVE_INFINITY : 0));
    const mask = T.tensor(m, [1, 1, 3, 5], 'f64');
    const { value, grads } = T.valueAndGrad((a: T.Tensor, b: T.Tensor, c: T.Tensor) =>
      T.sum(T.scaledDotProductAttention(a, b, c, { mask })),
    )(q, k, v);
    const o = T.scaledDotProductAttention(q, k, v, { mask });
    const out = await values(o);
    expect(out.slice(4, 8)).toEqual([0, 0, 0, 0]);
    const p: Problem = { B: 1, Hq: 1, Hkv: 1, Tq: 3, S: 5, D: 4, Dv: 4 };
    const want = attentionLoops(p, await values(q), await values(k), await values(v), {
      scale: 0.5,
      causal: false,
      mask: { values: m, shape: [1, 1, 3, 5] },
    });
    expectClose(out, want);
    expect((await values(grads[0])).slice(4, 8)).toEqual([0, 0, 0, 0]);
    expect(Number.isFinite(await value.item())).toBe(true);
    T.dispose([q, k, v, mask, value, grads, o]);
  });

  it('stays finite and picks the best key when scores are huge (stable softmax)', async () => {
    const q = T.tensor([1000, 0], [1, 1, 1, 2], 'f32');
    const k = T.tensor([1, 0, 0.9, 0, -1, 0], [1, 1, 3, 2], 'f32');
    const v = T.tensor([1, 2, 3, 4, 5, 6], [1, 1, 3, 2], 'f32');
    const o = T.scaledDotProductAttention(q, k, v, { scale: 1 });
    // Scores 1000, 900, -1000: the first key takes all the weight (e^-100 ≈ 4e-44).
    expectClose(await values(o), [1, 2]);
    T.dispose([q, k, v, o]);
  });

  it('attentionBackward’s dq, dk, dv sum over the grouped heads and match finite differences of the loops', async () => {
    const p: Problem = { B: 1, Hq: 2, Hkv: 1, Tq: 3, S: 4, D: 3, Dv: 2 };
    const q = randomF64([1, 2, 3, 3], 71);
    const k = randomF64([1, 1, 4, 3], 72);
    const v = randomF64([1, 1, 4, 2], 73);
    const dO = randomF64([1, 2, 3, 2], 74);
    const o = T.scaledDotProductAttention(q, k, v, { causal: true });
    const [dq, dk, dv] = T.runOp(T.attentionBackwardOp, [q, k, v, o, dO], { scale: 1 / Math.sqrt(3), causal: true });
    const host = [await values(q), await values(k), await values(v)];
    const g = await values(dO);
    const objective = (xs: number[][]) =>
      attentionLoops(p, xs[0], xs[1], xs[2], { scale: 1 / Math.sqrt(3), causal: true }).reduce(
        (s, y, i) => s + y * g[i],
        0,
      );
    const analytic = [await values(dq), await values(dk), await values(dv)];
    for (let which = 0; which < 3; which++) {
      const numeric = host[which].map((_, i) => {
        const shifted = (delta: number) =>
          host.map((xs, w) => (w === which ? xs.map((x, j) => (j === i ? x + delta : x)) : xs));
        return (objective(shifted(1e-6)) - objective(shifted(-1e-6))) / 2e-6;
      });
      expectClose(analytic[which], numeric, 1e-7);
    }
    T.dispose([q, k, v, dO, o, dq, dk, dv]);
  });
});
