/**
 * Reverse-mode autodiff over a tape. While a traced function runs, every op whose inputs depend on a
 * watched tensor is recorded with aliases of the inputs and outputs its vjp reads (an op's `saves` says
 * which, given which inputs need a gradient; sharing storage, so recording costs no copies and an inner
 * tidy() cannot free what the backward pass needs). The backward pass releases what each op saved as soon
 * as its vjp has run, and frees each gradient once it has been consumed, so memory falls as it proceeds.
 *
 * `checkpoint(fn, ...inputs)` keeps only a block's inputs and recomputes the block in the backward pass.
 */

import { full, zeros } from './creation.js';
import { currentRecorder, type OpDef, opDefinitions, run1, setRecorder, type TapeRecorder } from './engine.js';
import { ShapeError } from './errors.js';
import { defaultRng, Rng, setDefaultRng } from './random.js';
import { formatShape } from './shape.js';
import { keep, Tensor, tidy } from './tensor.js';

interface Node {
  readonly def: OpDef<unknown>;
  readonly inputIds: readonly number[];
  readonly outputIds: readonly number[];
  /** Aliases of what the vjp reads; released tensors (shape and dtype only) for the rest. */
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  readonly attrs: unknown;
  readonly needsGrad: readonly boolean[];
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

/** A tensor that keeps t's shape and dtype but not its storage: what a vjp gets for what it does not read. */
function shapeOnly(t: Tensor): Tensor {
  const a = alias(t);
  a.dispose();
  return a;
}

/** Which tensors count as depending on the watched ones. */
interface Tracking {
  has(id: number): boolean;
}

class Tape implements TapeRecorder {
  readonly nodes: (Node | undefined)[] = [];
  readonly tracked = new Set<number>();

  constructor(watched: readonly Tensor[]) {
    for (const t of watched) this.tracked.add(t.id);
  }

  record<A>(def: OpDef<A>, inputs: readonly Tensor[], outputs: readonly Tensor[], attrs: A): void {
    if (!def.vjp) return;
    const needsGrad = inputs.map((t) => this.tracked.has(t.id));
    if (!needsGrad.some(Boolean)) return;
    for (const o of outputs) this.tracked.add(o.id);
    const saved = def.saves?.(needsGrad, attrs);
    const keepInput = saved ? new Set(saved.inputs) : null;
    const keepOutput = saved ? new Set(saved.outputs) : null;
    this.nodes.push({
      def: def as OpDef<unknown>,
      inputIds: inputs.map((t) => t.id),
      outputIds: outputs.map((t) => t.id),
      inputs: inputs.map((t, i) => (!keepInput || keepInput.has(i) ? alias(t) : shapeOnly(t))),
      outputs: outputs.map((t, i) => (!keepOutput || keepOutput.has(i) ? alias(t) : shapeOnly(t))),
      attrs,
      needsGrad,
    });
  }

  /** Free what node i saved (idempotent). */
  releaseNode(i: number): void {
    const n = this.nodes[i];
    if (!n) return;
    for (const t of n.inputs) t.dispose();
    for (const t of n.outputs) t.dispose();
    this.nodes[i] = undefined;
  }

  release(): void {
    for (let i = 0; i < this.nodes.length; i++) this.releaseNode(i);
  }
}

const vjpCounts = new Map<string, number>();
let tracing = false;

/** How many times each op's vjp has run in this process (the gradient suite checks coverage). */
export function vjpRunCounts(): Record<string, number> {
  return Object.fromEntries(vjpCounts);
}

/**
 * Gradients by tensor id. A gradient tensor may be held under several ids (an add passes its gradient to
 * both operands), so each tensor counts its holders and is freed when the last lets go, unless `owned` by
 * the caller.
 */
class GradientStore {
  readonly #byId = new Map<number, Tensor>();
  readonly #holders = new Map<Tensor, number>();

  constructor(private readonly owned: ReadonlySet<Tensor>) {}

  get(id: number): Tensor | undefined {
    return this.#byId.get(id);
  }

