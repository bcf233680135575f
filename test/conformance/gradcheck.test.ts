/**
 * Gradients of every differentiable op against central finite differences, in f64
 * on the js reference backend. Each case marked `grad: true` is checked, and each input's
 * gradient is taken alone too (what the tape saves and computes depends on which inputs
 * need a gradient); the last test asserts every op with a vjp was differentiated by some case.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../../index.js';
import { allCases } from './cases/index.js';
import { caseValues, makeInput, type OpCase, toList } from './harness.js';

const EPS = 1e-6;
const SAMPLES = 10;

function objective(c: OpCase, weights: T.Tensor[]) {
  return (...xs: T.Tensor[]): T.Tensor => {
    const outs = toList(c.run(xs));
    let total: T.Tensor | null = null;
    outs.forEach((o, i) => {
      const term = T.sum(T.mul(T.cast(o, 'f64'), weights[i]));
      total = total ? T.add(total, term) : term;
    });
    return total!;
  };
}

function isDifferentiableInput(c: OpCase, i: number): boolean {
  return c.inputs[i].dtype === undefined;
}

const gradCases = Object.entries(allCases).flatMap(([family, cases]) =>
  cases.filter((c) => c.grad).map((c) => ({ family, c })),
);

const differentiated = new Set<string>();

describe('gradients vs central finite differences (f64)', () => {
  for (const { family, c } of gradCases) {
    it(`${family}: ${c.name}`, async () => {
      await T.setBackend('js');
      const values = caseValues(c, 'f64', 4242 + c.name.length);
      const inputs = c.inputs.map((spec, i) => makeInput(values[i], spec.shape, spec.dtype ?? 'f64', 'contiguous'));
      const probe = toList(c.run(inputs));
      const rng = new T.Rng(7);
      const weights = probe.map((o) => T.randomNormal(o.shape, 0, 1, { dtype: 'f64', rng }));
      T.dispose(probe);
      const f = objective(c, weights);
      const { value, grads } = T.valueAndGrad(f)(...inputs);
      for (const op of Object.keys(T.vjpRunCounts())) differentiated.add(op);
      value.dispose();
      for (let i = 0; i < inputs.length; i++) {
        if (!isDifferentiableInput(c, i)) continue;
        const analytic = await grads[i].data();
        const base = values[i];
        const step = Math.max(1, Math.floor(base.length / SAMPLES));
        for (let k = 0; k < base.length; k += step) {
          const evalAt = async (delta: number) => {
            const shifted = [...base];
            shifted[k] += delta;
            const xs = inputs.map((t, j) => (j === i ? makeInput(shifted, c.inputs[j].shape, 'f64', 'contiguous') : t));
            const out = T.tidy(() => f(...xs));
            const v = await out.item();
            out.dispose();
            xs[i].dispose();
            return v;
          };
          const numeric = ((await evalAt(EPS)) - (await evalAt(-EPS))) / (2 * EPS);
          const tol = 1e-5 * Math.max(1, Math.abs(numeric));
          expect(
            Math.abs(analytic[k] - numeric),
            `input ${i} element ${k}: analytic ${analytic[k]} vs numeric ${numeric}`,
          ).toBeLessThanOrEqual(tol);
        }
      }
      // Each input alone: the tape then saves only what that gradient needs (an op's `saves`) and the vjp
      // skips the others' work (`needsGrad`); the result must not change.
      for (let i = 0; i < inputs.length; i++) {
        if (!isDifferentiableInput(c, i)) continue;
        const alone = T.valueAndGrad((x: T.Tensor) => f(...inputs.map((t, j) => (j === i ? x : t))))(inputs[i]);
        const expected = await grads[i].data();
        const got = await alone.grads[0].data();
        for (let k = 0; k < expected.length; k++) {
          expect(Math.abs(got[k] - expected[k]), `input ${i} alone, element ${k}`).toBeLessThanOrEqual(
            1e-12 * Math.max(1, Math.abs(expected[k])),
          );
        }
        T.dispose([alone.value, alone.grads]);
      }
      T.dispose([inputs, grads, weights]);
    });
  }

  // The checked vjps also ran forward ops (and other vjps) inside: only ops whose vjp was
  // compared against finite differences count, so this tracks vjp runs, not forward runs.
  it('every op with a vjp is differentiated by some case', () => {
    const missing = [...T.opDefinitions().values()]
      .filter((d) => d.vjp && !differentiated.has(d.name))
      .map((d) => d.name);
    expect(missing).toEqual([]);
  });
});
