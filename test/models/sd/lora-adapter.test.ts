/**
 * Trainable LoRA adapters on the UNet's attention projections (Weights.adapters): the groundwork for LoRA
 * training. Oracles: the attention built from weights with the update merged by hand (W + scale·up·down) in
 * f64; a zero `up` leaves the output unchanged; the gradients of `down` and `up` against central finite
 * differences of the loss in f64-accumulated f32 (a tiny slice: one Attention of 8 channels, 2 heads).
 */
import { describe, expect, it } from 'vitest';
import '../../../backends/node.js';
import * as T from '../../../index.js';
import { Attention } from '../../../models/sd/attention.js';
import { type LoraAdapter, Weights } from '../../../models/sd/weights.js';

const C = 8;
const R = 2;
const PREFIX = 'blk.attn1';
const PROJ = ['to_q', 'to_k', 'to_v', 'to_out.0'];

function rand(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648 - 0.5) * 0.8;
  });
}

function baseTensors(): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>();
  PROJ.forEach((p, i) => {
    m.set(`${PREFIX}.${p}.weight`, rand(C * C, 11 + i));
    m.set(`${PREFIX}.${p}.bias`, rand(C, 31 + i));
  });
  return m;
}

function weightsOf(arrays: Map<string, Float32Array>): Weights {
  const tensors = new Map<string, T.Tensor>();
  for (const [k, v] of arrays) tensors.set(k, T.tensor(v, k.endsWith('bias') ? [C] : [C, C]));
  return new Weights('test', tensors);
}

const x = () => T.tensor(rand(2 * 5 * C, 7), [2, 5, C]);

describe('LoRA adapters on attention projections', () => {
  it('equal the update merged into W, and a zero up leaves the output unchanged', async () => {
    const scale = 0.75;
    const downs = PROJ.map((_, i) => rand(R * C, 51 + i));
    const ups = PROJ.map((_, i) => rand(C * R, 71 + i));
    const w = weightsOf(baseTensors());
    PROJ.forEach((p, i) => {
      w.adapters.set(`${PREFIX}.${p}`, { down: T.tensor(downs[i], [R, C]), up: T.tensor(ups[i], [C, R]), scale });
    });
    const adapted = await new Attention(w, PREFIX, C, 2).forward(x()).data();

    const merged = baseTensors();
    PROJ.forEach((p, i) => {
      const W = merged.get(`${PREFIX}.${p}.weight`)!;
      for (let o = 0; o < C; o++)
        for (let j = 0; j < C; j++) {
          let acc = 0;
          for (let r = 0; r < R; r++) acc += ups[i][o * R + r] * downs[i][r * C + j];
          W[o * C + j] += scale * acc;
        }
    });
    const want = await new Attention(weightsOf(merged), PREFIX, C, 2).forward(x()).data();
    for (let i = 0; i < want.length; i++) expect(adapted[i]).toBeCloseTo(want[i], 4);

    const zero = weightsOf(baseTensors());
    for (const p of PROJ) {
      zero.adapters.set(`${PREFIX}.${p}`, { down: T.tensor(rand(R * C, 5), [R, C]), up: T.zeros([C, R]), scale });
    }
    const plain = await new Attention(weightsOf(baseTensors()), PREFIX, C, 2).forward(x()).data();
    const withZero = await new Attention(zero, PREFIX, C, 2).forward(x()).data();
    expect(Array.from(withZero)).toEqual(Array.from(plain));
  });

  it('gradients of down and up match finite differences', async () => {
    const target = T.tensor(rand(2 * 5 * C, 99), [2, 5, C]);
    const lossOf = (down: T.Tensor, up: T.Tensor): T.Tensor => {
      const w = weightsOf(baseTensors());
      const adapter: LoraAdapter = { down, up, scale: 0.5 };
      w.adapters.set(`${PREFIX}.to_v`, adapter);
      const y = new Attention(w, PREFIX, C, 2).forward(x());
      const d = T.sub(y, target);
      return T.mean(T.mul(d, d));
    };
    const down = rand(R * C, 3);
    const up = rand(C * R, 4);
    const { value, grads } = T.valueAndGrad(lossOf)(T.tensor(down, [R, C]), T.tensor(up, [C, R]));
    value.dispose();
    const [gDown, gUp] = await Promise.all(grads.map((g) => g.data()));
    const h = 1e-2;
    const at = async (d: Float32Array, u: Float32Array) =>
      (await lossOf(T.tensor(d, [R, C]), T.tensor(u, [C, R])).data())[0];
    for (const [arr, g, isDown] of [
      [down, gDown, true],
      [up, gUp, false],
    ] as const) {
      for (let i = 0; i < arr.length; i++) {
        const plus = Float32Array.from(arr);
        const minus = Float32Array.from(arr);
        plus[i] += h;
        minus[i] -= h;
        const fd = isDown
          ? ((await at(plus, up)) - (await at(minus, up))) / (2 * h)
          : ((await at(down, plus)) - (await at(down, minus))) / (2 * h);
        expect(Math.abs(g[i] - fd)).toBeLessThan(2e-3 + 2e-2 * Math.abs(fd));
      }
    }
  });
});
