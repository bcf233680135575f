/**
 * Kill and resume: a real training process (the built CLI, dropout on, crossing epochs) is killed with
 * SIGKILL after its iteration-8 checkpoint; `lora:train --resume` continues and reports the very training
 * losses of an uninterrupted run, and ends with the same adapter.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSafetensorsFile } from '../../../node/io/safetensors-file.js';
import { modelsDir, repoRoot } from '../../helpers/model-files.js';
import { runCli } from '../../helpers/run-cli.js';

const dir = await mkdtemp(join(tmpdir(), 'eai-lora-resume-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const env = { EAI_MODELS_DIR: modelsDir };
const SHIM = join(repoRoot, 'bin', 'efficientai-toolkit.js');
const built = existsSync(join(repoRoot, 'dist', 'cli', 'main.js'));

const flags = (path: string) => [
  'lora:train',
  '--iters',
  '16',
  '--save-every',
  '4',
  '--steps-per-report',
  '1',
  '--val-batches',
  '0',
  '--dropout',
  '0.2',
  '--learning-rate',
  '3e-4',
  '--rank',
  '4',
  '--num-layers',
  '2',
  '--adapter-path',
  path,
];

type Curve = { iteration: number; trainLoss?: number }[];

const trainLosses = (curve: Curve) =>
  Object.fromEntries(curve.filter((p) => p.trainLoss !== undefined).map((p) => [p.iteration, p.trainLoss]));

/** Runs the built CLI and SIGKILLs it once stderr shows `marker`; resolves with the signal it died of. */
function killAfter(args: string[], marker: RegExp): Promise<NodeJS.Signals | null> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [SHIM, ...args], {
      cwd: dir,
      env: { ...process.env, ...env, NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (marker.test(err)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve(signal));
  });
}

describe('lora:train --resume', () => {
  it.skipIf(!built)('continues a SIGKILLed run with the losses of an uninterrupted one', async () => {
    const whole = await runCli([...flags(join(dir, 'whole')), '--json'], { cwd: dir, env });
    expect(whole.code, whole.err).toBe(0);
    const expected = trainLosses(JSON.parse(whole.out).curve);

    const path = join(dir, 'killed');
    const signal = await killAfter(flags(path), /iter 8: saved/);
    expect(signal).toBe('SIGKILL');
    expect(existsSync(join(path, 'training_state.safetensors'))).toBe(true);

    const resumed = await runCli([...flags(path), '--resume', '--json'], { cwd: dir, env });
    expect(resumed.code, resumed.err).toBe(0);
    const losses = trainLosses(JSON.parse(resumed.out).curve);
    const first = Number(/resuming after iteration (\d+)/.exec(resumed.err)?.[1]);
    expect(first).toBeGreaterThanOrEqual(8);
    expect(Object.keys(losses).map(Number)).toEqual(Array.from({ length: 16 - first }, (_, i) => first + 1 + i));
    for (const [it, loss] of Object.entries(losses)) expect(loss).toBeCloseTo(expected[it]!, 6);

    const [a, b] = await Promise.all(
      ['whole', 'killed'].map((d) => loadSafetensorsFile(join(dir, d, 'adapters.safetensors'))),
    );
    for (const name of a.names) {
      const [x, y] = [(await a.read(name)).data, (await b.read(name)).data];
      const [xs, ys] = [Array.from(x as Float32Array), Array.from(y as Float32Array)];
      expect(ys.every((v, i) => Math.abs(v - xs[i]) <= 1e-6)).toBe(true);
    }
  });

  it('without a training state it says where it looked', async () => {
    const r = await runCli([...flags(join(dir, 'never')), '--resume'], { cwd: dir, env });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--resume: cannot read .*never\/training_state\.safetensors/);
  });
});
