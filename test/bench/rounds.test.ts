import { describe, expect, it } from 'vitest';
import { type Contestant, contestant, runRounds, splitRuns } from '../../bench/rounds.js';

/** A contestant whose every run "takes" `ms` on a fake clock. */
function fake(name: string, ms: number, clock: { t: number }, calls: string[]): Contestant {
  return contestant(name, 'toolkit', 1, async (warmup, runs, budgetMs) => {
    calls.push(`${name} w${warmup} r${runs} b${budgetMs}`);
    clock.t += (warmup + runs) * ms;
    return { samples: Array.from({ length: runs }, () => ms) };
  });
}

describe('runRounds', () => {
  it('interleaves the contestants round by round, warming up in the first round only', async () => {
    const clock = { t: 0 };
    const calls: string[] = [];
    const ticks: string[] = [];
    const a = fake('a', 1, clock, calls);
    const b = fake('b', 2, clock, calls);
    await runRounds([a, b], {
      shares: splitRuns(5, 3),
      warmup: 2,
      now: () => clock.t,
      onMeasured: (l) => ticks.push(l),
    });
    // splitRuns(5, 3) = [2, 2, 1]
    expect(calls).toEqual([
      'a w2 r2 bInfinity',
      'b w2 r2 bInfinity',
      'a w0 r2 bInfinity',
      'b w0 r2 bInfinity',
      'a w0 r1 bInfinity',
      'b w0 r1 bInfinity',
    ]);
    expect(a.samples).toHaveLength(5);
    expect(a.spentMs).toBe(7); // 2 warm-ups + 5 runs of 1 ms
    expect(b.warmup).toBe(2);
    expect(ticks).toEqual(['a 1t', 'b 1t', 'a 1t', 'b 1t', 'a 1t', 'b 1t']);
  });

  it("settles before every turn, outside the contestant's time", async () => {
    const clock = { t: 0 };
    const calls: string[] = [];
    const a = fake('a', 1, clock, calls);
    const b = fake('b', 2, clock, calls);
    await runRounds([a, b], {
      shares: [1, 1],
      warmup: 0,
      now: () => clock.t,
      settle: async () => {
        calls.push('settle');
        clock.t += 100;
      },
    });
    expect(calls).toEqual([
      'settle',
      'a w0 r1 bInfinity',
      'settle',
      'b w0 r1 bInfinity',
      'settle',
      'a w0 r1 bInfinity',
      'settle',
      'b w0 r1 bInfinity',
    ]);
    expect(a.spentMs).toBe(2);
    expect(b.spentMs).toBe(4);
  });

  it('stops a contestant once its budget is spent, keeps its samples and says so', async () => {
    const clock = { t: 0 };
    const calls: string[] = [];
    const slow = fake('slow', 10, clock, calls);
    slow.budgetMs = 25;
    const ticks: string[] = [];
    await runRounds([slow], { shares: [1, 1, 1], warmup: 1, now: () => clock.t, onMeasured: (l) => ticks.push(l) });
    // Round 1: 1 warm-up + 1 run = 20 ms (5 left, passed on); round 2: 30 ms spent ≥ 25, round 3 skipped.
    expect(calls).toEqual(['slow w1 r1 b25', 'slow w0 r1 b5']);
    expect(slow.samples).toEqual([10, 10]);
    expect([...slow.notes]).toEqual(['2 of 3 timed runs: its time budget of 0.025 s ran out']);
    expect(ticks).toHaveLength(3); // skipped rounds still tick, so progress reaches its total
  });

  it('runs a once-contestant in the first round only, and drops a failing one with its error', async () => {
    const clock = { t: 0 };
    const calls: string[] = [];
    const once = fake('js', 100, clock, calls);
    once.once = true;
    const broken = contestant('wasm', 'toolkit', 2, async () => {
      throw new Error('no kernel');
    });
    const failures: string[] = [];
    await runRounds([once, broken], {
      shares: [2, 2],
      warmup: 3,
      now: () => clock.t,
      onFailure: (ct, err) => failures.push(`${ct.label}: ${err.message}`),
    });
    expect(calls).toEqual(['js w0 r1 bInfinity']);
    expect(once.samples).toEqual([100]);
    expect(broken.failed).toBe(true);
    expect(failures).toEqual(['wasm 2t: no kernel']);
  });

  it('rethrows when aborted instead of recording a failure', async () => {
    const ac = new AbortController();
    const c = contestant('native', 'toolkit', 1, async () => {
      ac.abort();
      throw new Error('aborted');
    });
    await expect(runRounds([c], { shares: [1], warmup: 0, signal: ac.signal })).rejects.toThrow('aborted');
  });
});
