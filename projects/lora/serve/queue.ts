/**
 * Admission control: at most `maxConcurrency` generations run at once (each holds a KV cache), at most
 * `maxQueue` more wait their turn in arrival order, and anything past that is refused at once, so a burst
 * cannot grow memory or latency without bound.
 * @module
 */

/** The queue is full: the request was not admitted (the server answers 429). */
export class QueueFullError extends Error {
  override name = 'QueueFullError';
}

export interface QueueLimits {
  readonly maxConcurrency: number;
  readonly maxQueue: number;
}

/** Gives the slot back; calling it again does nothing. */
export type Release = () => void;

interface Waiter {
  readonly grant: (release: Release) => void;
}

export class RequestQueue {
  #running = 0;
  readonly #waiting: Waiter[] = [];
  readonly #idle: (() => void)[] = [];

  constructor(readonly limits: QueueLimits) {
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value < 0 || (name === 'maxConcurrency' && value < 1)) {
        throw new RangeError(`${name} ${value} must be an integer >= ${name === 'maxConcurrency' ? 1 : 0}`);
      }
    }
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * A slot, now or when one frees up. Throws QueueFullError when every slot is taken and the queue is full;
   * rejects with the signal's reason if it aborts while waiting (the request then leaves the queue).
   */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#running < this.limits.maxConcurrency) return Promise.resolve(this.#take());
    if (this.#waiting.length >= this.limits.maxQueue) {
      return Promise.reject(
        new QueueFullError(
          `the server is busy: ${this.#running} requests are generating and ${this.#waiting.length} are waiting ` +
            `(--max-concurrency ${this.limits.maxConcurrency}, --max-queue ${this.limits.maxQueue}); retry later`,
        ),
      );
    }
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      const onAbort = (): void => {
        const at = this.#waiting.indexOf(waiter);
        if (at >= 0) this.#waiting.splice(at, 1);
        this.#settleIdle();
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  /** Resolves once nothing runs or waits (now, if that is already so). */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #take(): Release {
    this.#running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#running--;
      const next = this.#waiting.shift();
      if (next) next.grant(this.#take());
      else this.#settleIdle();
    };
  }

  #settleIdle(): void {
    if (this.#running > 0 || this.#waiting.length > 0) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}
