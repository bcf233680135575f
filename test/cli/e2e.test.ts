// End-to-end: the installed command as users run it, `node bin/efficientai-toolkit.js`, against the
// built dist/ (npm test runs tsc first). Spawns run in parallel and are kept few: each costs ~0.3 s.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin', 'efficientai-toolkit.js');

interface Result {
  code: number;
  out: string;
  err: string;
}

function run(args: string[], script = bin): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, ...args],
      { cwd: root, env: { ...process.env, NO_COLOR: '1' } },
      (error, out, err) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, out, err });
      },
    );
  });
}

const runs: Record<string, Promise<Result>> = {};

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/cli/main.js is missing: run `npx tsc -p tsconfig.json` (npm test does) before these tests');
  }
  const cases: Record<string, string[]> = {
    help: ['--help'],
    info: ['info', '--json'],
    doctor: ['doctor'],
    doctorJson: ['doctor', '--json'],
    unknownNamespace: ['lora-finetuning:train'],
    unknownCommand: ['lora:distill'],
    bogusBackend: ['--backend', 'bogus', 'info'],
  };
  for (const [name, args] of Object.entries(cases)) runs[name] = run(args);
});

describe('efficientai-toolkit (built)', () => {
  it('--help lists the three workflows with their seed aliases', async () => {
    const { code, out } = await runs.help;
    expect(code).toBe(0);
    expect(out).toContain('lora (alias: lora-finetuning-mlx)');
    expect(out).toContain('compression (alias: model-compression-mlx)');
    expect(out).toContain('style-transfer (alias: coreml-stable-diffusion-style-transfer)');
  });

  it('info --json is one JSON object with the js backend available and live tensor counts', async () => {
    const { code, out } = await runs.info;
    expect(code).toBe(0);
    const info = JSON.parse(out);
    expect(info.backends.js.available).toBe(true);
    expect(info.backends.js.kernels.length).toBeGreaterThan(0);
    expect(info.memory.tensors).toBe(0);
    expect(info.system.node).toBe(process.version);
    // The rule every command follows: no --backend and no config file means auto.
    expect(info.currentBackend).toBe(info.autoBackend);
  });

  it('doctor exits 0 because the js backend works, in text and JSON', async () => {
    const text = await runs.doctor;
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/ok\s+js computes/);
    expect(text.out).toContain('Result: the js backend works.');
    const json = await runs.doctorJson;
    expect(json.code).toBe(0);
    const report = JSON.parse(json.out);
    expect(report.ok).toBe(true);
    expect(report.checks.find((c: { id: string }) => c.id === 'js.compute').status).toBe('ok');
  });

  it('exits 2 with suggestions for an unknown namespace or command', async () => {
    const ns = await runs.unknownNamespace;
    expect(ns.code).toBe(2);
    expect(ns.err).toContain("unknown namespace 'lora-finetuning'");
    expect(ns.err).toContain('lora-finetuning-mlx (alias of lora)');
    const cmd = await runs.unknownCommand;
    expect(cmd.code).toBe(2);
    expect(cmd.err).toContain("unknown command 'distill'");
    expect(cmd.out).toBe('');
  });

  it('exits 2 for --backend bogus, listing the backends', async () => {
    const { code, err } = await runs.bogusBackend;
    expect(code).toBe(2);
    expect(err).toContain("unknown backend 'bogus'; choose one of js, wasm, webgpu, native, auto");
  });

  it('the shim says how to build when dist/ is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eai-bin-'));
    mkdirSync(join(dir, 'bin'));
    copyFileSync(bin, join(dir, 'bin', 'efficientai-toolkit.js'));
    const { code, err } = await run(['--help'], join(dir, 'bin', 'efficientai-toolkit.js'));
    expect(code).toBe(1);
    expect(err).toContain('run npm install (it builds the CLI) or npm run build');
  });
});
