/**
 * The graph a model's forward pass is exported from: traced, not written twice. `traceGraph` runs the
 * model's own forward function once on example inputs with a recorder in the engine (the hook autograd's
 * tape uses), and keeps every op the outputs depend on — core op name, attributes, input and output
 * values with their shapes and dtypes. Tensors the ops read that no traced op produced are constants
 * (weights, scalars); ops whose inputs are all constant are folded into constants, using the values the
 * run computed. The ONNX and Core ML emitters (./onnx-export.ts, ./mil-export.ts) translate this graph op
 * by op, so the architecture stays written once, in models/.
 *
 * Shapes are those of the example inputs: the graph is specialised to them (resize sizes, slice bounds and
 * reshape targets are recorded as numbers).
 * @module
 */
import type { DType, TypedArray } from '../../core/dtype.js';
import { type OpDef, setRecorder, type TapeRecorder } from '../../core/engine.js';
import { UsageError } from '../../core/errors.js';
import { keep, Tensor, tidy } from '../../core/tensor.js';

export interface GraphValue {
  readonly id: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** A constant: a weight, a scalar operand, or a folded subgraph. */
export interface GraphConstant extends GraphValue {
  /** Row-major elements (f16 constants widened to f32 values). */
  readonly data: TypedArray;
  /** A readable name for writers (`conv2d_3.weight`). */
  readonly name: string;
}

export interface GraphNode {
  /** The core op name (`conv2d`, `instanceNorm`, …). */
  readonly op: string;
  readonly attrs: Readonly<Record<string, unknown>>;
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
}

export interface NamedValue {
  readonly name: string;
  readonly value: GraphValue;
}

export interface Graph {
  readonly inputs: readonly NamedValue[];
  readonly outputs: readonly NamedValue[];
  /** In execution order, only those the outputs depend on. */
  readonly nodes: readonly GraphNode[];
  readonly constants: ReadonlyMap<number, GraphConstant>;
  /** Every value: inputs, constants and node outputs. */
  readonly values: ReadonlyMap<number, GraphValue>;
}

/** Input names and output names become the exported model's; they must be identifiers. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function alias(t: Tensor): Tensor {
  return keep(new Tensor(t.ref, t.shape, t.dtype, t.strides, t.offset));
}

interface Recorded {
  readonly def: OpDef<unknown>;
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  readonly attrs: unknown;
}

class GraphRecorder implements TapeRecorder {
  readonly ops: Recorded[] = [];
  readonly info = new Map<number, GraphValue>();
  /** Tensors read but never produced by a traced op (and folded results): their aliases, kept for reading. */
  readonly constants = new Map<number, Tensor>();
  readonly computed = new Set<number>();

  constructor(
    inputs: readonly Tensor[],
    readonly previous: TapeRecorder | null,
  ) {
    for (const t of inputs) {
      this.computed.add(t.id);
      this.info.set(t.id, { id: t.id, shape: t.shape, dtype: t.dtype });
    }
  }

  record<A>(def: OpDef<A>, inputs: readonly Tensor[], outputs: readonly Tensor[], attrs: A): void {
    this.previous?.record(def, inputs, outputs, attrs);
    let dynamic = false;
    for (const t of inputs) {
      if (this.computed.has(t.id)) dynamic = true;
      else if (!this.constants.has(t.id)) {
        this.constants.set(t.id, alias(t));
        this.info.set(t.id, { id: t.id, shape: t.shape, dtype: t.dtype });
      }
    }
    for (const o of outputs) {
      this.info.set(o.id, { id: o.id, shape: o.shape, dtype: o.dtype });
      // An op of constants only is folded: its result is a constant too.
      if (dynamic) this.computed.add(o.id);
      else this.constants.set(o.id, alias(o));
    }
    if (dynamic) {
      this.ops.push({
        def: def as OpDef<unknown>,
        inputs: inputs.map((t) => t.id),
        outputs: outputs.map((t) => t.id),
        attrs,
      });
    }
  }
}

export interface Trace {
  readonly graph: Graph;
  /** What the traced run computed for each output (the reference an exported file is checked against). */
  readonly outputs: readonly TypedArray[];
}

