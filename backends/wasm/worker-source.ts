/**
 * The worker side of the thread pool, as source text: workers are started from a string
 * (Node `eval: true`, a Blob URL in browsers) so no separate .js file has to be found next to
 * compiled or bundled code. The loop is small and the protocol is shared with pool.ts through
 * the constants below.
 *
 * Each worker owns one 512-byte slot of a control SharedArrayBuffer:
 *   int32 [0] SEQ    job number, bumped by the main thread to post a job
 *   int32 [1] DONE   last job finished (the main thread waits on it)
 *   int32 [2] FN     index into the export names (QUIT ends the loop)
 *   int32 [3] ARGC   arguments, as float64 from byte 32 (pointers and counts are exact there)
 *   int32 [4] STATUS 0 ok, 1 the call threw (message as UTF-16 codes from int32 [72])
 * A worker spins briefly before sleeping in Atomics.wait, so back-to-back kernels do not
 * pay a futex wake-up each.
 */

export const SLOT_BYTES = 512;
export const SLOT_INTS = SLOT_BYTES / 4;
export const SEQ = 0;
export const DONE = 1;
export const FN = 2;
export const ARGC = 3;
export const STATUS = 4;
export const ERRLEN = 5;
export const ARGS_BYTE = 32;
export const MAX_ARGS = 32;
export const ERR_INT = 72;
export const MAX_ERR = SLOT_INTS - ERR_INT;
export const QUIT = -1;
/**
 * Atomics.load polls before sleeping (a few microseconds): long enough to catch the next job of
 * a sequence of kernels, short enough not to steal a busy machine's cores.
 */
export const SPIN = 4000;

/** What a worker needs to join the pool (structured-cloneable). */
export interface WorkerInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly ctrl: SharedArrayBuffer;
  readonly slot: number;
  readonly scratch: number;
  readonly scratchBytes: number;
  readonly names: readonly string[];
}

const SERVE = `
function serve(exports, ctrl, slot, names) {
  const base = slot * ${SLOT_INTS};
  const i32 = new Int32Array(ctrl);
  const f64 = new Float64Array(ctrl);
  const argBase = (slot * ${SLOT_BYTES} + ${ARGS_BYTE}) / 8;
  const fns = names.map((n) => exports[n]);
  const args = [];
  let seen = 0;
  for (;;) {
    let seq = Atomics.load(i32, base + ${SEQ});
    for (let spin = 0; seq === seen && spin < ${SPIN}; spin++) seq = Atomics.load(i32, base + ${SEQ});
    while (seq === seen) {
      Atomics.wait(i32, base + ${SEQ}, seen);
      seq = Atomics.load(i32, base + ${SEQ});
    }
    seen = seq;
    const fn = i32[base + ${FN}];
    if (fn === ${QUIT}) {
      Atomics.store(i32, base + ${DONE}, seq);
      Atomics.notify(i32, base + ${DONE});
      return;
    }
    const argc = i32[base + ${ARGC}];
    args.length = argc;
    for (let i = 0; i < argc; i++) args[i] = f64[argBase + i];
    let status = 0;
    try {
      fns[fn].apply(null, args);
    } catch (err) {
      status = 1;
      const text = String((err && err.message) || err).slice(0, ${MAX_ERR});
      i32[base + ${ERRLEN}] = text.length;
      for (let i = 0; i < text.length; i++) i32[base + ${ERR_INT} + i] = text.charCodeAt(i);
    }
    i32[base + ${STATUS}] = status;
    Atomics.store(i32, base + ${DONE}, seq);
    Atomics.notify(i32, base + ${DONE});
  }
}
function start(d, post) {
  let instance;
  try {
    instance = new WebAssembly.Instance(d.module, { env: { memory: d.memory } });
    instance.exports.thread_init(d.scratch, d.scratchBytes);
  } catch (err) {
    post({ error: String((err && err.message) || err) });
    return;
  }
  post({ ready: true });
  serve(instance.exports, d.ctrl, d.slot, d.names);
  post({ exited: true });
}
`;

/** Node: run with `new Worker(source, { eval: true, workerData: init })`. */
export const NODE_WORKER_SOURCE = `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
${SERVE}
start(workerData, (m) => parentPort.postMessage(m));
`;

/** Browsers: a classic worker from a Blob URL; the init record arrives as the first message. */
export const BROWSER_WORKER_SOURCE = `'use strict';
${SERVE}
self.onmessage = (event) => {
  self.onmessage = null;
  start(event.data, (m) => self.postMessage(m));
  self.close();
};
`;
