/**
 * Peak tensor memory of a piece of work: the live bytes of every backend's tensors (core/tensor.ts
 * `memory()`), sampled after every op through the engine's op-recording hook (the one autograd's tape uses;
 * any recorder already installed keeps receiving every op). Synchronous backends run a whole forward pass
 * without yielding, so polling could not see inside it; sampling per op sees every intermediate.
 */

import { setRecorder, type TapeRecorder } from '../core/engine.js';
import { memory } from '../index.js';

export interface PeakMemory<R> {
  readonly result: R;
  /** Live tensor bytes when the work started (weights and inputs already resident). */
  readonly startBytes: number;
  /** The most live tensor bytes seen after any op. */
  readonly peakBytes: number;
}

export async function withPeakTensorBytes<R>(work: () => Promise<R>): Promise<PeakMemory<R>> {
  const startBytes = memory().bytes;
  let peakBytes = startBytes;
  const sampler: TapeRecorder = {
    record(def, inputs, outputs, attrs) {
      previous?.record(def, inputs, outputs, attrs);
      const now = memory().bytes;
      if (now > peakBytes) peakBytes = now;
    },
  };
  const previous = setRecorder(sampler);
  try {
    const result = await work();
    return { result, startBytes, peakBytes };
  } finally {
    setRecorder(previous);
  }
}
