// node/interrupt.ts with the core: a real SIGINT in the middle of a synchronous tidy() of ops stops it at once
// (no signal handler could run there), closes the scopes the stopped code left open, and leaves the core usable.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const child = join(root, 'dist', 'test', 'helpers', 'interrupt-child.js');

describe('sigintInterrupter', () => {
  it('ends a synchronous stretch of ops on SIGINT with a CancelledError and leaks nothing', async () => {
    if (!existsSync(child)) throw new Error(`${child} is missing: run \`npx tsc -p tsconfig.json\` (npm test does)`);
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [child], { timeout: 60_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    const r = JSON.parse(out);
    expect(r).toMatchObject({ error: 'CancelledError', message: 'interrupted (test)', leaked: 0, live: 0 });
    // It ran a while (the SIGINT came 200 ms in) and stopped long before its 10⁷ iterations.
    expect(r.ops).toBeGreaterThan(0);
    expect(r.ops).toBeLessThan(1e7);
    // The signal reached the interrupter, not the process's own handler, and the core still computes.
    expect(r.handlerRan).toBe(false);
    expect(r.after).toBeCloseTo(64 * 64 * 1.01, 1);
  });
});
