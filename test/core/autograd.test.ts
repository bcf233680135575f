import { describe, expect, it } from 'vitest';
import * as T from '../../index.js';

describe('autograd', () => {
  it('accumulates through shared subexpressions', async () => {
    // f(x) = sum(x*x + x*x*x): f'(x) = 2x + 3x²
    const x = T.tensor([1, -2, 0.5], undefined, 'f64');
    const { value, grads } = T.valueAndGrad((v: T.Tensor) => {
      const sq = T.mul(v, v);
      return T.sum(T.add(sq, T.mul(sq, v)));
    })(x);
    expect(await value.item()).toBeCloseTo(1 + 1 + 4 - 8 + 0.25 + 0.125, 12);
    expect(Array.from(await grads[0].data())).toEqual([2 + 3, -4 + 12, 1 + 0.75]);
  });

  it('gives zeros for unused arguments and frees intermediates', async () => {
    const a = T.tensor([1, 2]);
    const b = T.tensor([3, 4]);
    const before = T.memory().tensors;
    const { value, grads } = T.valueAndGrad((p: T.Tensor, _q: T.Tensor) => T.sum(T.exp(p)))(a, b);
    expect(T.memory().tensors - before).toBe(3);
    expect(Array.from(await grads[1].data())).toEqual([0, 0]);
    T.dispose([value, grads]);
    expect(T.memory().tensors).toBe(before);
  });

  it('survives a tidy() inside the differentiated function', async () => {
    const x = T.tensor([0.5, 1.5], undefined, 'f64');
    const { grads } = T.valueAndGrad((v: T.Tensor) => T.tidy(() => T.sum(T.square(T.mul(v, 3)))))(x);
    expect(Array.from(await grads[0].data())).toEqual([9, 27]);
  });

  it('rejects non-scalar outputs without dy, accepts dy', async () => {
    const x = T.tensor([1, 2, 3], undefined, 'f64');
    expect(() => T.valueAndGrad((v: T.Tensor) => T.mul(v, 2))(x)).toThrow(/must return one value/);
    const dy = T.tensor([1, 10, 100], undefined, 'f64');
    const { grads } = T.vjp((v: T.Tensor) => T.mul(v, v), [x], dy);
    expect(Array.from(await grads[0].data())).toEqual([2, 40, 600]);
  });

  it('stops at non-differentiable ops (comparisons, argmax)', async () => {
    const x = T.tensor([1, 5, 3], undefined, 'f64');
    const { grads } = T.valueAndGrad((v: T.Tensor) => T.sum(T.mul(v, T.cast(T.greater(v, 2), 'f64'))))(x);
    expect(Array.from(await grads[0].data())).toEqual([0, 1, 1]);
  });
});

describe('nested differentiation', () => {
  it('is refused rather than silently wrong', () => {
    const x = T.tensor([1, 2], undefined, 'f64');
    const inner = T.grad((v: T.Tensor) => T.sum(T.mul(v, T.mul(v, v))));
    expect(() => T.valueAndGrad((v: T.Tensor) => T.sum(inner(v)[0]))(x)).toThrow(/nested differentiation/);
    // The failed attempt leaves the tape usable.
    expect(() => T.valueAndGrad((v: T.Tensor) => T.sum(v))(x)).not.toThrow();
  });
});
