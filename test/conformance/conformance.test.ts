/**
 * Every op case on every available backend, against the f64 reference oracle.
 * EAI_REQUIRE_BACKENDS=webgpu,wasm (set by CI where they must exist) turns an
 * unavailable backend into a failure instead of an absence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../backends/node.js';
import { setWasmThreads } from '../../backends/wasm/index.js';
import * as T from '../../index.js';
import { requiredBackends } from '../helpers/requirements.js';
import { allCases } from './cases/index.js';
import { caseValues, compare, evaluate, type OpCase, toleranceFor } from './harness.js';

const required = requiredBackends;
const only = (process.env.EAI_CONFORMANCE_BACKENDS ?? '').split(',').filter(Boolean) as T.BackendName[];
const available = await T.availableBackendNames();
const backends = (only.length ? only : available).filter((b) => available.includes(b) || required.includes(b));

function floatDTypes(c: OpCase): readonly T.DType[] {
  return c.dtypes ?? ['f32', 'f16'];
}

async function oracle(c: OpCase, values: number[][]) {
  const previous = T.getBackendName();
  await T.setBackend('js');
  try {
    return await evaluate(c, values, 'f64', false);
  } finally {
    await T.setBackend(previous);
  }
}

it('required backends are available', async () => {
  const all = await T.backendAvailability();
  for (const name of required) {
    expect(all[name]?.available, `${name}: ${all[name]?.reason}`).toBe(true);
  }
});

/**
 * wasm runs the suite twice: on one thread, and on two with every kernel split however small
 * (setWasmThreads' minWorkPerThread: 1), so the threaded range arithmetic meets every case.
 */
const WASM_THREADS = [1, 2];
const runs = backends.flatMap((backend): { backend: T.BackendName; threads: number }[] =>
  backend === 'wasm' ? WASM_THREADS.map((threads) => ({ backend, threads })) : [{ backend, threads: 0 }],
);

for (const { backend, threads } of runs) {
  const label = threads ? `${backend} (${threads} thread${threads > 1 ? 's' : ''})` : backend;
  describe(`conformance on ${label}`, () => {
    let runsBefore: Record<string, number> = {};
    beforeAll(() => {
      runsBefore = T.opRunCounts();
    });
    afterAll(async () => {
      await T.setBackend('js');
    });
    for (const [family, cases] of Object.entries(allCases)) {
      for (const c of cases) {
        for (const dtype of floatDTypes(c)) {
          it(`${family}: ${c.name} [${dtype}]`, async () => {
            await T.setBackend(backend);
            if (threads) await setWasmThreads(threads, { minWorkPerThread: 1 });
            const seed = c.name.length * 7919 + dtype.length;
            const values = caseValues(c, dtype, seed);
            if (c.throws) {
              await expect(evaluate(c, values, dtype)).rejects.toThrow(c.throws);
              return;
            }
            const live = T.memory().tensors;
            const got = await evaluate(c, values, dtype);
            expect(T.memory().tensors, 'the case leaked tensors').toBe(live);
            const want = await oracle(c, values);
            expect(got.length).toBe(want.length);
            got.forEach((g, i) => {
              expect(compare(g, want[i], toleranceFor(c, dtype, g.dtype)), `output ${i}`).toBeNull();
            });
          });
        }
      }
    }
    it(`every defined op ran on ${label}`, () => {
      const after = T.opRunCounts();
      const missing = [...T.opDefinitions().keys()].filter((op) => (after[op] ?? 0) - (runsBefore[op] ?? 0) === 0);
      expect(missing, 'ops with no conformance case').toEqual([]);
    });
  });
}