/**
 * Trace `forward` on `inputs` (named) into a graph whose outputs are named `outputNames`.
 * The forward pass runs once on the current backend; its tensors are disposed afterwards.
 */
export async function traceGraph(
  forward: (...inputs: Tensor[]) => Tensor | readonly Tensor[],
  inputs: readonly { name: string; tensor: Tensor }[],
  outputNames: readonly string[],
): Promise<Trace> {
  for (const n of [...inputs.map((i) => i.name), ...outputNames]) {
    if (!NAME.test(n)) throw new UsageError(`traceGraph: "${n}" is not a valid input/output name (letters, digits, _)`);
  }
  const recorder = new GraphRecorder(
    inputs.map((i) => i.tensor),
    null,
  );
  const previous = setRecorder(recorder);
  Object.assign(recorder, { previous });
  let results: Tensor[];
  try {
    results = tidy(() => {
      const out = forward(...inputs.map((i) => i.tensor));
      return (out instanceof Tensor ? [out] : [...out]).map((t) => keep(t));
    });
  } finally {
    setRecorder(previous);
  }
  try {
    if (results.length !== outputNames.length) {
      throw new UsageError(
        `traceGraph: the forward pass returned ${results.length} outputs, named ${outputNames.length}`,
      );
    }
    for (const [i, r] of results.entries()) {
      if (!recorder.computed.has(r.id)) {
        throw new UsageError(`traceGraph: output "${outputNames[i]}" does not depend on any input`);
      }
      if (inputs.some((x) => x.tensor.id === r.id)) {
        throw new UsageError(`traceGraph: output "${outputNames[i]}" is an input passed through unchanged`);
      }
    }
    // Keep only what the outputs need, walking back from them.
    const producer = new Map<number, number>();
    recorder.ops.forEach((op, i) => {
      for (const o of op.outputs) producer.set(o, i);
    });
    const needed = new Set<number>();
    const live = new Set<number>();
    const stack = results.map((r) => r.id);
    while (stack.length > 0) {
      const id = stack.pop() as number;
      if (live.has(id)) continue;
      live.add(id);
      const p = producer.get(id);
      if (p !== undefined && !needed.has(p)) {
        needed.add(p);
        stack.push(...recorder.ops[p].inputs);
      }
    }
    const nodes: GraphNode[] = [];
    const constants = new Map<number, GraphConstant>();
    const names = new Set<string>();
    for (const [i, op] of recorder.ops.entries()) {
      if (!needed.has(i)) continue;
      nodes.push({
        op: op.def.name,
        attrs: (op.attrs ?? {}) as Readonly<Record<string, unknown>>,
        inputs: op.inputs,
        outputs: op.outputs,
      });
      for (const [k, id] of op.inputs.entries()) {
        const t = recorder.constants.get(id);
        if (!t || constants.has(id)) continue;
        let name = `${op.def.name}_${nodes.length - 1}.in${k}`;
        while (names.has(name)) name += '_';
        names.add(name);
        const data = await t.data();
        constants.set(id, { id, shape: t.shape, dtype: t.dtype, data, name });
      }
    }
    const info = recorder.info;
    const values = new Map<number, GraphValue>();
    for (const id of live) values.set(id, info.get(id) as GraphValue);
    const graph: Graph = {
      inputs: inputs.map((i) => ({ name: i.name, value: info.get(i.tensor.id) as GraphValue })),
      outputs: results.map((r, i) => ({ name: outputNames[i], value: info.get(r.id) as GraphValue })),
      nodes,
      constants,
      values,
    };
    const outputs: TypedArray[] = [];
    for (const r of results) outputs.push(await r.data());
    return { graph, outputs };
  } finally {
    for (const t of recorder.constants.values()) t.dispose();
    for (const r of results) r.dispose();
  }
}

/** How many times each op occurs in a graph (for reports and error messages). */
export function opCounts(graph: Graph): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of graph.nodes) counts[n.op] = (counts[n.op] ?? 0) + 1;
  return counts;
}
