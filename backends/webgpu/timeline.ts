/**
 * Serialises the WebGPU backend's submits and host steps: a step runs at once when nothing is
 * pending; while an asynchronous step (a fallback op waiting for its inputs to be read back) is
 * pending, later steps queue behind it, so no command runs before the data it reads exists.
 */
export class Timeline {
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  constructor(private readonly onError: (err: unknown) => void) {}

  run(step: () => void | Promise<void>): void {
    if (this.#pending === 0) {
      let result: void | Promise<void>;
      try {
        result = step();
      } catch (err) {
        this.onError(err);
        return;
      }
      if (!(result instanceof Promise)) return;
      this.#track(result);
      return;
    }
    this.#track(this.#tail.then(step));
  }

  #track(p: Promise<void>): void {
    this.#pending++;
    this.#tail = p.catch(this.onError).finally(() => {
      this.#pending--;
    });
  }

  idle(): Promise<void> {
    return this.#tail;
  }
}
