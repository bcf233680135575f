/**
 * The fallback ledger on the real CPU backends: a kernel that cannot take its inputs runs the js
 * reference on the backend's behalf, recorded once per run (op, kind, from, to, why, count) and
 * refused in strict mode before anything runs; `info --json` shows the ledger and the CLI's
 * --strict-backend turns the same run into an error. (Dispatch fallback and copies:
 * test/core/dispatch.test.ts; WebGPU host runs: test/backends/webgpu.test.ts.)
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import '../../backends/node.js';
import * as T from '../../index.js';
import { backendSkipReason, titled } from '../helpers/requirements.js';
import { runCli } from '../helpers/run-cli.js';

const projectsDir = fileURLToPath(new URL('../cli/fixtures/ledger-projects/', import.meta.url));

const nativeSkip = await backendSkipReason('native');

afterEach(async () => {
  T.setStrictBackend(false);
  await T.setBackend('js');
});

for (const backend of ['native', 'wasm'] as const) {
  const skip = await backendSkipReason(backend);
  describe.skipIf(skip)(titled(`${backend}: reference runs for inputs its kernels do not take`, skip), () => {
    it('records f64 arithmetic run by the reference, once per run, with the right result', async () => {
      await T.setBackend(backend);
      const x = T.tensor([1.5, -2], [2], 'f64');
      const before = T.fallbackLedger();
      const y = T.add(x, x);
      const z = T.add(y, x);
      expect([...(await z.data())]).toEqual([4.5, -6]);
      expect(T.ledgerDelta(before, T.fallbackLedger())).toEqual([
        {
          op: 'add',
          kind: 'reference',
          from: backend,
          to: 'js',
          why: `no ${backend} code for f64, f64 inputs`,
          count: 2,
        },
      ]);
      T.dispose([x, y, z]);
    });

    it('strict mode refuses it before running, and the ledger stays as it was', async () => {
      await T.setBackend(backend);
      const x = T.tensor([1], [1], 'f64');
      const live = T.memory().tensors;
      const before = T.fallbackLedger();
      T.setStrictBackend(true);
      expect(() => T.add(x, x)).toThrow(
        new RegExp(`strict backend: ${backend} runs 'add' with the js reference kernel \\(no ${backend} code for f64`),
      );
      expect(T.memory().tensors).toBe(live);
      expect(T.fallbackLedger()).toEqual(before);
      x.dispose();
    });
  });
}

describe('the CLI', () => {
  it('info --json shows the ledger: what ran where instead, why, and how often', async () => {
    const first = await runCli(['--backend', 'js', 'ledger:f64-add', '--json'], { projectsDir });
    expect(first.code).toBe(0);
    await T.setBackend('wasm');
    const x = T.tensor([1], [1], 'f64');
    T.dispose([x, T.mul(x, x)]);
    const { code, out } = await runCli(['info', '--json'], { projectsDir });
    expect(code).toBe(0);
    const report = JSON.parse(out) as { fallbacks: T.FallbackEntry[] };
    expect(report.fallbacks).toContainEqual(
      expect.objectContaining({
        op: 'mul',
        kind: 'reference',
        from: 'wasm',
        to: 'js',
        why: 'no wasm code for f64, f64 inputs',
      }),
    );
  });

  it.skipIf(nativeSkip)(
    titled('--strict-backend fails the command (exit 1) instead of falling back', nativeSkip),
    async () => {
      const loose = await runCli(['--backend', 'native', 'ledger:f64-add', '--json'], { projectsDir });
      expect(loose.code).toBe(0);
      expect(JSON.parse(loose.out).values).toEqual([2, 4]);
      const strict = await runCli(['--backend', 'native', '--strict-backend', 'ledger:f64-add'], { projectsDir });
      expect(strict.code).toBe(1);
      expect(strict.out).toBe('');
      expect(strict.err).toMatch(/strict backend: native runs 'add' with the js reference kernel/);
      // The flag belongs to one invocation: it is off again afterwards (for in-process callers), and the
      // next invocation without it is lenient.
      expect(T.strictBackend()).toBe(false);
      expect((await runCli(['--backend', 'native', 'ledger:f64-add'], { projectsDir })).code).toBe(0);
    },
  );
});
