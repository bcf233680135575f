/**
 * Dispatch with a stand-in backend plug-in (this file's process only): registry,
 * explicit and automatic choice, clear errors, and per-op fallback that is warned
 * once, counted, and still right.
 */
import { describe, expect, it } from 'vitest';
import { gatherStrided, jsBackend } from '../../backends/js/backend.js';
import type { Backend, Storage, StridedView } from '../../index.js';
import * as T from '../../index.js';

interface FakeStorage extends Storage {
  readonly backend: 'wasm';
  readonly data: T.TypedArray;
}

const fake: Backend<FakeStorage> = {
  name: 'wasm',
  upload: (data) => ({ backend: 'wasm', data: data.slice(), byteLength: data.byteLength }),
  read: async (s) => s.data.slice(),
  readSync: (s) => s.data.slice(),
  free: () => {},
  contiguous: (view: StridedView<FakeStorage>) => {
    const data = gatherStrided({ ...view, storage: { backend: 'js', data: view.storage.data, byteLength: 0 } });
    return { backend: 'wasm', data, byteLength: data.byteLength };
  },
};

let fakeAddRuns = 0;
T.registerBackend({
  name: 'wasm',
  probe: async () => ({ available: true, reason: 'test stand-in', autoRank: 50 }),
  create: async () => fake,
});
T.registerBackend({
  name: 'native',
  probe: async () => ({ available: false, reason: 'no addon built (test stand-in)', autoRank: 80 }),
  create: async () => {
    throw new Error('unreachable');
  },
});
T.registerKernel('add', 'wasm', (inputs: readonly T.KernelTensor<FakeStorage>[], _attrs, [out]) => {
  fakeAddRuns++;
  const [a, b] = inputs;
  const y = new Float32Array(out.shape.reduce((p, d) => p * d, 1));
  // Same-shape only: enough for this test, which never broadcasts on the stand-in.
  for (let i = 0; i < y.length; i++) y[i] = a.storage.data[i] + b.storage.data[i];
  return [{ backend: 'wasm', data: y, byteLength: y.byteLength }];
});

describe('dispatch', () => {
  it('rejects unknown backends with the list of names', async () => {
    await expect(T.setBackend('cuda')).rejects.toThrow(
      /unknown backend 'cuda': choose one of js, wasm, webgpu, native, auto/,
    );
  });

  it('rejects unavailable backends with the reason and what is available', async () => {
    await expect(T.setBackend('native')).rejects.toThrow(
      /backend 'native' is unavailable: no addon built \(test stand-in\)\. Available: js, wasm/,
    );
  });

  it('auto picks the highest-ranked available backend', async () => {
    expect(await T.setBackend('auto')).toBe('wasm');
    await T.setBackend('js');
  });

  it('runs own kernels, falls back per op once-warned and counted, keeps results on the chosen backend', async () => {
    const warnings: string[] = [];
    T.setWarningHandler((m) => warnings.push(m));
    await T.setBackend('wasm');
    const a = T.tensor([1, 2, 3]);
    const b = T.tensor([10, 20, 30]);
    expect(a.backend).toBe('wasm');
    const s = T.add(a, b);
    expect(fakeAddRuns).toBe(1);
    const p1 = T.mul(s, b);
    const p2 = T.mul(p1, 2);
    expect(p2.backend).toBe('wasm');
    expect(Array.from(await p2.data())).toEqual([220, 880, 1980]);
    expect(warnings).toEqual(["[efficientai-toolkit] wasm has no 'mul' kernel; running it on js (warned once)"]);
    expect(T.fallbackLedger()).toContainEqual({
      op: 'mul',
      kind: 'fallback',
      from: 'wasm',
      to: 'js',
      why: 'wasm has no kernel for it',
      count: 2,
    });
    // A strided view on the stand-in is made contiguous before its kernel sees it.
    const m = T.reshape(T.tensor([1, 2, 3, 4]), [2, 2]);
    const t = T.transpose(m);
    expect(Array.from(await T.add(t, t).data())).toEqual([2, 6, 4, 8]);
    T.dispose([a, b, s, p1, p2, m, t]);
    await T.setBackend('js');
    expect(jsBackend.name).toBe('js');
  });

  it('strict mode throws before a fallback runs, naming the op, the backends and the way out', async () => {
    await T.setBackend('wasm');
    const a = T.tensor([1, 2, 3]);
    const before = T.fallbackLedger();
    T.setStrictBackend(true);
    try {
      expect(() => T.mul(a, a)).toThrow(
        /strict backend: wasm has no 'mul' kernel; running it on js\. Run without --strict-backend \(or setStrictBackend\(false\)\)/,
      );
      expect(() => T.mul(a, a)).toThrow(T.BackendError);
      // The stand-in's own kernel still runs.
      expect(Array.from(await T.add(a, a).data())).toEqual([2, 4, 6]);
    } finally {
      T.setStrictBackend(false);
    }
    expect(T.fallbackLedger()).toEqual(before);
    a.dispose();
    await T.setBackend('js');
  });

  it('records an input left on another backend as a copy, once per run, and refuses it in strict mode', async () => {
    const onJs = T.tensor([1, 2, 3]);
    await T.setBackend('wasm');
    const onWasm = T.tensor([10, 20, 30]);
    const runs = fakeAddRuns;
    const before = T.fallbackLedger();
    const s = T.add(onJs, onWasm);
    expect(s.backend).toBe('wasm');
    expect(Array.from(await s.data())).toEqual([11, 22, 33]);
    expect(fakeAddRuns).toBe(runs + 1);
    expect(T.ledgerDelta(before, T.fallbackLedger())).toEqual([
      { op: 'add', kind: 'copy', from: 'js', to: 'wasm', why: 'an input was made on js', count: 1 },
    ]);
    T.setStrictBackend(true);
    try {
      expect(() => T.add(onJs, onWasm)).toThrow(/strict backend: 'add' copies an input from js to wasm/);
      expect(fakeAddRuns).toBe(runs + 1);
    } finally {
      T.setStrictBackend(false);
    }
    T.dispose([onJs, onWasm, s]);
    await T.setBackend('js');
  });
});
