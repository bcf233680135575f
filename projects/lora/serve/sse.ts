/**
 * Server-sent events as OpenAI streams them: one `data: {json}` event per chunk, `data: [DONE]` at the end,
 * written straight to the socket with backpressure (a slow reader pauses generation instead of growing a
 * buffer).
 * @module
 */
import type { ServerResponse } from 'node:http';

export class SseWriter {
  constructor(private readonly res: ServerResponse) {}

  /** Sends the 200 and the event-stream headers (plus `headers`, e.g. CORS ones already set on the reply). */
  open(headers: Readonly<Record<string, string | number | readonly string[] | undefined>> = {}): void {
    this.res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // Proxies such as nginx would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    this.res.flushHeaders();
  }

  /** The client is gone or the stream ended: nothing more can be written. */
  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  /** One `data:` event; waits while the socket's buffer is full. Does nothing once closed. */
  async send(data: unknown): Promise<void> {
    await this.#write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** `data: [DONE]`, then the end of the response. */
  async done(): Promise<void> {
    await this.#write('data: [DONE]\n\n');
    await this.end();
  }

  /** Ends the response; resolves once it is flushed (or the client is gone). */
  end(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.res.once('close', resolve);
      this.res.end(resolve);
    });
  }

  async #write(text: string): Promise<void> {
    if (this.closed) return;
    if (this.res.write(text)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }
}
