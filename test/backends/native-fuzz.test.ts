/**
 * The native addon with hostile sizes, strides, lengths and element types, called directly (not
 * through the kernels' TypeScript checks): every call must return or throw a JS Error, never
 * crash. native-fuzz-child.mjs makes the calls in a child process, so a segfault fails this test
 * (naming the call) instead of killing the test runner; the child runs under a 4 GiB address-space
 * limit, so a size that slipped through fails its allocation instead of taking the machine's memory.
 * EAI_FUZZ_SEED and EAI_FUZZ_RUNS change the seed (default 1) and the runs per function (200).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import '../../backends/node.js';
import { loadNativeAddon } from '../../backends/native/index.js';
import { backendSkipReason, titled } from '../helpers/requirements.js';

const skip = await backendSkipReason('native');
const child = path.join(import.meta.dirname, 'native-fuzz-child.mjs');
const scratch = mkdtempSync(path.join(tmpdir(), 'eai-native-fuzz-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

it.skipIf(skip)(titled('hostile arguments raise errors, never crash the process', skip), () => {
  const loaded = loadNativeAddon();
  if (!loaded.ok) throw new Error(loaded.reason);
  const lastCall = path.join(scratch, 'last-call.txt');
  const seed = process.env.EAI_FUZZ_SEED ?? '1';
  const runs = process.env.EAI_FUZZ_RUNS ?? '200';
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const command = `ulimit -v 4194304 2>/dev/null; exec ${[process.execPath, child, loaded.path, lastCall, seed, runs].map(quote).join(' ')}`;
  const result = spawnSync('bash', ['-c', command], { encoding: 'utf8', timeout: 120_000 });
  let last = '(none)';
  try {
    last = readFileSync(lastCall, 'utf8');
  } catch {
    // the child never got to a call
  }
  const how = result.signal ? `was killed by ${result.signal}` : `exited with ${result.status}`;
  expect(result.status, `the fuzz child ${how} (seed ${seed}) during: ${last}\n${result.stderr}`).toBe(0);
  const { calls, errors } = JSON.parse(result.stdout.trim().split('\n').pop()!) as { calls: number; errors: number };
  // Most calls were corrupted and must have been refused; some consistent ones ran.
  expect(calls).toBeGreaterThan(5000);
  expect(errors).toBeGreaterThan(calls / 2);
  expect(errors).toBeLessThan(calls);
});
