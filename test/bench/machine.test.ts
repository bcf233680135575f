import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { quietHandovers, waitForQuiet } from '../../bench/machine.js';

/** A worker thread that keeps one core busy for `ms`; resolves when it has started spinning. */
async function spinFor(ms: number): Promise<{ done: Promise<void> }> {
  const w = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     parentPort.postMessage('go');
     const end = Date.now() + workerData.ms; let x = 0;
     while (Date.now() < end) x += Math.sqrt(x + 1);
     parentPort.postMessage(x);`,
    { eval: true, workerData: { ms } },
  );
  await new Promise((resolve) => w.once('message', resolve));
  const done = new Promise<void>((resolve) => w.once('message', () => resolve())).then(() =>
    w.terminate().then(() => {}),
  );
  return { done };
}

describe('waitForQuiet', () => {
  it('waits while a thread of this process is busy and returns once it stops', async () => {
    const spin = await spinFor(400);
    // A 40 ms window: on a loaded machine (the suite's other files) a 5 ms window can fall where
    // the spinner was not scheduled at all and look quiet; over 40 ms it gets well over 10% of a core.
    const q = await waitForQuiet({ maxWaitMs: 5000, windowMs: 40 });
    expect(q.quiet).toBe(true);
    // The spinner ran ~400 ms from its start; the wait cannot end well before it did.
    expect(q.waitedMs).toBeGreaterThanOrEqual(200);
    await spin.done;
  });

  it('gives up after maxWaitMs and says the process is still busy', async () => {
    const spin = await spinFor(1500);
    const q = await waitForQuiet({ maxWaitMs: 60 });
    expect(q.quiet).toBe(false);
    expect(q.waitedMs).toBeGreaterThanOrEqual(60);
    expect(q.waitedMs).toBeLessThan(1500);
    await spin.done;
  });

  it('counts the handovers that stayed busy in its note', async () => {
    const h = quietHandovers({ maxWaitMs: 30 });
    const spin = await spinFor(400);
    await h.settle();
    await spin.done;
    expect(h.note()).toMatch(/1 of 1 handovers were still busy after 30 ms/);
  });
});
