/**
 * Buffer donation (core/engine.ts `inPlace`, kernels/layout `sliceUpdate`): on every backend, an input
 * that is the only view of its storage is overwritten in place (the result keeps its storage), an input
 * something else still views is copied first (the other view keeps its values), the input is consumed
 * either way, a gradient tape never sees its saved inputs overwritten, and a hundred updates hold one
 * storage. Oracle: the values written, computed by hand.
 */
import { afterAll, describe, expect, it } from 'vitest';
import '../../backends/node.js';
import * as T from '../../index.js';
import { backendSkipReason, titled } from '../helpers/requirements.js';

const backends = await Promise.all(T.BACKEND_NAMES.map(async (b) => [b, await backendSkipReason(b)] as const));
/** js runs the reference kernel, which returns a new array: functional, but a copy. */
const WRITES_IN_PLACE: Record<T.BackendName, boolean> = { js: false, wasm: true, native: true, webgpu: true };

afterAll(async () => {
  await T.setBackend('js');
});

describe.each(backends)('sliceUpdate on %s', (backend, skip) => {
  it.skipIf(skip)(titled('overwrites a sole owner in place and consumes it', skip), async () => {
    await T.setBackend(backend);
    const x = T.zeros([2, 3, 8, 4]);
    const storage = x.ref.storage;
    const rows = T.tensor(
      Array.from({ length: 2 * 3 * 2 * 4 }, (_, i) => i + 1),
      [2, 3, 2, 4],
    );
    const y = T.sliceUpdate(x, rows, [0, 0, 5, 0]);
    expect(x.disposed).toBe(true);
    expect(y.ref.storage === storage).toBe(WRITES_IN_PLACE[backend]);
    const got = await y.data();
    for (let b = 0; b < 2; b++)
      for (let h = 0; h < 3; h++)
        for (let t = 0; t < 8; t++)
          for (let d = 0; d < 4; d++) {
            const inside = t === 5 || t === 6;
            const want = inside ? ((b * 3 + h) * 2 + (t - 5)) * 4 + d + 1 : 0;
            expect(got[((b * 3 + h) * 8 + t) * 4 + d]).toBe(want);
          }
    T.dispose([rows, y]);
  });

  it.skipIf(skip)(titled('copies an input another view still reads', skip), async () => {
    await T.setBackend(backend);
    const x = T.zeros([4, 5]);
    const view = T.reshape(x, [20]);
    const y = T.sliceUpdate(x, T.ones([1, 5]), [2, 0]);
    expect(x.disposed).toBe(true);
    expect(y.ref.storage).not.toBe(view.ref.storage);
    expect([...(await view.data())]).toEqual(new Array(20).fill(0));
    expect([...(await y.data())]).toEqual([...new Array(10).fill(0), 1, 1, 1, 1, 1, ...new Array(5).fill(0)]);
    T.dispose([view, y]);
  });

  it.skipIf(skip)(titled('keeps one storage over a hundred appends, leaking nothing', skip), async () => {
    await T.setBackend(backend);
    const before = T.memory();
    let cache = T.zeros([1, 2, 100, 3]);
    for (let t = 0; t < 100; t++) {
      const row = T.full([1, 2, 1, 3], t);
      cache = T.sliceUpdate(cache, row, [0, 0, t, 0]);
      row.dispose();
    }
    const after = T.memory();
    expect(after.tensors - before.tensors).toBe(1);
    expect(after.bytes - before.bytes).toBe(2 * 100 * 3 * 4);
    const got = await cache.data();
    for (let i = 0; i < got.length; i++) expect(got[i]).toBe(Math.floor(i / 3) % 100);
    cache.dispose();
  });

  it.skipIf(skip)(titled('under a gradient tape: copies, and the gradients are right', skip), async () => {
    await T.setBackend(backend);
    const x = T.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const u = T.tensor([10, 20], [1, 2]);
    const w = T.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const f = (a: T.Tensor, b: T.Tensor) => T.sum(T.mul(T.sliceUpdate(T.mul(a, 1), b, [1, 1]), w));
    const { value, grads } = T.valueAndGrad(f)(x, u);
    // sum(w ⊙ [[1,2,3],[4,10,20]]) = 1+4+9+16+50+120
    expect(await value.item()).toBe(200);
    expect([...(await grads[0].data())]).toEqual([1, 2, 3, 4, 0, 0]);
    expect([...(await grads[1].data())]).toEqual([5, 6]);
    expect(x.disposed).toBe(false);
    T.dispose([x, u, w, value, grads]);
  });
});
