/**
 * Optimizers and schedules against MLX's formulas (mlx/optimizers/optimizers.py, schedulers.py) written
 * out in plain JavaScript, over several steps with changing gradients; state save/restore continuing
 * exactly; gradient clipping as MLX's clip_grad_norm.
 */
import { describe, expect, it } from 'vitest';
import { ParameterTree } from '../../core/nn/parameters.js';
import { Adam, AdamW, clipGradNorm, type Optimizer, SGD } from '../../core/optim/optimizers.js';
import { buildSchedule, cosineDecay, joinSchedules, linearSchedule } from '../../core/optim/schedules.js';
import * as T from '../../index.js';

const P0 = [0.5, -1.25, 2, 0.1];
const GRADS = [
  [0.3, -0.2, 0.05, 1],
  [-0.1, 0.4, 0.2, -0.5],
  [0.7, 0.1, -0.3, 0.2],
];

/** Runs `make()` over GRADS on a one-parameter tree, returning the parameter after each step. */
async function run(opt: Optimizer, grads = GRADS, start = P0): Promise<number[][]> {
  const box = { p: T.tensor(start, [4], 'f64') };
  const tree = new ParameterTree().add('w', { get: () => box.p, set: (t) => (box.p = t) });
  const out: number[][] = [];
  for (const g of grads) {
    const gt = T.tensor(g, [4], 'f64');
    opt.update(tree, { w: gt });
    gt.dispose();
    out.push(Array.from(await box.p.data()));
  }
  return out;
}

function reference(update: (p: number, g: number, s: Record<string, number>, lr: number, t: number) => number) {
  const state = P0.map(() => ({}) as Record<string, number>);
  let p = [...P0];
  return (lrs: number[]) =>
    GRADS.map((g, t) => {
      p = p.map((v, i) => update(v, g[i], state[i], lrs[t], t + 1));
      return [...p];
    });
}

function close(a: number[][], b: number[][]): void {
  for (const [i, row] of a.entries()) for (const [j, v] of row.entries()) expect(v).toBeCloseTo(b[i][j], 12);
}

describe('optimizers (MLX formulas)', () => {
  it('Adam without bias correction (MLX and mlx-lm default)', async () => {
    const ref = reference((p, g, s, lr) => {
      s.m = 0.9 * (s.m ?? 0) + 0.1 * g;
      s.v = 0.999 * (s.v ?? 0) + 0.001 * g * g;
      return p - (lr * s.m) / (Math.sqrt(s.v) + 1e-8);
    });
    close(await run(new Adam(0.01)), ref([0.01, 0.01, 0.01]));
  });

  it('Adam with bias correction (PyTorch)', async () => {
    const ref = reference((p, g, s, lr, t) => {
      s.m = 0.8 * (s.m ?? 0) + 0.2 * g;
      s.v = 0.99 * (s.v ?? 0) + 0.01 * g * g;
      return p - (lr * (s.m / (1 - 0.8 ** t))) / (Math.sqrt(s.v / (1 - 0.99 ** t)) + 1e-6);
    });
    close(await run(new Adam(0.05, { betas: [0.8, 0.99], eps: 1e-6, biasCorrection: true })), ref([0.05, 0.05, 0.05]));
  });

  it('AdamW decays the weights before the Adam step', async () => {
    const ref = reference((p0, g, s, lr) => {
      const p = p0 * (1 - lr * 0.1);
      s.m = 0.9 * (s.m ?? 0) + 0.1 * g;
      s.v = 0.999 * (s.v ?? 0) + 0.001 * g * g;
      return p - (lr * s.m) / (Math.sqrt(s.v) + 1e-8);
    });
    close(await run(new AdamW(0.02, { weightDecay: 0.1 })), ref([0.02, 0.02, 0.02]));
  });

  it('SGD with momentum, dampening and weight decay; Nesterov; a schedule', async () => {
    const ref = reference((p, g0, s, lr) => {
      const g = g0 + 0.01 * p;
      s.v = s.v === undefined ? 0.9 * 0 + 0.7 * g : 0.9 * s.v + 0.7 * g;
      return p - lr * s.v;
    });
    close(await run(new SGD(0.1, { momentum: 0.9, dampening: 0.3, weightDecay: 0.01 })), ref([0.1, 0.1, 0.1]));
    const nesterov = reference((p, g, s, lr) => {
      s.v = 0.5 * (s.v ?? 0) + g;
      return p - lr * (g + 0.5 * s.v);
    });
    const schedule = linearSchedule(0.1, 0.05, 2);
    close(await run(new SGD(schedule, { momentum: 0.5, nesterov: true })), nesterov([0.1, 0.075, 0.05]));
  });

  it('state saved after one step and restored continues exactly', async () => {
    const whole = await run(new Adam(0.01));
    const first = new Adam(0.01);
    const [afterOne] = await run(first, GRADS.slice(0, 1));
    const { step, tensors } = first.stateDict();
    const copies = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, T.add(t, 0)]));
    const second = new Adam(0.01);
    second.loadStateDict(step, copies);
    expect(second.step).toBe(1);
    close(await run(second, GRADS.slice(1), afterOne), whole.slice(1));
    expect(() => second.loadStateDict(1, { 'w.q': T.zeros([4]) })).toThrow(/"w\.q" is not a Adam slot/);
  });
});

