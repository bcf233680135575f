import { describe, expect, it } from 'vitest';
import { createProgress, formatBytes, formatDuration, type ProgressStream } from '../../node/progress.js';

class Fake implements ProgressStream {
  chunks: string[] = [];
  constructor(
    public isTTY: boolean,
    public columns = 100,
  ) {}
  write(s: string): boolean {
    this.chunks.push(s);
    return true;
  }
  get text(): string {
    return this.chunks.join('');
  }
}

function clock(): { now: () => number; set: (ms: number) => void } {
  let t = 1_700_000_000_000;
  const base = t;
  return { now: () => t, set: (ms) => (t = base + ms) };
}

const MiB = 1024 * 1024;

describe('formatting', () => {
  it('formats bytes in binary units and durations as m:ss / h:mm:ss', () => {
    expect([
      formatBytes(0),
      formatBytes(1023),
      formatBytes(1536),
      formatBytes(10 * MiB),
      formatBytes(3 * 1024 ** 3),
    ]).toEqual(['0 B', '1023 B', '1.5 KiB', '10.0 MiB', '3.0 GiB']);
    expect([
      formatDuration(0),
      formatDuration(9.4),
      formatDuration(75),
      formatDuration(3725),
      formatDuration(-1),
    ]).toEqual(['0:00', '0:09', '1:15', '1:02:05', '--:--']);
  });
});

describe('TTY bar', () => {
  it('redraws one line with percent, bytes, rate and ETA, throttled, and ends with a newline', () => {
    const s = new Fake(true);
    const c = clock();
    const p = createProgress({ stream: s, unit: 'bytes', now: c.now, redrawMs: 100 });
    p.start(10 * MiB, 'get');
    expect(s.chunks).toEqual([`\rget [${'-'.repeat(30)}]   0% 0 B/10.0 MiB\x1b[K`]);
    c.set(1000);
    p.tick(MiB); // 1 MiB in 1 s: rate 1 MiB/s, 9 MiB left: ETA 9 s
    expect(s.chunks[1]).toBe(
      `\rget [${'#'.repeat(3)}${'-'.repeat(27)}]  10% 1.0 MiB/10.0 MiB 1.0 MiB/s ETA 0:09\x1b[K`,
    );
    c.set(1050);
    p.tick(MiB); // within 100 ms of the last draw: no redraw
    expect(s.chunks).toHaveLength(2);
    c.set(2000);
    p.tick(2 * MiB); // 4 MiB in 2 s = 2 MiB/s, 6 MiB left: 3 s
    expect(s.chunks[2]).toContain(' 40% 4.0 MiB/10.0 MiB 2.0 MiB/s ETA 0:03');
    c.set(4000);
    p.tick(6 * MiB);
    p.done();
    expect(s.chunks.at(-2)).toContain('100% 10.0 MiB/10.0 MiB');
    expect(s.chunks.at(-1)).toBe('\n');
    expect(s.text.split('\n')).toHaveLength(2); // everything else stayed on one line
    p.tick(1);
    p.done();
    expect(s.chunks.at(-1)).toBe('\n');
    expect(s.text.split('\n')).toHaveLength(2);
  });

  it('shows amount and rate without percent/ETA for unknown totals, and fits narrow terminals', () => {
    const s = new Fake(true, 40);
    const c = clock();
    const p = createProgress({ stream: s, now: c.now, unit: 'batches' });
    p.start(undefined, 'train');
    c.set(2000);
    p.tick(5);
    expect(s.chunks.at(-1)).toBe('\rtrain 5 batches 2.5 batches/s\x1b[K');
    const narrow = new Fake(true, 30);
    const q = createProgress({ stream: narrow, now: c.now, unit: 'bytes' });
    q.start(1000, 'a-very-long-label-for-a-file.bin');
    const line = narrow.chunks[0].replace('\r', '').replace('\x1b[K', '');
    expect(line.length).toBeLessThanOrEqual(29);
    expect(line).not.toContain('[');
  });

  it('abort clears the line and prints no summary', () => {
    const s = new Fake(true);
    const p = createProgress({ stream: s });
    p.start(3, 'x');
    p.abort();
    expect(s.chunks.at(-1)).toBe('\r\x1b[K');
    p.done();
    expect(s.text).not.toContain('\n');
  });
});

describe('non-TTY', () => {
  it('prints a line per 10 % milestone (skipping jumped-over ones) and a summary', () => {
    const s = new Fake(false);
    const c = clock();
    const p = createProgress({ stream: s, now: c.now });
    p.start(100, 'eval');
    expect(s.text).toBe('');
    for (let i = 1; i <= 100; i++) {
      c.set(i * 10);
      p.tick(1);
    }
    p.done();
    const lines = s.text.trim().split('\n');
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe('eval: 10% (10/100 items, 100.0 items/s)');
    expect(lines[8]).toBe('eval: 90% (90/100 items, 100.0 items/s)');
    expect(lines[9]).toBe('eval: done, 100/100 items in 1.0s (100.0 items/s)');
    const jump = new Fake(false);
    const q = createProgress({ stream: jump, now: c.now, milestonePercent: 25 });
    q.start(8, 'j');
    q.tick(7); // 87.5 %: one line (past the 75 % milestone), not three, saying where the work is
    expect(jump.text).toBe('j: 87% (7/8 items)\n');
    // A batch of four: each image is 25 %, whatever the milestone step.
    const four = new Fake(false);
    const b = createProgress({ stream: four, now: c.now, unit: 'images' });
    b.start(4, 'batch');
    for (let i = 0; i < 3; i++) b.tick();
    expect(four.text).toBe('batch: 25% (1/4 images)\nbatch: 50% (2/4 images)\nbatch: 75% (3/4 images)\n');
  });

  it('prints only the summary for unknown totals, nothing when quiet, and counts only new bytes of a resume', () => {
    const s = new Fake(false);
    const c = clock();
    const p = createProgress({ stream: s, now: c.now, unit: 'bytes' });
    p.start(undefined, 'dl', 4 * MiB);
    c.set(2000);
    for (let i = 0; i < 50; i++) p.tick(MiB / 50);
    p.done();
    expect(s.text).toBe('dl: done, 5.0 MiB in 2.0s (512.0 KiB/s)\n');
    const q = new Fake(true);
    const quiet = createProgress({ stream: q, quiet: true });
    quiet.start(10, 'q');
    quiet.tick(10);
    quiet.done();
    expect(q.text).toBe('');
  });

  it('json mode writes logger-shaped JSON lines even on a TTY', () => {
    const s = new Fake(true);
    const c = clock();
    const p = createProgress({ stream: s, now: c.now, format: 'json', milestonePercent: 50, unit: 'bytes' });
    p.start(1000, 'f.bin');
    c.set(1000);
    p.tick(600);
    c.set(2000);
    p.tick(400);
    p.done();
    const recs = s.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(recs).toEqual([
      {
        ts: new Date(c.now() - 1000).toISOString(),
        level: 'info',
        msg: 'progress',
        label: 'f.bin',
        current: 600,
        total: 1000,
        percent: 60,
        rate: 600,
      },
      {
        ts: new Date(c.now()).toISOString(),
        level: 'info',
        msg: 'done',
        label: 'f.bin',
        current: 1000,
        total: 1000,
        seconds: 2,
        rate: 500,
      },
    ]);
  });
});
