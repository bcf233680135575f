/**
 * Oracles for crossEntropy: hand-computed losses and gradients, −log softmax picked
 * row by row, a composition from logSoftmax + gather (other kernels, other vjps) for
 * every option, and the softmax Hessian diag(p) − ppᵀ through the backward op's vjp.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../../index.js';

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-6): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    expect(Math.abs(got[i] - want[i]), `element ${i}: got ${got[i]}, want ${want[i]}`).toBeLessThanOrEqual(
      tol * (1 + Math.abs(want[i])),
    );
  }
}

const values = async (t: T.Tensor) => Array.from(await t.data());
const ints = (v: number[], shape?: number[]) => T.tensor(v, shape, 'i32');

// −log softmax([1, 2, 3]) = log(e + e² + e³) − x
const NLL = [2.4076059644443806, 1.4076059644443804, 0.4076059644443803];

/**
 * Per-target losses from logSoftmax and a one-hot mask: −Σ_c q_c·logp_c with
 * q = (1 − ε)·onehot + ε/C, zeroed where the target is ignored.
 */
function composedLosses(logits: T.Tensor, targets: T.Tensor, eps: number, ignoreIndex?: number): T.Tensor {
  return T.tidy(() => {
    const c = logits.shape[logits.rank - 1];
    const classes = T.arange(c, undefined, 1, 'i32');
    const onehot = T.cast(T.equal(T.unsqueeze(targets, -1), classes), logits.dtype);
    const q = T.add(T.mul(onehot, 1 - eps), eps / c);
    const losses = T.neg(T.sum(T.mul(q, T.logSoftmax(logits)), -1));
    if (ignoreIndex === undefined) return losses;
    return T.mul(losses, T.cast(T.notEqual(targets, ignoreIndex), logits.dtype));
  });
}

