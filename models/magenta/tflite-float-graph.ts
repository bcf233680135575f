/**
 * A float view of a TFLite subgraph, for model code that reads a known architecture out of a file
 * (models/magenta/*). Browser-safe.
 *
 * Why not a generic TFLite executor: the Magenta files are two fixed networks, and written out as
 * architecture (MobileNet-v2 blocks; conv → conditional instance norm → relu) they read top to bottom,
 * run the core's fused ops (one `instanceNorm` where the converter left ten MEAN/SQUARED_DIFFERENCE/RSQRT/
 * MUL/SUB/ADD operators; all 26 style-parameter 1×1 convolutions as one matmul) and keep NCHW throughout.
 * An executor would have to rediscover those patterns to be fast. What an executor gives — nothing in the
 * file silently ignored, unsupported operators refused at load — this view gives the loaders instead:
 *
 * - Every operator must be in the network's supported set, checked when the view is built (at load), with
 *   the operator's name, index and the file in the error. Nothing is decided at run time.
 * - Loaders walk the graph by data flow ({@link TfliteFloatGraph.consumer}, {@link TfliteFloatGraph.producer})
 *   and check each operator's options and shapes against the architecture; {@link TfliteFloatGraph.checkAllUsed}
 *   then fails if any operator was not accounted for, so a file with an extra branch is rejected, not
 *   half-run.
 * - QUANTIZE and DEQUANTIZE are identities here: the networks run in float, with every constant
 *   dequantized once at load (`dequantizeTensor`: per-channel int8 weights, int32 biases, fp16 widening).
 *   This drops TFLite's int8 activation rounding; the shared README measures the int8 and fp16 transfer
 *   models' outputs about 0.004 apart (0..1 scale), which bounds what that rounding contributes.
 * @module
 */
import { UsageError } from '../../core/errors.js';
import {
  dequantizeTensor,
  type TfliteModel,
  type TfliteOptions,
  type TfliteSubgraph,
  tensorValues,
} from '../../core/io/tflite.js';

/** An operator of the float view: its inputs already see through QUANTIZE/DEQUANTIZE (-1: omitted). */
export interface FloatOp {
  /** The operator's index in the file's subgraph, for messages. */
  readonly index: number;
  readonly opcode: string;
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  readonly options: TfliteOptions | null;
}

/** Operators that only change the number format: identities in float. */
const FORMAT_OPS = new Set(['QUANTIZE', 'DEQUANTIZE']);

export class TfliteFloatGraph {
  readonly file: string;
  readonly ops: readonly FloatOp[];
  readonly #model: TfliteModel;
  readonly #sg: TfliteSubgraph;
  /** A QUANTIZE/DEQUANTIZE output → the tensor it re-encodes (followed to the root). */
  readonly #alias = new Map<number, number>();
  readonly #producer = new Map<number, FloatOp>();
  readonly #consumers = new Map<number, FloatOp[]>();
  readonly #used = new Set<FloatOp>();

  /**
   * The float view of subgraph 0. Throws a UsageError naming the file when an operator is not in
   * `supported` (or a format op), or when the file has more than one subgraph.
   */
  constructor(model: TfliteModel, network: string, supported: ReadonlySet<string>) {
    this.file = model.file;
    this.#model = model;
    if (model.subgraphs.length !== 1) {
      this.fail(`has ${model.subgraphs.length} subgraphs; the ${network} is one graph`);
    }
    this.#sg = model.subgraphs[0];
    for (const op of this.#sg.operators) {
      if (!supported.has(op.opcode) && !FORMAT_OPS.has(op.opcode)) {
        this.fail(
          `operator ${op.opcode} (operator ${op.index}) is not supported by the ${network}, which runs ` +
            `${[...supported].join(', ')} (QUANTIZE/DEQUANTIZE as identities); this is not the expected file`,
        );
      }
    }
    const ops: FloatOp[] = [];
    for (const op of this.#sg.operators) {
      if (FORMAT_OPS.has(op.opcode)) {
        if (op.inputs.length !== 1 || op.outputs.length !== 1) {
          this.fail(`${op.opcode} (operator ${op.index}) must have one input and one output`);
        }
        this.#alias.set(op.outputs[0], this.resolve(op.inputs[0]));
        continue;
      }
      const floatOp: FloatOp = {
        index: op.index,
        opcode: op.opcode,
        inputs: op.inputs.map((t) => (t < 0 ? t : this.resolve(t))),
        outputs: op.outputs,
        options: op.options,
      };
      ops.push(floatOp);
    }
    for (const op of ops) {
      for (const t of op.outputs) this.#producer.set(t, op);
      for (const t of new Set(op.inputs)) {
        if (t < 0) continue;
        const list = this.#consumers.get(t) ?? [];
        list.push(op);
        this.#consumers.set(t, list);
      }
    }
    this.ops = ops;
  }

  fail(message: string): never {
    throw new UsageError(`${this.file}: ${message}`);
  }

  /** The tensor behind any chain of QUANTIZE/DEQUANTIZE (TFLite orders operators so that sources come first). */
  resolve(t: number): number {
    return this.#alias.get(t) ?? t;
  }

