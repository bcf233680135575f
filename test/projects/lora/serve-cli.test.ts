/**
 * `lora:serve` as a command: the seed alias on bundled defaults (in process, stopped by its abort signal as
 * Ctrl-C stops it), the warning for a public host without a key, and SIGTERM draining a real child process
 * (the built CLI, `node bin/efficientai-toolkit.js`, as users run it; npm test builds dist/ first).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';
import { Sink } from '../../helpers/run-cli.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const STORY = ', there was a little girl named Lily. She loved to play outside in the park.';

interface Listening {
  url: string;
  baseURL: string;
  port: number;
  model: string;
}

/** Polls `read()` for the JSON line the command prints once it listens. */
async function listening(read: () => string, exited: () => boolean): Promise<Listening> {
  for (let i = 0; i < 1500; i++) {
    const line = read()
      .split('\n')
      .find((l) => l.startsWith('{'));
    if (line) return JSON.parse(line) as Listening;
    if (exited()) throw new Error(`the server exited before listening:\n${read()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the server did not report listening:\n${read()}`);
}

/** Runs the CLI in process until `signal` aborts, with the output readable while it runs. */
function serveInProcess(argv: string[]) {
  const stdout = new Sink();
  const stderr = new Sink();
  const controller = new AbortController();
  let done = false;
  const code = main(argv, { env: {}, cwd: root, stdout, stderr, signal: controller.signal }).finally(() => {
    done = true;
  });
  return {
    stdout,
    stderr,
    code,
    stop: () => controller.abort(new Error('interrupted by Ctrl-C')),
    ready: () =>
      listening(
        () => stdout.text,
        () => done,
      ),
  };
}

describe('lora:serve command', () => {
  it('the seed alias serves the bundled default model on a free port until interrupted (exit 130)', async () => {
    const run = serveInProcess(['lora-finetuning-mlx:serve', '--port', '0', '--json']);
    const at = await run.ready();
    expect(at.model).toBe('stories260K-hf');
    expect(at.url).toBe(`http://127.0.0.1:${at.port}`);
    expect(at.port).toBeGreaterThan(0);
    const client = new OpenAI({ baseURL: at.baseURL, apiKey: 'unused', maxRetries: 0 });
    const reply = await client.completions.create({ model: at.model, prompt: 'Once upon a time', max_tokens: 30 });
    expect(reply.choices[0].text.startsWith(STORY)).toBe(true);
    run.stop();
    expect(await run.code).toBe(130);
    expect(run.stderr.text).not.toContain('without --api-key');
    await expect(fetch(`${at.url}/health`)).rejects.toThrow();
  });

  it('--host 0.0.0.0 works and warns when no --api-key is set', async () => {
    const run = serveInProcess(['lora:serve', '--host', '0.0.0.0', '--port', '0', '--json']);
    const at = await run.ready();
    const health = await fetch(`http://127.0.0.1:${at.port}/health`);
    expect(health.status).toBe(200);
    expect(run.stderr.text).toMatch(/listening on 0\.0\.0\.0 without --api-key.*set --api-key/);
    run.stop();
    expect(await run.code).toBe(130);
  });

  it('takes the API key from EAI_LORA__SERVE__API_KEY (the config system), keeping it off the command line', async () => {
    const stdout = new Sink();
    const stderr = new Sink();
    const controller = new AbortController();
    let done = false;
    const code = main(['lora:serve', '--port', '0', '--json'], {
      env: { EAI_LORA__SERVE__API_KEY: 'sk-env' },
      cwd: root,
      stdout,
      stderr,
      signal: controller.signal,
    }).finally(() => {
      done = true;
    });
    const at = await listening(
      () => stdout.text,
      () => done,
    );
    expect((await fetch(`${at.url}/health`)).status).toBe(401);
    expect((await fetch(`${at.url}/health`, { headers: { authorization: 'Bearer sk-env' } })).status).toBe(200);
    controller.abort();
    expect(await code).toBe(130);
  });

  it('refuses bad flags with a usage error before loading anything', async () => {
    const stdout = new Sink();
    const stderr = new Sink();
    const code = await main(['lora:serve', '--port', '70000'], { env: {}, cwd: root, stdout, stderr });
    expect(code).toBe(2);
    expect(stderr.text).toContain('--port');
  });
});

describe('lora:serve as a process', () => {
  const bin = join(root, 'bin', 'efficientai-toolkit.js');

  it('SIGTERM lets the request in flight finish, then exits 0', async () => {
    if (!existsSync(join(root, 'dist', 'projects', 'lora', 'serve', 'run.js'))) {
      throw new Error('dist/ has no lora:serve: run `npx tsc -p tsconfig.json` (npm test does) before this test');
    }
    const child: ChildProcess = spawn(process.execPath, [bin, 'lora:serve', '--port', '0', '--json'], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let exited = false;
    void exit.then(() => {
      exited = true;
    });
    try {
      const at = await listening(
        () => out,
        () => exited,
      );
      const client = new OpenAI({ baseURL: at.baseURL, apiKey: 'unused', maxRetries: 0 });
      const stream = await client.completions.create({
        model: at.model,
        prompt: 'Once upon a time',
        max_tokens: 60,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let finish: string | null = null;
      let usage: OpenAI.CompletionUsage | null | undefined;
      let terminated = false;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.text ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        usage = chunk.usage ?? usage;
        if (!terminated) {
          terminated = true;
          child.kill('SIGTERM');
          // Stopped listening: new connections are refused while the stream goes on.
          for (let i = 0; i < 100; i++) {
            const refused = await fetch(`${at.url}/health`).then(
              () => false,
              () => true,
            );
            if (refused) break;
            await new Promise((r) => setTimeout(r, 20));
          }
          await expect(fetch(`${at.url}/health`)).rejects.toThrow();
        }
      }
      expect(text.startsWith(STORY)).toBe(true);
      expect(finish).toBe('length');
      expect(usage?.completion_tokens).toBe(60);
      expect(await exit).toBe(0);
      // Whether the request was still generating when the signal landed depends on the machine's speed; the
      // in-process drain test checks that close() waits for it.
      expect(err).toContain('SIGTERM: draining');
    } finally {
      if (!exited) child.kill('SIGKILL');
    }
  });
});
