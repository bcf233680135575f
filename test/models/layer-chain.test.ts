import { describe, expect, it } from 'vitest';
import * as T from '../../index.js';
import { chain, releaser } from '../../models/layer-chain.js';

describe('chain', () => {
  it('frees each intermediate once the next step has read it, never the kept tensors or the result', () => {
    const x = T.tensor([1, -2, 3], [3]);
    const live: number[] = [];
    const count = () => live.push(T.memory().tensors);
    const before = T.memory().tensors;
    const y = chain(
      x,
      releaser(x),
      (t) => T.mul(t, T.scalar(2)),
      (t) => {
        count();
        return T.relu(t);
      },
      (t) => {
        count();
        return T.neg(t);
      },
      (t) => t, // a step that passes its input through must not free it
    );
    expect(y.dataSync()).toEqual(Float32Array.from([-2, -0, -6]));
    expect(x.disposed).toBe(false);
    // While step 2 ran: x, the scalar (left to tidy) and step 1's output; step 1's output is gone by step 3.
    expect(live[1]).toBe(live[0]);
    expect(T.memory().tensors - before).toBe(2); // y and the scalar
    T.dispose([x, y]);
  });
});