  /** Add g to the gradient of id (summing with what is there); returns the tensor it displaced, to sweep. */
  accumulate(id: number, g: Tensor): Tensor | undefined {
    const prev = this.#byId.get(id);
    if (!prev) {
      this.#set(id, g);
      return undefined;
    }
    const sum = add(prev, g);
    this.take(id);
    this.#set(id, sum);
    return prev;
  }

  /** Remove id's gradient from the store; the tensor stays alive until {@link sweep} finds it unheld. */
  take(id: number): Tensor | undefined {
    const g = this.#byId.get(id);
    if (!g) return undefined;
    this.#byId.delete(id);
    this.#holders.set(g, (this.#holders.get(g) ?? 1) - 1);
    return g;
  }

  /** Dispose every tensor in `candidates` that no id holds (and the caller does not own). */
  sweep(candidates: Iterable<Tensor>): void {
    for (const t of candidates) {
      if ((this.#holders.get(t) ?? 0) > 0 || this.owned.has(t)) continue;
      this.#holders.delete(t);
      t.dispose();
    }
  }

  #set(id: number, g: Tensor): void {
    this.#byId.set(id, g);
    this.#holders.set(g, (this.#holders.get(g) ?? 0) + 1);
  }
}

/**
 * Runs the tape backwards from `output` (gradient `seed`) and returns the gradients of `wanted` ids. Each
 * node's saved tensors are released once its vjp has run; each gradient is freed once consumed.
 */
function backward(tape: Tape, output: Tensor, seed: Tensor, wanted: readonly number[], owned: ReadonlySet<Tensor>) {
  const store = new GradientStore(owned);
  store.accumulate(output.id, seed);
  const wantedIds = new Set(wanted);
  for (let i = tape.nodes.length - 1; i >= 0; i--) {
    const node = tape.nodes[i];
    if (!node) continue;
    const gys = node.outputIds.map((id) => (wantedIds.has(id) ? store.get(id) : store.take(id)));
    if (gys.every((g) => g === undefined)) {
      tape.releaseNode(i);
      continue;
    }
    const filled = gys.map((g, k) => g ?? zeros(node.outputs[k].shape, node.outputs[k].dtype));
    vjpCounts.set(node.def.name, (vjpCounts.get(node.def.name) ?? 0) + 1);
    const gxs = tidy(() =>
      node.def.vjp!(filled, {
        inputs: node.inputs,
        outputs: node.outputs,
        attrs: node.attrs,
        needsGrad: node.needsGrad,
      }),
    );
    const saved = new Set([...node.inputs, ...node.outputs]);
    // A vjp may hand back what it was given; a saved alias must outlive the node's release.
    const results = gxs.map((g) => (g && saved.has(g) ? alias(g) : g));
    tape.releaseNode(i);
    const spent = new Set<Tensor>(filled);
    node.inputIds.forEach((id, k) => {
      const g = results[k];
      if (!g) return;
      spent.add(g);
      if (!tape.tracked.has(id)) return;
      const displaced = store.accumulate(id, g);
      if (displaced) spent.add(displaced);
    });
    store.sweep(spent);
  }
  return store;
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
  return gradients(() => fn(...args), args, dy);
}

/** The value of `run` and the gradients of sum(value·dy) with respect to `watched` (tensors it reads). */
function gradients(run: () => Tensor, watched: readonly Tensor[], dy?: Tensor): ValueAndGrad {
  const tape = new Tape(watched);
  try {
    return tidy(() => {
      const previous = setRecorder(tape);
      tracing = true;
      let value: Tensor;
      try {
        value = run();
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
      // The value, the caller's dy and the watched tensors themselves are never freed by the backward pass.
      const owned = new Set<Tensor>([value, ...watched, ...(dy ? [dy] : [])]);
      const store = backward(
        tape,
        value,
        seed,
        watched.map((a) => a.id),
        owned,
      );
      return {
        value,
        grads: watched.map((a) => {
          const g = store.get(a.id);
          // A gradient that is an argument itself (identity functions) or dy must be a distinct tensor.
          return g === undefined ? zeros(a.shape, a.dtype) : owned.has(g) ? alias(g) : g;
        }),
      };
    });
  } finally {
    tape.release();
  }
}

// ------------------------------------------------------------------------------------------ checkpoint

/** Records which tracked tensors a block reads from outside (parameters captured by its closure). */
class Probe implements TapeRecorder {
  readonly produced = new Set<number>();
  readonly captured = new Map<number, Tensor>();

  constructor(
    private readonly outer: Tracking,
    private readonly args: ReadonlySet<number>,
  ) {}

  record<A>(def: OpDef<A>, inputs: readonly Tensor[], outputs: readonly Tensor[]): void {
    if (!def.vjp) return;
    let depends = false;
    for (const t of inputs) {
      if (this.produced.has(t.id)) depends = true;
      else if (this.outer.has(t.id)) {
        // Tracked outside the block: an argument, or a tensor the closure captured.
        depends = true;
        if (!this.args.has(t.id)) this.captured.set(t.id, t);
      }
    }
    if (depends) for (const o of outputs) this.produced.add(o.id);
  }
}

interface CheckpointAttrs {
  readonly fn: (...inputs: Tensor[]) => Tensor;
  readonly argCount: number;
  /** The tensors the block reads from outside, as it reads them (the closure holds these objects). */
  readonly captured: readonly Tensor[];
  /** The default generator's state when the block first ran: the recomputation replays its dropout masks. */
  readonly rng: ReturnType<Rng['state']>;
}

const checkpointDef: OpDef<CheckpointAttrs> = {
  name: 'checkpoint',
  infer: () => {
    throw new Error('checkpoint is recorded on the tape, never run as an op');
  },
  // The block's inputs (to recompute from) and nothing else: its activations are not kept.
  saves: (needsGrad) => ({ inputs: needsGrad.map((_, i) => i), outputs: [] }),
  vjp([g], { inputs, attrs, needsGrad }) {
    const { fn, argCount, captured, rng } = attrs;
    const args = inputs.slice(0, argCount);
    // The block reads the arguments' aliases (passed in) and the captured tensors themselves (its closure).
    const all = [...args, ...captured];
    const previous = setDefaultRng(Rng.fromState(rng));
    try {
      const { value, grads } = gradients(
        () => fn(...args),
        all.filter((_, i) => needsGrad[i]),
        g,
      );
      value.dispose();
      let k = 0;
      return all.map((_, i) => (needsGrad[i] ? grads[k++] : null));
    } finally {
      setDefaultRng(previous);
    }
  },
};

/**
 * Gradient checkpointing: `fn(...inputs)`, but when a gradient is being taken the tape keeps only `inputs`
 * and recomputes the block in the backward pass (memory for time: its activations are never held between
 * the passes). Outside valueAndGrad it is just `fn(...inputs)`.
 *
 * Pass activations as `inputs`; parameters may be captured by the closure (their gradients flow), and must
 * stay alive until the backward pass. Dropout inside the block sees the same masks when recomputed: the
 * default generator's state is replayed.
 */
export function checkpoint<Args extends Tensor[]>(fn: (...inputs: Args) => Tensor, ...inputs: Args): Tensor {
  const outer = currentRecorder();
  if (!(outer instanceof Tape)) return fn(...inputs);
  const rng = defaultRng().state();
  const probe = new Probe(outer.tracked, new Set(inputs.map((t) => t.id)));
  setRecorder(probe);
  let out: Tensor;
  try {
    out = fn(...inputs);
  } finally {
    setRecorder(outer);
  }
  if (!(out instanceof Tensor)) throw new TypeError('checkpoint: the block must return a Tensor');
  const captured = [...probe.captured.values()];
  if (!probe.produced.has(out.id)) return out;
  const attrs: CheckpointAttrs = { fn: fn as CheckpointAttrs['fn'], argCount: inputs.length, captured, rng };
  outer.record(checkpointDef, [...inputs, ...captured], [out], attrs);
  return out;
}