  /** Subgraph input `i` (resolved) after checking its name and rank. */
  input(i: number): number {
    const t = this.#sg.inputs[i];
    if (t === undefined) this.fail(`has ${this.#sg.inputs.length} inputs, expected at least ${i + 1}`);
    return this.resolve(t);
  }

  output(i: number): number {
    const t = this.#sg.outputs[i];
    if (t === undefined) this.fail(`has ${this.#sg.outputs.length} outputs, expected at least ${i + 1}`);
    return this.resolve(t);
  }

  /** Count of subgraph inputs and outputs. */
  get signature(): { inputs: number; outputs: number } {
    return { inputs: this.#sg.inputs.length, outputs: this.#sg.outputs.length };
  }

  name(t: number): string {
    return this.#sg.tensors[t]?.name ?? `#${t}`;
  }

  /** The file's static shape of tensor `t` (NHWC for feature maps). */
  shape(t: number): readonly number[] {
    return this.#sg.tensors[t].shape;
  }

  isConstant(t: number): boolean {
    const tensor = this.#sg.tensors[t];
    return tensor !== undefined && (this.#model.buffers[tensor.buffer]?.data.length ?? 0) > 0;
  }

  /** A constant as f32 (dequantized or widened), in the file's layout. */
  constant(t: number, what: string): Float32Array {
    if (!this.isConstant(t)) this.fail(`${what} ("${this.name(t)}") must be a constant in the file`);
    return dequantizeTensor(this.#model, t);
  }

  /** An INT32 constant's values (paddings, axes, sizes). */
  ints(t: number, what: string): number[] {
    const tensor = this.#sg.tensors[t];
    if (!this.isConstant(t) || tensor.type !== 'INT32') {
      this.fail(`${what} ("${this.name(t)}") must be an INT32 constant`);
    }
    return Array.from(tensorValues(this.#model, t) as Int32Array);
  }

  /** The operator producing `t` (which must be `opcode`); marks it used. */
  producer(t: number, opcode: string, what: string): FloatOp {
    const op = this.#producer.get(this.resolve(t));
    if (!op || op.opcode !== opcode) {
      this.fail(
        `${what}: expected "${this.name(t)}" to come from ${opcode}, but it comes from ` +
          `${op ? `${op.opcode} (operator ${op.index})` : 'no operator (a graph input or constant)'}`,
      );
    }
    this.#used.add(op);
    return op;
  }

  /**
   * The one operator of type `opcode` reading `t` (and also `other`, when given); marks it used.
   * Fails when there is none or more than one, so a loader never picks a branch by chance.
   */
  consumer(t: number, opcode: string, what: string, other?: number): FloatOp {
    const r = this.resolve(t);
    const candidates = (this.#consumers.get(r) ?? []).filter(
      (op) => op.opcode === opcode && (other === undefined || op.inputs.includes(this.resolve(other))),
    );
    if (candidates.length !== 1) {
      const readers = (this.#consumers.get(r) ?? []).map((op) => `${op.opcode} (operator ${op.index})`);
      this.fail(
        `${what}: expected exactly one ${opcode} reading "${this.name(t)}"` +
          `${other === undefined ? '' : ` and "${this.name(other)}"`}, found ${candidates.length} ` +
          `(its readers: ${readers.join(', ') || 'none'})`,
      );
    }
    this.#used.add(candidates[0]);
    return candidates[0];
  }

  /** The input of a two-input operator that is not `t`. */
  otherInput(op: FloatOp, t: number, what: string): number {
    const r = this.resolve(t);
    if (op.inputs.length !== 2 || !op.inputs.includes(r)) {
      this.fail(`${what}: ${op.opcode} (operator ${op.index}) must take "${this.name(t)}" and one other input`);
    }
    return op.inputs[0] === r ? op.inputs[1] : op.inputs[0];
  }

  /** Checks that the loader accounted for every operator of the file. */
  checkAllUsed(network: string): void {
    const unused = this.ops.filter((op) => !this.#used.has(op));
    if (unused.length > 0) {
      const list = unused.slice(0, 5).map((op) => `${op.opcode} (operator ${op.index})`);
      this.fail(
        `${unused.length} operators are not part of the ${network} (${list.join(', ')}` +
          `${unused.length > 5 ? ', …' : ''}); this is not the expected file`,
      );
    }
  }
}

/** A CONV_2D filter [O, kH, kW, I] (OHWI) as OIHW, the core's conv2d layout. */
export function ohwiToOihw(values: Float32Array, shape: readonly number[]): Float32Array {
  const [o, kh, kw, i] = shape;
  const out = new Float32Array(values.length);
  for (let a = 0; a < o; a++)
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let c = 0; c < i; c++) out[((a * i + c) * kh + y) * kw + x] = values[((a * kh + y) * kw + x) * i + c];
  return out;
}

/** A DEPTHWISE_CONV_2D filter [1, kH, kW, C] as [C, 1, kH, kW] (conv2d with groups = C). */
export function depthwiseToOihw(values: Float32Array, shape: readonly number[]): Float32Array {
  const [, kh, kw, c] = shape;
  const out = new Float32Array(values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let ch = 0; ch < c; ch++) out[(ch * kh + y) * kw + x] = values[(y * kw + x) * c + ch];
  return out;
}
