import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';

const projectsDir = fileURLToPath(new URL('./fixtures/projects/', import.meta.url));

/** Runs the CLI in-process against the fixture workflows. */
function cli(argv: string[], env: Record<string, string | undefined> = {}, cwd = '/work') {
  return runCli(argv, { env, cwd, projectsDir });
}

describe('help', () => {
  it('lists namespaces with aliases and their commands, built-ins and global options', async () => {
    const { code, out, err } = await cli(['--help']);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).toContain('sample (alias: sample-long-name)');
    expect(out).toMatch(/sample:echo\s+Print the parsed arguments/);
    expect(out).toMatch(/other \n|other\n/);
    expect(out).toContain('(no commands yet)');
    expect(out).toMatch(/info\s+Show the machine/);
    expect(out).toContain('--backend <js|wasm|webgpu|native|auto>');
    // No arguments at all shows the same overview.
    expect((await cli([])).out).toBe(out);
  });

  it('shows a command: usage, description, every option with type and default, examples', async () => {
    for (const argv of [
      ['sample:echo', '--help'],
      ['sample:echo', '-h'],
      ['help', 'sample:echo'],
      ['sample-long-name:echo', '--help'],
    ]) {
      const { code, out } = await cli(argv);
      expect(code).toBe(0);
      expect(out).toContain('Usage:\n  efficientai-toolkit sample:echo [options]');
      expect(out).toContain('Writes its arguments as the result');
      expect(out).toMatch(/--size <integer>\s+A size \(integer\)/);
      expect(out).toMatch(/--rate <number>\s+A rate \(number; default: 0.5\)/);
      expect(out).toMatch(/--mode <fast\|slow>\s+Speed \(default: fast\)/);
      expect(out).toMatch(/--fp16\s+Half precision\n/);
      expect(out).toMatch(/--\[no-\]cache\s+Use the cache \(default: true\)/);
      expect(out).toMatch(/--model <dir>\s+Model folder\n/);
      expect(out).toMatch(/--tag <string>\s+A tag \(string; repeatable\)/);
      expect(out).toContain('Examples:\n  efficientai-toolkit sample:echo --size 3');
    }
    const required = await cli(['sample:fail', '--help']);
    expect(required.out).toContain('efficientai-toolkit sample:fail --kind <runtime|usage|shape|code> [options]');
  });

  it('lists one namespace for `ns --help`, `ns:`, `ns` and `help ns`, and says so when it has no commands', async () => {
    const outs = await Promise.all(
      [['sample', '--help'], ['sample:'], ['sample'], ['help', 'sample-long-name']].map((a) => cli(a)),
    );
    for (const r of outs) {
      expect(r.code).toBe(0);
      expect(r.out).toContain('sample (alias: sample-long-name): A fixture workflow');
      expect(r.out).toMatch(/sample:fail\s+Fail in a chosen way/);
    }
    expect((await cli(['other:'])).out).toContain('no commands yet');
  });

  it('prints the command tree as JSON with --help --json', async () => {
    const { out } = await cli(['--help', '--json']);
    const tree = JSON.parse(out);
    expect(tree.namespaces.map((n: { namespace: string }) => n.namespace)).toEqual(['other', 'sample']);
    expect(tree.namespaces[1].commands[0].options[1]).toMatchObject({ name: 'size', type: 'integer' });
  });

  it('prints the version from package.json', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect((await cli(['--version'])).out).toBe(`${version}\n`);
  });
});