describe('schedules (mlx-lm lr_schedule)', () => {
  it('cosine decay with linear warmup joins as MLX', () => {
    const s = buildSchedule({ name: 'cosine_decay', warmup: 4, warmup_init: 0, arguments: [1e-3, 10, 1e-5] });
    expect(s(0)).toBe(0);
    expect(s(2)).toBeCloseTo(5e-4, 15);
    expect(s(4)).toBeCloseTo(1e-3, 15);
    // join_schedules: from step warmup + 1 the cosine runs from its step 0.
    expect(s(5)).toBeCloseTo(1e-3, 15);
    expect(s(10)).toBeCloseTo(1e-5 + 0.5 * (1 + Math.cos(Math.PI * 0.5)) * (1e-3 - 1e-5), 15);
    expect(s(100)).toBeCloseTo(1e-5, 15);
    expect(cosineDecay(1, 4)(2)).toBeCloseTo(0.5, 15);
    expect(joinSchedules([() => 1, () => 2], [3])(3)).toBe(2);
  });

  it("exponential, step and linear schedules from the config follow MLX's formulas", () => {
    const exp = buildSchedule({ name: 'exponential_decay', arguments: [0.1, 0.9] });
    for (const k of [0, 1, 7]) expect(exp(k)).toBeCloseTo(0.1 * 0.9 ** k, 15);
    const step = buildSchedule({ name: 'step_decay', arguments: [0.1, 0.5, 3] });
    expect([0, 2, 3, 5, 6, 9].map(step)).toEqual([0.1, 0.1, 0.05, 0.05, 0.025, 0.0125]);
    const lin = buildSchedule({ name: 'linear_schedule', arguments: [1, 0.2, 4] });
    expect([0, 1, 4, 10].map((k) => Number(lin(k).toFixed(12)))).toEqual([1, 0.8, 0.2, 0.2]);
    expect(() => joinSchedules([() => 1], [3])).toThrow(/1 schedules need 0 boundaries/);
    expect(() => buildSchedule({ name: 'step_decay', arguments: [0.1, 0.5, 3], warmup: 1.5 })).toThrow(
      /lr_schedule\.warmup 1\.5/,
    );
  });

  it('bad schedules name the key', () => {
    expect(() => buildSchedule({ name: 'cosine', arguments: [1] })).toThrow(/lr_schedule\.name "cosine"/);
    expect(() => buildSchedule({ name: 'cosine_decay', arguments: [1] })).toThrow(/lr_schedule\.arguments/);
  });
});

describe('clipGradNorm', () => {
  it('scales to max_norm/(norm + 1e-6) when above, untouched below', async () => {
    const grads = { a: T.tensor([3, 0], [2], 'f64'), b: T.tensor([4], [1], 'f64') };
    const { grads: out, norm } = await clipGradNorm(grads, 1);
    expect(norm).toBeCloseTo(5, 12);
    expect(Array.from(await out.a.data())[0]).toBeCloseTo(3 / (5 + 1e-6), 12);
    const same = await clipGradNorm(out, 10);
    expect(same.grads).toBe(out);
  });
});
