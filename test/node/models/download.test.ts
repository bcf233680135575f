import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../node/log.js';
import { ChecksumError, DownloadError, downloadModelFile, downloadToFile } from '../../../node/models/download.js';
import type { ModelEntry, ModelFile } from '../../../node/models/registry.js';
import { createProgress } from '../../../node/progress.js';

// A TFLite-shaped fixture (root offset + "TFL3"), big enough to be cut mid-transfer.
const FIXTURE = (() => {
  const b = randomBytes(300_000);
  b.writeUInt32LE(16, 0);
  b.write('TFL3', 4, 'latin1');
  return b;
})();
const OTHER = Buffer.from(FIXTURE).fill(7, 1000, 2000);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const FIXTURE_SHA = sha(FIXTURE);

interface Seen {
  url: string;
  range: string | undefined;
}
let seen: Seen[] = [];
let dropsLeft = 0;
let failsLeft = 0;
let server: Server;
let base: string;

function sendRange(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (!m) {
    res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes' });
    res.end(body);
    return;
  }
  const start = Number(m[1]);
  if (start >= body.length) {
    res.writeHead(416, { 'content-range': `bytes */${body.length}` });
    res.end();
    return;
  }
  res.writeHead(206, {
    'content-length': body.length - start,
    'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
  });
  res.end(body.subarray(start));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '';
    seen.push({ url, range: req.headers.range });
    if (url === '/range/model.tflite') return sendRange(req, res, FIXTURE);
    if (url === '/redirect/model.tflite') {
      res.writeHead(302, { location: '/range/model.tflite' });
      return res.end();
    }
    if (url === '/norange/model.tflite') {
      res.writeHead(200, { 'content-length': FIXTURE.length });
      return res.end(FIXTURE);
    }
    if (url === '/drop/model.tflite') {
      if (dropsLeft > 0 && !req.headers.range) {
        dropsLeft--;
        // Promise the whole file, send a third of it, then cut the connection.
        res.writeHead(200, { 'content-length': FIXTURE.length });
        res.write(FIXTURE.subarray(0, 100_000), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      }
      return sendRange(req, res, FIXTURE);
    }
    if (url === '/flaky/model.tflite') {
      if (failsLeft > 0) {
        failsLeft--;
        res.writeHead(503);
        return res.end('busy');
      }
      return sendRange(req, res, FIXTURE);
    }
    if (url === '/other/model.tflite') return sendRange(req, res, OTHER);
    if (url === '/html/model.tflite') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<!DOCTYPE html><html><body>Sign in</body></html>');
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

let dir: string;
beforeEach(() => {
  seen = [];
  dropsLeft = 0;
  failsLeft = 0;
  dir = mkdtempSync(join(tmpdir(), 'eai-dl-'));
  return () => rmSync(dir, { recursive: true, force: true });
});

const quiet = { retryDelayMs: 0, logger: createLogger({ level: 'silent' }) };
const expectFixture = { sha256: FIXTURE_SHA, size: FIXTURE.length, format: 'tflite' as const };

function leftovers(): string[] {
  return readdirSync(dir).filter((n) => n !== 'model.tflite');
}

describe('downloadToFile', () => {
  it('downloads, verifies and renames into place, following redirects', async () => {
    const dest = join(dir, 'model.tflite');
    const r = await downloadToFile(`${base}/redirect/model.tflite`, dest, expectFixture, quiet);
    expect(readFileSync(dest).equals(FIXTURE)).toBe(true);
    expect(r).toEqual({
      path: dest,
      status: 'downloaded',
      bytes: FIXTURE.length,
      sha256: FIXTURE_SHA,
      verifiedBy: 'sha256',
      resumedFrom: 0,
    });
    expect(leftovers()).toEqual([]);
  });

  it('resumes from an existing .partial with a Range request (206)', async () => {
    const dest = join(dir, 'model.tflite');
    writeFileSync(`${dest}.partial`, FIXTURE.subarray(0, 123_456));
    const r = await downloadToFile(`${base}/range/model.tflite`, dest, expectFixture, quiet);
    expect(seen.map((s) => s.range)).toEqual(['bytes=123456-']);
    expect(r.resumedFrom).toBe(123_456);
    expect(readFileSync(dest).equals(FIXTURE)).toBe(true);
    expect(leftovers()).toEqual([]);
  });

  it('finishes a .partial that is already complete (416 with the full length)', async () => {
    const dest = join(dir, 'model.tflite');
    writeFileSync(`${dest}.partial`, FIXTURE);
    await downloadToFile(`${base}/range/model.tflite`, dest, expectFixture, quiet);
    expect(seen.map((s) => s.range)).toEqual([`bytes=${FIXTURE.length}-`]);
    expect(readFileSync(dest).equals(FIXTURE)).toBe(true);
  });

  it('starts over when the server ignores Range (200), instead of appending', async () => {
    const dest = join(dir, 'model.tflite');
    writeFileSync(`${dest}.partial`, Buffer.alloc(5000, 0xee)); // wrong bytes: appending would corrupt
    await downloadToFile(`${base}/norange/model.tflite`, dest, expectFixture, quiet);
    expect(seen.map((s) => s.range)).toEqual(['bytes=5000-']);
    expect(readFileSync(dest).equals(FIXTURE)).toBe(true);
  });

  it('resumes automatically after the connection drops mid-transfer', async () => {
    dropsLeft = 1;
    const dest = join(dir, 'model.tflite');
    const out: string[] = [];
    const progress = createProgress({ stream: { write: (s: string) => out.push(s) }, unit: 'bytes' });
    await downloadToFile(`${base}/drop/model.tflite`, dest, expectFixture, { ...quiet, progress });
    expect(seen).toHaveLength(2);
    expect(seen[0].range).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(seen[1].range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(100_000);
    expect(readFileSync(dest).equals(FIXTURE)).toBe(true);
    expect(out.at(-1)).toMatch(/^model\.tflite: done, 293\.0 KiB\/293\.0 KiB in /);
  });

  it('keeps the partial when retries run out, and a later call resumes it', async () => {
    dropsLeft = 1;
    const dest = join(dir, 'model.tflite');
    const err = await downloadToFile(`${base}/drop/model.tflite`, dest, expectFixture, { ...quiet, retries: 0 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(/connection (lost|closed) after/);
    expect((err as Error).message).toContain('run the download again to resume');
    const kept = readFileSync(`${dest}.partial`).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(FIXTURE.length);
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.lock`)).toBe(false);

    const r = await downloadToFile(`${base}/drop/model.tflite`, dest, expectFixture, quiet);
    expect(seen.at(-1)?.range).toBe(`bytes=${kept}-`);
    expect(r.resumedFrom).toBe(kept);
    expect(readFileSync(dest).equals(FIXTURE)).toBe(true);
    expect(leftovers()).toEqual([]);
  });

  it('retries 5xx answers', async () => {
    failsLeft = 2;
    const dest = join(dir, 'model.tflite');
    await downloadToFile(`${base}/flaky/model.tflite`, dest, expectFixture, quiet);
    expect(seen).toHaveLength(3);
    expect(readFileSync(dest).equals(FIXTURE)).toBe(true);
  });

  it('deletes the download and reports expected vs actual on a checksum mismatch', async () => {
    const dest = join(dir, 'model.tflite');
    const err = await downloadToFile(`${base}/other/model.tflite`, dest, expectFixture, quiet).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumError);
    const ce = err as ChecksumError;
    expect([ce.expected, ce.actual]).toEqual([FIXTURE_SHA, sha(OTHER)]);
    expect(ce.message).toContain(`expected sha256 ${FIXTURE_SHA}, got ${sha(OTHER)}`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('fails on 404 at once, naming the status and URL, leaving nothing behind', async () => {
    const dest = join(dir, 'model.tflite');
    const url = `${base}/missing/model.tflite`;
    const err = await downloadToFile(url, dest, expectFixture, quiet).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).status).toBe(404);
    expect((err as Error).message).toContain(`HTTP 404 Not Found from ${url}`);
    expect(seen).toHaveLength(1);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('without a checksum, rejects a file of the wrong format (an HTML page)', async () => {
    const dest = join(dir, 'model.tflite');
    const err = await downloadToFile(
      `${base}/html/model.tflite`,
      dest,
      { sha256: null, format: 'tflite' },
      quiet,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toContain('HTML page');
    expect(readdirSync(dir)).toEqual([]);
    const ok = await downloadToFile(`${base}/range/model.tflite`, dest, { sha256: null, format: 'tflite' }, quiet);
    expect(ok.verifiedBy).toBe('format');
    expect(ok.sha256).toBe(FIXTURE_SHA);
  });

  it('refuses when the server size differs from the registry size', async () => {
    const err = await downloadToFile(
      `${base}/range/model.tflite`,
      join(dir, 'model.tflite'),
      { size: 10 },
      quiet,
    ).catch((e: unknown) => e);
    expect((err as Error).message).toContain(`is ${FIXTURE.length} bytes but the registry expects 10`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses to share a partial file with a live download, but clears a stale lock', async () => {
    const dest = join(dir, 'model.tflite');
    writeFileSync(`${dest}.lock`, String(process.pid));
    await expect(downloadToFile(`${base}/range/model.tflite`, dest, expectFixture, quiet)).rejects.toThrow(
      /another download of .* is running/,
    );
    expect(seen).toHaveLength(0);
    writeFileSync(`${dest}.lock`, '2147483646'); // no such process
    await downloadToFile(`${base}/range/model.tflite`, dest, expectFixture, quiet);
    expect(readFileSync(dest).equals(FIXTURE)).toBe(true);
    expect(leftovers()).toEqual([]);
  });
});

describe('downloadModelFile', () => {
  const entry: ModelEntry = {
    name: 'fixture',
    folder: 'fixture-folder',
    description: 'test fixture',
    license: 'MIT',
    licenseUrl: 'https://example.invalid/LICENSE',
    files: [],
  };
  const file = (url: string): ModelFile => ({
    path: 'model.tflite',
    url,
    sha256: FIXTURE_SHA,
    sha256Source: 'test',
    size: FIXTURE.length,
    format: 'tflite',
  });

  it('fills <cache>/<folder>/<file> once, then reports the verified copy as present', async () => {
    const f = file(`${base}/range/model.tflite`);
    const first = await downloadModelFile(entry, f, { ...quiet, cacheDir: dir });
    expect(first.path).toBe(join(dir, 'fixture-folder', 'model.tflite'));
    expect(first.status).toBe('downloaded');
    const second = await downloadModelFile(entry, f, { ...quiet, cacheDir: dir });
    expect(second).toMatchObject({ status: 'present', verifiedBy: 'sha256', sha256: FIXTURE_SHA });
    expect(seen).toHaveLength(1);
  });

  it('replaces a corrupt cached copy', async () => {
    const dest = join(dir, 'fixture-folder', 'model.tflite');
    mkdirSync(join(dir, 'fixture-folder'));
    writeFileSync(dest, OTHER);
    const r = await downloadModelFile(entry, file(`${base}/range/model.tflite`), { ...quiet, cacheDir: dir });
    expect(r.status).toBe('downloaded');
    expect(readFileSync(dest).equals(FIXTURE)).toBe(true);
  });
});