describe('routing and parsing', () => {
  it('runs a command with typed arguments, reachable by its alias too', async () => {
    const run = await cli([
      'sample:echo',
      '--size',
      '3',
      '--tag',
      'a',
      '--tag=b',
      '--no-cache',
      '--model',
      'm',
      '--json',
      '--backend',
      'js',
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toEqual({
      args: {
        name: 'world',
        size: 3,
        rate: 0.5,
        mode: 'fast',
        fp16: false,
        cache: false,
        model: '/work/m',
        tag: ['a', 'b'],
      },
      backend: 'js',
    });
    const viaAlias = await cli(['sample-long-name:echo', '--name', 'Ada']);
    expect(viaAlias).toMatchObject({ code: 0, out: 'hello Ada\n' });
  });

  it('accepts global options before or after the command', async () => {
    const r = await cli(['--json', '--backend', 'js', 'sample:echo', '--log-level=warn']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).backend).toBe('js');
  });

  it('exits 2 naming the close matches for an unknown namespace, command or option', async () => {
    const ns = await cli(['sample-long:echo']);
    expect(ns.code).toBe(2);
    expect(ns.err).toContain(
      "unknown namespace 'sample-long' in 'sample-long:echo'. Did you mean: sample-long-name (alias of sample)",
    );
    const cmd = await cli(['sample:ecoh']);
    expect(cmd.code).toBe(2);
    expect(cmd.err).toContain("unknown command 'ecoh' in namespace sample. Did you mean: sample:echo?");
    const bare = await cli(['echo']);
    expect(bare.code).toBe(2);
    expect(bare.err).toContain('Did you mean: sample:echo');
    const empty = await cli(['other:train']);
    expect(empty).toMatchObject({ code: 2 });
    expect(empty.err).toContain('the other namespace has no commands yet');
    const opt = await cli(['sample:echo', '--szie', '3']);
    expect(opt.code).toBe(2);
    expect(opt.err).toContain('unknown option --szie. Did you mean: --size?');
    const before = await cli(['--jsno', 'sample:echo']);
    expect(before.code).toBe(2);
    expect(before.err).toContain('Did you mean: --json?');
  });

  it('exits 2 for a badly typed value or a missing required option', async () => {
    const bad = await cli(['sample:echo', '--size', 'abc']);
    expect(bad).toMatchObject({ code: 2, out: '' });
    expect(bad.err).toBe("error: --size: expected an integer, got 'abc'\n");
    const missing = await cli(['sample:fail']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('missing required option --kind');
  });
});

describe('exit codes and errors', () => {
  it('maps a runtime error to 1 with a concise message, and shows the stack only at debug level', async () => {
    const plain = await cli(['sample:fail', '--kind', 'runtime']);
    expect(plain.code).toBe(1);
    expect(plain.err).toBe('error: boom (run with --log-level debug for the stack trace)\n');
    const debug = await cli(['sample:fail', '--kind', 'runtime', '--log-level', 'debug']);
    expect(debug.code).toBe(1);
    expect(debug.err).toMatch(/^error: boom\nError: boom\n\s+at /);
  });

  it('maps a UsageError from a command to 2 and a ShapeError to 1, without internal class names', async () => {
    const usage = await cli(['sample:fail', '--kind', 'usage']);
    expect(usage).toMatchObject({ code: 2, err: 'error: input.jsonl: line 3 is not JSON\n' });
    const shape = await cli(['sample:fail', '--kind', 'shape']);
    expect(shape.code).toBe(1);
    expect(shape.err).toContain('error: matmul: shapes [2,3] and [4,5] do not match (run with');
    expect(shape.err).not.toContain('ShapeError');
  });

  it("passes a command's own exit code through", async () => {
    expect((await cli(['sample:fail', '--kind', 'code'])).code).toBe(3);
  });

  it('writes errors as JSON lines with --log-format json', async () => {
    const r = await cli(['sample:fail', '--kind', 'runtime', '--log-format', 'json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.err)).toMatchObject({ level: 'error', msg: 'boom', error: 'Error', exitCode: 1 });
  });

  it('exits 2 for an unknown backend, listing the choices; 1 for a known but unavailable one', async () => {
    const unknown = await cli(['--backend', 'cuda', 'sample:echo']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("unknown backend 'cuda'; choose one of js, wasm, webgpu, native, auto");
    // A machine where webgpu is missing: the real core, with its availability report replaced.
    const core = await import('../../index.js');
    const noGpu = async () => {
      const all = await core.backendAvailability();
      return { ...all, webgpu: { available: false, reason: 'no adapter (test)', autoRank: -1 } };
    };
    const runtime = async () => ({
      ...core,
      backendAvailability: noGpu,
      availableBackendNames: async () => core.BACKEND_NAMES.filter((n) => n === 'js'),
    });
    const { code, err } = await runCli(['--backend', 'webgpu', 'sample:echo'], { projectsDir, runtime });
    expect(code).toBe(1);
    expect(err).toContain("backend 'webgpu' is unavailable: no adapter (test). Available here: js.");
    expect(err).toContain('doctor');
  });
});

describe('config files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eai-cli-'));
  const file = join(dir, 'eai.yaml');
  writeFileSync(
    file,
    [
      'backend: js',
      'sample:',
      '  echo:',
      '    size: 4',
      '    model: ./weights',
      'profiles:',
      '  big:',
      '    sample: { echo: { size: 40 } }',
    ].join('\n'),
  );

  it('supplies option values; a profile overrides the file; the command line overrides both', async () => {
    const fromFile = await cli(['sample:echo', '--json', '--config', file]);
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.out).args).toMatchObject({ size: 4, model: join(dir, 'weights') });
    const profiled = await cli(['sample:echo', '--json', '--config', file, '--profile', 'big']);
    expect(JSON.parse(profiled.out).args.size).toBe(40);
    const flagged = await cli(['sample:echo', '--json', '--config', file, '--profile', 'big', '--size', '5']);
    expect(JSON.parse(flagged.out).args.size).toBe(5);
  });

  it('reads EAI_<NAMESPACE>__<COMMAND>__<OPTION> variables', async () => {
    const r = await cli(['sample:echo', '--json'], { EAI_SAMPLE__ECHO__SIZE: '9' });
    expect(JSON.parse(r.out).args.size).toBe(9);
  });

  it('exits 2 naming the key and a suggestion for a typo in the file', async () => {
    const bad = join(dir, 'bad.toml');
    writeFileSync(bad, '[sample.echo]\nszie = 3\n');
    const r = await cli(['sample:echo', '--config', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('sample.echo.szie: unknown key');
    expect(r.err).toContain('"size"');
  });
});

describe('default backend', () => {
  it('is the same for info, demo and every command: auto, unless --backend or the config names one', async () => {
    const info = JSON.parse((await cli(['info', '--json'])).out);
    expect(info.currentBackend).toBe(info.autoBackend);
    const demo = await cli(['demo', '--json']);
    expect(demo.code, demo.err).toBe(0);
    expect(JSON.parse(demo.out).backend).toBe(info.autoBackend);
    expect(JSON.parse((await cli(['sample:echo', '--json'])).out).backend).toBe(info.autoBackend);
    const named = JSON.parse((await cli(['info', '--json', '--backend', 'js'])).out);
    expect(named.currentBackend).toBe('js');
  });
});
