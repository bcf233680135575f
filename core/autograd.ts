/**
 * Reverse-mode autodiff over a tape. While a traced function runs, every op whose
 * inputs depend on a watched tensor is recorded with aliases of its inputs and
 * outputs (sharing storage, so recording costs no copies and an inner tidy()
 * cannot free what the backward pass needs). Each op family's vjp does the rest.
 */

import { full, zeros } from './creation.js';
import { type OpDef, opDefinitions, run1, setRecorder, type TapeRecorder } from './engine.js';
import { ShapeError } from './errors.js';
import { formatShape } from './shape.js';
import { keep, Tensor, tidy } from './tensor.js';

interface Node {
  readonly def: OpDef<unknown>;
  readonly inputIds: readonly number[];
  readonly outputIds: readonly number[];
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  readonly attrs: unknown;
}

/**
 * Sum two gradients of one tensor with the 'add' op (kernels/elementwise), looked up by name so
 * the core imports no kernel family.
 */
function add(a: Tensor, b: Tensor): Tensor {
  const def = opDefinitions().get('add');
  if (!def) throw new Error("autograd: no 'add' op is defined; import the toolkit through its entry point (index.js)");
  return run1(def, [a, b], {});
}

function alias(t: Tensor): Tensor {
  return keep(new Tensor(t.ref, t.shape, t.dtype, t.strides, t.offset));
}

class Tape implements TapeRecorder {
  readonly nodes: Node[] = [];
  readonly tracked = new Set<number>();

  constructor(watched: readonly Tensor[]) {
    for (const t of watched) this.tracked.add(t.id);
  }

  record<A>(def: OpDef<A>, inputs: readonly Tensor[], outputs: readonly Tensor[], attrs: A): void {
    if (!def.vjp || !inputs.some((t) => this.tracked.has(t.id))) return;
    for (const o of outputs) this.tracked.add(o.id);
    this.nodes.push({
      def: def as OpDef<unknown>,
      inputIds: inputs.map((t) => t.id),
      outputIds: outputs.map((t) => t.id),
      inputs: inputs.map(alias),
      outputs: outputs.map(alias),
      attrs,
    });
  }

  release(): void {
    for (const n of this.nodes) {
      for (const t of n.inputs) t.dispose();
      for (const t of n.outputs) t.dispose();
    }
  }
}

const vjpCounts = new Map<string, number>();
let tracing = false;

/** How many times each op's vjp has run in this process (the gradient suite checks coverage). */
export function vjpRunCounts(): Record<string, number> {
  return Object.fromEntries(vjpCounts);
}

function backward(tape: Tape, output: Tensor, seed: Tensor): Map<number, Tensor> {
  const grads = new Map<number, Tensor>([[output.id, seed]]);
  for (let i = tape.nodes.length - 1; i >= 0; i--) {
    const node = tape.nodes[i];
    const gys = node.outputIds.map((id) => grads.get(id));
    if (gys.every((g) => g === undefined)) continue;
    const filled = gys.map((g, k) => g ?? zeros(node.outputs[k].shape, node.outputs[k].dtype));
    vjpCounts.set(node.def.name, (vjpCounts.get(node.def.name) ?? 0) + 1);
    const gxs = node.def.vjp!(filled, { inputs: node.inputs, outputs: node.outputs, attrs: node.attrs });
    node.inputIds.forEach((id, k) => {
      const g = gxs[k];
      if (!g || !tape.tracked.has(id)) return;
      const prev = grads.get(id);
      grads.set(id, prev ? add(prev, g) : g);
    });
  }
  return grads;
}

export interface ValueAndGrad {
  readonly value: Tensor;
  /** One gradient per argument, same shape and dtype (zeros where the value does not depend on it). */
  readonly grads: Tensor[];
}

/**
 * Differentiate a scalar-valued function with respect to all its tensor arguments.
 * Intermediates are freed when it returns; the value and gradients belong to the caller.
 */
export function valueAndGrad<Args extends Tensor[]>(fn: (...args: Args) => Tensor): (...args: Args) => ValueAndGrad {
  return (...args: Args) => vjp(fn, args);
}

/** Gradients only (see valueAndGrad). */
export function grad<Args extends Tensor[]>(fn: (...args: Args) => Tensor): (...args: Args) => Tensor[] {
  return (...args: Args) => {
    const { value, grads } = vjp(fn, args);
    value.dispose();
    return grads;
  };
}

/** Vector-Jacobian product: the gradients of sum(fn(args) * dy). dy defaults to 1 for a scalar value. */
export function vjp<Args extends Tensor[]>(fn: (...args: Args) => Tensor, args: Args, dy?: Tensor): ValueAndGrad {
  if (tracing) {
    // The inner tape records aliases the outer one cannot see, so second derivatives
    // would silently come out as zero: refuse instead of returning wrong numbers.
    throw new Error('valueAndGrad: nested differentiation (gradients of gradients) is not supported yet');
  }
  const tape = new Tape(args);
  try {
    return tidy(() => {
      const previous = setRecorder(tape);
      tracing = true;
      let value: Tensor;
      try {
        value = fn(...args);
      } finally {
        setRecorder(previous);
        tracing = false;
      }
      if (!(value instanceof Tensor)) throw new TypeError('valueAndGrad: the function must return a Tensor');
      if (!dy && value.size !== 1) {
        throw new ShapeError(
          `valueAndGrad: the function returned ${formatShape(value.shape)}; it must return one value (or pass dy)`,
        );
      }
      const seed = dy ?? full(value.shape, 1, value.dtype);
      const grads = backward(tape, value, seed);
      return {
        value,
        grads: args.map((a) => {
          const g = grads.get(a.id);
          // A gradient that is the argument itself (identity functions) must be a distinct tensor for the caller.
          return g === undefined ? zeros(a.shape, a.dtype) : g === a ? alias(g) : g;
        }),
      };
    });
  } finally {
    tape.release();
  }
}
