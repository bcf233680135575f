/**
 * Freeing activations as a forward pass goes: each layer's input is released once the next
 * layer has read it, instead of when the enclosing `tidy` ends. Held to the end, a 1024²
 * image's activations take gigabytes, and the native backend reuses freed arrays for the
 * next layer's output. Gradient tapes keep their own references, so training is unaffected.
 */
import type { Tensor } from '../index.js';

/** Frees a tensor unless it is one of `kept` (the caller's inputs, or values still needed later). */
export type Release = (t: Tensor) => void;

export function releaser(...kept: readonly Tensor[]): Release {
  return (t) => {
    if (!kept.includes(t)) t.dispose();
  };
}

/**
 * Apply `steps` in order to `x`, releasing each step's input once the step has run (a step
 * that returns its input unchanged releases nothing).
 */
export function chain(x: Tensor, release: Release, ...steps: readonly ((t: Tensor) => Tensor)[]): Tensor {
  let y = x;
  for (const step of steps) {
    const next = step(y);
    if (next !== y) release(y);
    y = next;
  }
  return y;
}
