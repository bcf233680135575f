import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AtomicWriteError,
  isAtomicTempName,
  removeStaleTemps,
  writeFileAtomic,
  writeFileAtomicSync,
} from '../../node/atomic-write.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'eai-atomic-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('writeFileAtomic', () => {
  it('writes strings as UTF-8, bytes, and sync/async chunk iterables', async () => {
    const p = join(dir, 'out.bin');
    await writeFileAtomic(p, 'héllo');
    expect([...readFileSync(p)]).toEqual([0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f]);
    await writeFileAtomic(p, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(p)]).toEqual([1, 2, 3]);
    await writeFileAtomic(p, [new Uint8Array([4]), new Uint8Array([]), new Uint8Array([5, 6])]);
    expect([...readFileSync(p)]).toEqual([4, 5, 6]);
    async function* gen(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array([7]);
      await new Promise((r) => setTimeout(r, 1));
      yield new Uint8Array([8, 9]);
    }
    await writeFileAtomic(p, gen());
    expect([...readFileSync(p)]).toEqual([7, 8, 9]);
    expect(readdirSync(dir)).toEqual(['out.bin']);
  });

  it('keeps the permission bits of the file it replaces, or uses an explicit mode', async () => {
    if (process.platform === 'win32') return;
    const p = join(dir, 'script.sh');
    writeFileSync(p, 'old', { mode: 0o750 });
    await writeFileAtomic(p, 'new');
    expect(statSync(p).mode & 0o777).toBe(0o750);
    await writeFileAtomic(p, 'newer', { mode: 0o600 });
    expect(statSync(p).mode & 0o777).toBe(0o600);
  });

  it('names the path and leaves nothing behind when the directory is missing', async () => {
    const p = join(dir, 'missing', 'x.txt');
    const err = await writeFileAtomic(p, 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AtomicWriteError);
    expect((err as AtomicWriteError).code).toBe('ENOENT');
    expect((err as Error).message).toBe(`cannot write ${p}: its folder does not exist`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('keeps the original and removes the temp file when the data source throws mid-way', async () => {
    const p = join(dir, 'keep.txt');
    writeFileSync(p, 'original');
    function* failing(): Generator<Uint8Array> {
      yield new Uint8Array(1000).fill(65);
      throw new Error('source broke');
    }
    await expect(writeFileAtomic(p, failing())).rejects.toThrow(/^cannot write .*keep\.txt: source broke$/);
    expect(readFileSync(p, 'utf8')).toBe('original');
    expect(readdirSync(dir)).toEqual(['keep.txt']);
  });

  it('rejects non-byte chunks without touching the target', async () => {
    const p = join(dir, 'keep.txt');
    writeFileSync(p, 'original');
    const bad = ['text'] as unknown as Iterable<Uint8Array>;
    await expect(writeFileAtomic(p, bad)).rejects.toThrow(/chunks must be Uint8Array/);
    expect(readFileSync(p, 'utf8')).toBe('original');
    expect(readdirSync(dir)).toEqual(['keep.txt']);
  });

  it('concurrent writers each land whole: the result is exactly one of them', async () => {
    const p = join(dir, 'race.bin');
    const payloads = Array.from({ length: 8 }, (_, i) => new Uint8Array(50_000 + i).fill(i + 1));
    await Promise.all(payloads.map((b) => writeFileAtomic(p, b)));
    const got = readFileSync(p);
    const match = payloads.find((b) => b.length === got.length);
    expect(match).toBeDefined();
    expect(sha(got)).toBe(sha(match!));
    expect(readdirSync(dir)).toEqual(['race.bin']);
  });
});

describe('writeFileAtomicSync', () => {
  it('writes and replaces, and cleans up on failure', () => {
    const p = join(dir, 's.txt');
    writeFileAtomicSync(p, 'one');
    writeFileAtomicSync(p, [Buffer.from('tw'), Buffer.from('o')]);
    expect(readFileSync(p, 'utf8')).toBe('two');
    expect(() => writeFileAtomicSync(join(dir, 'nope', 's.txt'), 'x')).toThrow(AtomicWriteError);
    expect(readdirSync(dir)).toEqual(['s.txt']);
  });
});

describe('isAtomicTempName', () => {
  it('matches only the temp names for that target', () => {
    expect(isAtomicTempName('.a.bin.123.0123456789ab.tmp', 'a.bin')).toBe(true);
    expect(isAtomicTempName('.a.bin.123.0123456789ab.tmp', 'b.bin')).toBe(false);
    expect(isAtomicTempName('a.bin', 'a.bin')).toBe(false);
    expect(isAtomicTempName('.a.bin.x.0123456789ab.tmp', 'a.bin')).toBe(false);
  });
});

describe('removeStaleTemps', () => {
  it("removes the temp files of writers that are gone, not a live writer's or another target's", async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const names = [
      `.a.bin.${dead}.0123456789ab.tmp`,
      `.a.bin.${process.pid}.0123456789ab.tmp`,
      `.b.bin.${dead}.0123456789ab.tmp`,
      'a.bin',
    ];
    for (const n of names) writeFileSync(join(dir, n), 'x');
    expect(await removeStaleTemps(join(dir, 'a.bin'))).toEqual([names[0]]);
    expect(readdirSync(dir).sort()).toEqual(names.slice(1).sort());
    expect(await removeStaleTemps(join(dir, 'missing-dir', 'a.bin'))).toEqual([]);
  });
});

describe('crash safety (SIGKILL mid-write)', () => {
  // The child needs the real module, but Node 20 cannot import TypeScript; transpiling this one
  // dependency-free module with the installed compiler keeps the child honest without new packages.
  function buildChild(): string {
    const src = readFileSync(new URL('../../node/atomic-write.ts', import.meta.url), 'utf8');
    const js = ts.transpileModule(src, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const childDir = mkdtempSync(join(tmpdir(), 'eai-atomic-child-'));
    writeFileSync(join(childDir, 'atomic-write.mjs'), js);
    // A sync generator that, after enough chunks to make a partial temp file, tells the parent and then
    // blocks the thread forever, so the kill always lands between "some bytes written" and "rename".
    writeFileSync(
      join(childDir, 'child.mjs'),
      `import { writeSync } from 'node:fs';
import { writeFileAtomic } from './atomic-write.mjs';
const [target, chunks, size] = process.argv.slice(2);
function* gen() {
  for (let i = 0; ; i++) {
    if (i === Number(chunks)) {
      writeSync(1, 'writing\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    }
    yield new Uint8Array(Number(size)).fill(i & 255);
  }
}
await writeFileAtomic(target, gen());
`,
    );
    return childDir;
  }

  it('leaves the original byte-identical and at most a temp file behind', async () => {
    const childDir = buildChild();
    try {
      const target = join(dir, 'model.bin');
      const original = new Uint8Array(300_000).map((_, i) => (i * 31 + 7) & 255);
      writeFileSync(target, original);
      const child = spawn(process.execPath, [join(childDir, 'child.mjs'), target, '16', '65536'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, sig) => res(sig)));
      await new Promise<void>((res, rej) => {
        child.stdout.on('data', (d: Buffer) => {
          if (d.toString().includes('writing')) res();
        });
        child.on('exit', () => rej(new Error(`child exited before writing: ${stderr}`)));
      });
      // Mid-write: the temp file exists and already holds data, the target is still the original.
      const temps = readdirSync(dir).filter((n) => n !== 'model.bin');
      expect(temps).toHaveLength(1);
      expect(isAtomicTempName(temps[0], 'model.bin')).toBe(true);
      expect(statSync(join(dir, temps[0])).size).toBeGreaterThan(0);
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      expect(sha(readFileSync(target))).toBe(sha(original));
      for (const name of readdirSync(dir)) {
        if (name !== 'model.bin') expect(isAtomicTempName(name, 'model.bin')).toBe(true);
      }
    } finally {
      rmSync(childDir, { recursive: true, force: true });
    }
  });

  it('the transpiled child completes the replacement when not killed (control)', async () => {
    const childDir = buildChild();
    try {
      const target = join(dir, 'model.bin');
      writeFileSync(target, 'old');
      writeFileSync(
        join(childDir, 'finite.mjs'),
        `import { writeFileAtomic } from './atomic-write.mjs';
await writeFileAtomic(process.argv[2], (function* () { for (let i = 0; i < 4; i++) yield new Uint8Array(1000).fill(i); })());
`,
      );
      const code = await new Promise<number | null>((res) => {
        spawn(process.execPath, [join(childDir, 'finite.mjs'), target], { stdio: 'ignore' }).on('exit', res);
      });
      expect(code).toBe(0);
      const got = readFileSync(target);
      expect(got.length).toBe(4000);
      expect([got[0], got[999], got[1000], got[3999]]).toEqual([0, 0, 1, 3]);
      expect(readdirSync(dir)).toEqual(['model.bin']);
    } finally {
      rmSync(childDir, { recursive: true, force: true });
    }
  });
});
