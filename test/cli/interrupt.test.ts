// Ctrl-C as users press it: the built CLI (npm test runs tsc first) in a child process, stylising an image on
// each backend, gets SIGINT while the network runs. It must stop promptly, exit 130 and write nothing: no
// output file and no temp file beside it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { BackendName } from '../../core/backend.js';
import { requiredBackends } from '../helpers/requirements.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin', 'efficientai-toolkit.js');
const scratch = mkdtempSync(join(tmpdir(), 'eai-sigint-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Interrupted {
  readonly code: number | null;
  /** Milliseconds from SIGINT to the process's exit. */
  readonly stopMs: number;
  readonly err: string;
  readonly unavailable: boolean;
}

/** Start a transfer, send SIGINT 300 ms after the network starts (`stylize…` in the debug log), time the exit. */
function interruptTransfer(backend: string, size: number, out: string): Promise<Interrupted> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [bin, 'style-transfer:transfer', '--backend', backend, '--size', `${size}`, '--output', out, '--log-level=debug'],
      { cwd: scratch, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    let sentAt = 0;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      err += chunk;
      if (sentAt === 0 && err.includes('stylize…')) {
        sentAt = -1;
        setTimeout(() => {
          sentAt = performance.now();
          child.kill('SIGINT');
        }, 300);
      }
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({
        code,
        stopMs: sentAt > 0 ? performance.now() - sentAt : Number.NaN,
        err,
        unavailable: code === 1 && err.includes(`backend '${backend}' is unavailable`),
      });
    });
  });
}

// Sizes where the network runs for seconds at least, so the SIGINT lands while it computes.
const cases: { backend: BackendName; size: number; boundMs: number }[] = [
  { backend: 'js', size: 512, boundMs: 2000 },
  { backend: 'wasm', size: 1024, boundMs: 2000 },
  { backend: 'webgpu', size: 512, boundMs: 2000 },
  { backend: 'native', size: 1024, boundMs: 2000 },
];

describe('Ctrl-C during a transfer', () => {
  for (const { backend, size, boundMs } of cases) {
    it(`stops ${backend} at ${size}² promptly, exits 130 and writes nothing`, async (ctx) => {
      if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
        throw new Error('dist/cli/main.js is missing: run `npx tsc -p tsconfig.json` (npm test does) first');
      }
      const dir = mkdtempSync(join(scratch, `${backend}-`));
      const r = await interruptTransfer(backend, size, join(dir, 'out.png'));
      if (r.unavailable && !requiredBackends.includes(backend)) ctx.skip(`the ${backend} backend is unavailable here`);
      expect(r.code, r.err).toBe(130);
      expect(r.err).toMatch(/interrupted \(Ctrl-C\)/);
      expect(r.stopMs).toBeLessThan(boundMs);
      expect(readdirSync(dir)).toEqual([]);
    });
  }
});
