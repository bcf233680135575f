// Run by test/node/interrupt.test.ts as `node dist/test/helpers/interrupt-child.js` (a real process, so that a
// real SIGINT can arrive): a long synchronous tidy() of js-backend ops, with a SIGINT sent from a worker
// thread while it runs. Prints one JSON line saying how it ended.
import { Worker } from 'node:worker_threads';
import * as T from '../../index.js';
import { sigintInterrupter } from '../../node/interrupt.js';

const controller = new AbortController();
T.setAbortSignal(controller.signal);
T.setInterrupter(
  sigintInterrupter(() => {
    controller.abort(new T.CancelledError('interrupted (test)'));
    return controller.signal.reason as Error;
  }),
);
let handlerRan = false;
process.on('SIGINT', () => {
  handlerRan = true;
});

const started = new Int32Array(new SharedArrayBuffer(4));
const worker = new Worker(
  "const { workerData } = require('node:worker_threads'); Atomics.wait(workerData, 0, 0); " +
    "setTimeout(() => process.kill(process.pid, 'SIGINT'), 200);",
  { eval: true, workerData: started },
);
worker.unref();

const x = T.tensor(new Float32Array(64 * 64).fill(0.01), [64, 64]);
const before = T.memory().tensors;
const t0 = performance.now();
let error: Error | undefined;
let ops = 0;
try {
  T.tidy(() => {
    Atomics.store(started, 0, 1);
    Atomics.notify(started, 0);
    let y = x;
    // Minutes of work if nothing stops it.
    for (let i = 0; i < 1e7; i++, ops++) y = T.tanh(T.matmul(y, x));
    return y;
  });
} catch (err) {
  error = err as Error;
}
const stoppedMs = performance.now() - t0;
const leaked = T.memory().tensors - before;
// The core still works once the signal is cleared: scopes were closed, nothing is left half-open.
T.setAbortSignal(undefined);
const total = T.tidy(() => T.sum(T.add(x, 1)));
const after = await total.item();
T.dispose([total, x]);
process.stdout.write(
  `${JSON.stringify({ error: error?.name, message: error?.message, stoppedMs, ops, leaked, handlerRan, after, live: T.memory().tensors - before + 1 })}\n`,
);
