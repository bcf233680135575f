/**
 * Yield to the host's event loop (a macrotask), not just the microtask queue. A loop whose awaits
 * all settle at once (CPU backends read results synchronously) otherwise never lets I/O, timers or
 * signals run until it ends: a server could not accept a connection or see a client leave, and
 * Ctrl-C would wait for a whole generation. setImmediate where it exists (Node); a MessageChannel
 * elsewhere (browsers and workers), which, unlike setTimeout(0), is not clamped to 4 ms.
 */
type Schedule = (resume: () => void) => void;

function scheduler(): Schedule {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === 'function') {
    const setImmediate = g.setImmediate;
    return (resume) => {
      setImmediate(resume);
    };
  }
  if (typeof MessageChannel === 'function') {
    const channel = new MessageChannel();
    const waiting: (() => void)[] = [];
    channel.port1.onmessage = () => waiting.shift()?.();
    return (resume) => {
      waiting.push(resume);
      channel.port2.postMessage(null);
    };
  }
  return (resume) => {
    setTimeout(resume, 0);
  };
}

let schedule: Schedule | undefined;

/** Resolves after pending I/O and timers have had a turn. */
export function yieldToEventLoop(): Promise<void> {
  schedule ??= scheduler();
  const s = schedule;
  return new Promise((resolve) => s(resolve));
}
