/** The server's admission queue on its own: slots, arrival order, refusal when full, leaving while queued. */
import { describe, expect, it } from 'vitest';
import { QueueFullError, RequestQueue } from '../../../projects/lora/serve/queue.js';

describe('RequestQueue', () => {
  it('runs up to maxConcurrency, queues up to maxQueue in arrival order, refuses the rest', async () => {
    const queue = new RequestQueue({ maxConcurrency: 2, maxQueue: 2 });
    const order: string[] = [];
    const a = await queue.acquire();
    const b = await queue.acquire();
    const c = queue.acquire().then((release) => {
      order.push('c');
      return release;
    });
    const d = queue.acquire().then((release) => {
      order.push('d');
      return release;
    });
    expect([queue.running, queue.waiting]).toEqual([2, 2]);
    await expect(queue.acquire()).rejects.toBeInstanceOf(QueueFullError);
    b();
    b(); // a second release gives nothing back twice
    (await c)();
    a();
    (await d)();
    expect(order).toEqual(['c', 'd']);
    expect([queue.running, queue.waiting]).toEqual([0, 0]);
    await queue.idle();
  });

  it('a request aborted while waiting leaves the queue; idle() waits for the last slot', async () => {
    const queue = new RequestQueue({ maxConcurrency: 1, maxQueue: 4 });
    const first = await queue.acquire();
    const controller = new AbortController();
    const waiting = queue.acquire(controller.signal);
    expect(queue.waiting).toBe(1);
    controller.abort(new Error('client left'));
    await expect(waiting).rejects.toThrow('client left');
    expect(queue.waiting).toBe(0);
    let idle = false;
    const settled = queue.idle().then(() => {
      idle = true;
    });
    await Promise.resolve();
    expect(idle).toBe(false);
    first();
    await settled;
    expect(idle).toBe(true);
  });

  it('rejects limits that cannot work', () => {
    expect(() => new RequestQueue({ maxConcurrency: 0, maxQueue: 1 })).toThrow(/maxConcurrency 0/);
    expect(() => new RequestQueue({ maxConcurrency: 1, maxQueue: -1 })).toThrow(/maxQueue -1/);
  });
});
