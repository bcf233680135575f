import { describe, expect, it } from 'vitest';
import * as T from '../../index.js';

describe('core smoke', () => {
  it('broadcast add, views, reductions, grads', async () => {
    const a = T.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const b = T.tensor([10, 20, 30]);
    expect(Array.from(await T.add(a, b).data())).toEqual([11, 22, 33, 14, 25, 36]);
    const at = T.transpose(a);
    expect(at.shape).toEqual([3, 2]);
    expect(Array.from(await at.data())).toEqual([1, 4, 2, 5, 3, 6]);
    expect(Array.from(await T.sum(at, 0).data())).toEqual([6, 15]);
    expect(Array.from(await T.reshape(at, [6]).data())).toEqual([1, 4, 2, 5, 3, 6]);
    const s = T.slice(a, [null, { start: 1, step: 1 }]);
    expect(Array.from(await s.data())).toEqual([2, 3, 5, 6]);
    const x = T.tensor([1, 2, 3], undefined, 'f64');
    const { value, grads } = T.valueAndGrad((v: T.Tensor) => T.sum(T.mul(v, v)))(x);
    expect(await value.item()).toBe(14);
    expect(Array.from(await grads[0].data())).toEqual([2, 4, 6]);
    const before = T.memory().tensors;
    T.tidy(() => {
      T.exp(T.add(a, 1));
    });
    expect(T.memory().tensors).toBe(before);
  });
});