describe('crossEntropy reference', () => {
  it('matches −log softmax picked by hand', async () => {
    const logits = T.tensor(
      [
        [1, 2, 3],
        [1, 2, 3],
        [3, 1, 2],
      ],
      undefined,
      'f64',
    );
    const targets = ints([2, 0, 0]);
    const none = T.crossEntropy(logits, targets, { reduction: 'none' });
    expect(none.shape).toEqual([3]);
    expectClose(await values(none), [NLL[2], NLL[0], NLL[2]], 1e-15);
    expectClose([await T.crossEntropy(logits, targets).item()], [(2 * NLL[2] + NLL[0]) / 3], 1e-15);
    expectClose([await T.crossEntropy(logits, targets, { reduction: 'sum' }).item()], [2 * NLL[2] + NLL[0]], 1e-15);
  });

  it('picks −log softmax row by row for random [..., C] logits', async () => {
    const rng = new T.Rng(3);
    const logits = T.randomNormal([2, 3, 11], 0, 3, { rng, dtype: 'f64' });
    const targetValues = Array.from({ length: 6 }, () => rng.int(11));
    const losses = await values(T.crossEntropy(logits, ints(targetValues, [2, 3]), { reduction: 'none' }));
    const logp = await values(T.logSoftmax(logits));
    expectClose(
      losses,
      targetValues.map((t, r) => -logp[r * 11 + t]),
      1e-14,
    );
  });

  it('skips ignoreIndex targets and averages over the rest (NaN when none remain, as PyTorch)', async () => {
    const logits = T.tensor([1, 2, 3, 1, 2, 3, 1, 2, 3], [3, 3], 'f64');
    const targets = ints([2, -100, 0]);
    const none = await values(T.crossEntropy(logits, targets, { reduction: 'none', ignoreIndex: -100 }));
    expectClose(none, [NLL[2], 0, NLL[0]], 1e-15);
    expectClose([await T.crossEntropy(logits, targets, { ignoreIndex: -100 }).item()], [(NLL[2] + NLL[0]) / 2], 1e-15);
    // An ignoreIndex inside [0, C) ignores that class.
    expectClose(
      await values(T.crossEntropy(logits, ints([2, 1, 0]), { reduction: 'none', ignoreIndex: 1 })),
      [NLL[2], 0, NLL[0]],
      1e-15,
    );
    expect(Number.isNaN(await T.crossEntropy(logits, ints([5, 5, 5]), { ignoreIndex: 5 }).item())).toBe(true);
  });

  it('applies label smoothing as (1 − ε)·nll + ε·mean over classes of −log p', async () => {
    const logits = T.tensor([[1, 2, 3]], undefined, 'f64');
    const meanNll = (NLL[0] + NLL[1] + NLL[2]) / 3;
    const got = await T.crossEntropy(logits, ints([2]), { labelSmoothing: 0.3 }).item();
    expectClose([got], [0.7 * NLL[2] + 0.3 * meanNll], 1e-15);
    expectClose([got], [0.7076059644443803], 1e-15);
  });

  it('has the hand-derived gradient (softmax − onehot) / N', async () => {
    const logits = T.tensor(
      [
        [1, 2, 3],
        [3, 1, 2],
      ],
      undefined,
      'f64',
    );
    const [g] = T.grad((x: T.Tensor) => T.crossEntropy(x, ints([2, 1])))(logits);
    const p = [0.09003057317038046, 0.24472847105479764, 0.6652409557748219];
    expectClose(await values(g), [p[0] / 2, p[1] / 2, (p[2] - 1) / 2, p[2] / 2, (p[0] - 1) / 2, p[1] / 2], 1e-15);
  });

  it('equals the logSoftmax + one-hot composition in values and gradients for every option', async () => {
    const rng = new T.Rng(4);
    const logits = T.randomNormal([2, 5, 13], 0, 2, { rng, dtype: 'f64' });
    const targets = ints(
      Array.from({ length: 10 }, (_, i) => (i % 4 === 3 ? -1 : rng.int(13))),
      [2, 5],
    );
    for (const eps of [0, 0.1]) {
      for (const ignoreIndex of [undefined, -1]) {
        const opts = { labelSmoothing: eps, ignoreIndex };
        const want = composedLosses(logits, targets, eps, ignoreIndex ?? -1);
        if (ignoreIndex === undefined) {
          // Without ignoreIndex, -1 targets are out of range: use only the valid ones.
          continue;
        }
        expectClose(
          await values(T.crossEntropy(logits, targets, { ...opts, reduction: 'none' })),
          await values(want),
          1e-14,
        );
        const count = 10 - 2;
        const [g1] = T.grad((x: T.Tensor) => T.crossEntropy(x, targets, opts))(logits);
        const [g2] = T.grad((x: T.Tensor) => T.div(T.sum(composedLosses(x, targets, eps, -1)), count))(logits);
        expectClose(await values(g1), await values(g2), 1e-13);
      }
      const valid = ints(
        Array.from({ length: 10 }, () => rng.int(13)),
        [2, 5],
      );
      const opts = { labelSmoothing: eps, reduction: 'sum' as const };
      const [g1] = T.grad((x: T.Tensor) => T.crossEntropy(x, valid, opts))(logits);
      const [g2] = T.grad((x: T.Tensor) => T.sum(composedLosses(x, valid, eps)))(logits);
      expectClose(await values(g1), await values(g2), 1e-13);
    }
  });

  it('differentiates its backward op: the Hessian of one row is diag(p) − ppᵀ', async () => {
    const x = T.tensor([[0.5, -1, 2, 0]], undefined, 'f64');
    const gLoss = T.tensor([1.5], undefined, 'f64');
    const vs = [1, -2, 0.5, 3];
    const v = T.tensor([vs], undefined, 'f64');
    const p = await values(T.softmax(x));
    const pv = p.reduce((a, pi, i) => a + pi * vs[i], 0);
    const attrs = { ignoreIndex: null, labelSmoothing: 0 };
    // Σ v ⊙ crossEntropyGrad(x, t, g) = g·(p − onehot)·v: its gradient in x is g·(diag(p) − ppᵀ)·v
    // (independent of the target) and in g is (p − onehot)·v.
    const [hx, hg] = T.grad((logits: T.Tensor, g: T.Tensor) =>
      T.sum(T.mul(T.run1(T.crossEntropyGradOp, [logits, ints([1]), g], attrs), v)),
    )(x, gLoss);
    expectClose(
      await values(hx),
      p.map((pi, i) => 1.5 * pi * (vs[i] - pv)),
      1e-14,
    );
    expectClose(await values(hg), [pv - vs[1]], 1e-14);
  });

  it('computes f16 logits in f32 and returns f16', async () => {
    const loss = T.crossEntropy(T.tensor([[1, 2, 3]], undefined, 'f16'), ints([0]), { reduction: 'none' });
    expect(loss.dtype).toBe('f16');
    expectClose(await values(loss), [NLL[0]], 1e-3);
  });

  it('rejects out-of-range targets and bad arguments with clear errors', () => {
    const logits = T.zeros([2, 3]);
    expect(() => T.crossEntropy(logits, ints([0, 3]))).toThrow(
      /crossEntropy: target 3 at position 1 is out of range for 3 classes \(use 0\.\.2; pass ignoreIndex to skip padding targets\)/,
    );
    expect(() => T.crossEntropy(logits, ints([-1, 0]), { ignoreIndex: -100 })).toThrow(
      /target -1 at position 0 .*or the ignoreIndex -100/,
    );
    expect(() => T.crossEntropy(logits, T.zeros([2]))).toThrow(/targets must be i32 class indices, got f32/);
    expect(() => T.crossEntropy(logits, ints([0, 1, 2]))).toThrow(
      /logits \[2, 3\] must be \[\.\.\., C\] with targets \[3\]/,
    );
    expect(() => T.crossEntropy(T.zeros([2, 3], 'i32'), ints([0, 1]))).toThrow(/logits must be float, got i32/);
    expect(() => T.crossEntropy(logits, ints([0, 1]), { labelSmoothing: -0.1 })).toThrow(
      /labelSmoothing must be in \[0, 1\]/,
    );
    expect(() => T.crossEntropy(logits, ints([0, 1]), { ignoreIndex: 0.5 })).toThrow(/ignoreIndex must be an integer/);
  });
});
