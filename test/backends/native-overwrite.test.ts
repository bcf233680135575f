/**
 * Kernels that take their output from overwrittenF32 promise to write every element (a reused
 * array is not zeroed). Here every such output starts as NaN, and each family's conformance
 * cases must still match the js reference in f64: an element a kernel skipped would be NaN.
 */
import { afterAll, describe, expect, it } from 'vitest';
import '../../backends/node.js';
import { loadNativeAddon, setNativePoolPoison } from '../../backends/native/index.js';
import * as T from '../../index.js';
import { allCases } from '../conformance/cases/index.js';
import { caseValues, compare, evaluate, toleranceFor } from '../conformance/harness.js';

/** The families whose kernels use overwrittenF32. */
const FAMILIES = ['elementwise', 'matmul', 'conv', 'image', 'norm'];

describe.runIf(loadNativeAddon().ok)('native kernels write every element of an overwritten output', () => {
  afterAll(async () => {
    setNativePoolPoison(false);
    await T.setBackend('js');
  });

  for (const family of FAMILIES) {
    it(`${family}: every conformance case on NaN-filled outputs`, async () => {
      const cases = (allCases[family] ?? []).filter((c) => !c.throws && (c.dtypes ?? ['f32']).includes('f32'));
      expect(cases.length).toBeGreaterThan(0);
      for (const c of cases) {
        const values = caseValues(c, 'f32', c.name.length * 7);
        await T.setBackend('js');
        const want = await evaluate(c, values, 'f64', false);
        await T.setBackend('native');
        setNativePoolPoison(true);
        let got: Awaited<ReturnType<typeof evaluate>>;
        try {
          got = await evaluate(c, values, 'f32', false);
        } finally {
          setNativePoolPoison(false);
        }
        got.forEach((g, i) => {
          expect(compare(g, want[i], toleranceFor(c, 'f32', g.dtype)), `${c.name}, output ${i}`).toBeNull();
        });
      }
    });
  }
});
