/**
 * An interpreter for Core ML ML Programs on the toolkit's backends: Core ML itself runs only on Apple
 * platforms, so a `.mlpackage` is checked here by reading it back and running its MIL program with core ops.
 * It reads the program, not our exporter's intentions: each MIL op is implemented from its definition in
 * coremltools (`coremltools/converters/mil/mil/ops/defs/iOS15`, `iOS16`), with its parameter names and
 * defaults, and a program using an op or parameter it does not know is refused at load, naming the op.
 *
 * Precision: float16 tensors are computed in float32 with every fp16-typed result rounded to fp16 (a cast
 * there and back), so values stored between ops have fp16 precision as on Core ML's fp16 paths; what Core ML's
 * kernels accumulate in differs, which is why comparisons use fp16 tolerances. Constants are read (and
 * `constexpr_lut_to_dense` tables expanded) once, at load.
 * @module
 */

import { UsageError } from '../../core/errors.js';
import {
  CoreMLError,
  type CoreMLModel,
  type MilConstant,
  type MilOperation,
  type MilValue,
  readMilValue,
  tensorShape,
} from '../../core/io/coreml.js';
import { MIL_DTYPE } from '../../core/io/coreml-schema.js';
import { BlobReader } from '../../core/io/mil-blob.js';
import * as T from '../../index.js';
import type { PaddingSpec } from '../../kernels/conv/window.js';
import { unpackIndices } from './palettize.js';

export interface MilIO {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dataType: number;
}

export interface MilRunOptions {
  /** Round every fp16-typed op result to fp16 (default true). */
  readonly roundFp16?: boolean;
}

/** A value during a run: a tensor, or a constant still on the host (params read as numbers). */
interface Val {
  tensor?: T.Tensor;
  host?: MilConstant;
  /** The declared MIL dtype of the value. */
  dataType: number;
}

interface Step {
  readonly op: MilOperation;
  readonly type: string;
  readonly inputs: Readonly<Record<string, readonly string[]>>;
  readonly outputs: readonly { name: string; dataType: number; shape: number[] }[];
  /** Values whose last use is this step (freed after it). */
  readonly release: readonly string[];
}

type Params = Readonly<Record<string, readonly Val[]>>;

/** What each MIL op may take (required and optional parameters); anything else is refused at load. */
const PARAMS: Readonly<Record<string, readonly string[]>> = {
  cast: ['x', 'dtype'],
  identity: ['x'],
  relu: ['x'],
  sigmoid: ['x'],
  tanh: ['x'],
  exp: ['x'],
  sqrt: ['x'],
  abs: ['x'],
  sign: ['x'],
  square: ['x'],
  sin: ['x'],
  cos: ['x'],
  erf: ['x'],
  silu: ['x'],
  log: ['x', 'epsilon'],
  rsqrt: ['x', 'epsilon'],
  inverse: ['x', 'epsilon'],
  gelu: ['x', 'mode'],
  add: ['x', 'y'],
  sub: ['x', 'y'],
  mul: ['x', 'y'],
  real_div: ['x', 'y'],
  pow: ['x', 'y'],
  maximum: ['x', 'y'],
  minimum: ['x', 'y'],
  equal: ['x', 'y'],
  not_equal: ['x', 'y'],
  less: ['x', 'y'],
  less_equal: ['x', 'y'],
  greater: ['x', 'y'],
  greater_equal: ['x', 'y'],
  select: ['cond', 'a', 'b'],
  clip: ['x', 'alpha', 'beta'],
  reshape: ['x', 'shape'],
  transpose: ['x', 'perm'],
  tile: ['x', 'reps'],
  concat: ['values', 'axis', 'interleave'],
  gather: ['x', 'indices', 'axis', 'validate_indices'],
  slice_by_index: ['x', 'begin', 'end', 'stride', 'begin_mask', 'end_mask', 'squeeze_mask'],
  pad: ['x', 'pad', 'mode', 'constant_val'],
  conv: ['x', 'weight', 'bias', 'strides', 'pad_type', 'pad', 'dilations', 'groups'],
  upsample_nearest_neighbor: ['x', 'scale_factor_height', 'scale_factor_width'],
  resize_bilinear: ['x', 'target_size_height', 'target_size_width', 'sampling_mode'],
  matmul: ['x', 'y', 'transpose_x', 'transpose_y'],
  linear: ['x', 'weight', 'bias'],
  layer_norm: ['x', 'axes', 'gamma', 'beta', 'epsilon'],
  instance_norm: ['x', 'gamma', 'beta', 'epsilon'],
  softmax: ['x', 'axis'],
  reduce_sum: ['x', 'axes', 'keep_dims'],
  reduce_mean: ['x', 'axes', 'keep_dims'],
  reduce_max: ['x', 'axes', 'keep_dims'],
  reduce_min: ['x', 'axes', 'keep_dims'],
  reduce_prod: ['x', 'axes', 'keep_dims'],
  reduce_log_sum_exp: ['x', 'axes', 'keep_dims'],
  reduce_argmax: ['x', 'axis', 'keep_dims'],
  reduce_argmin: ['x', 'axis', 'keep_dims'],
  avg_pool: ['x', 'kernel_sizes', 'strides', 'pad_type', 'pad', 'exclude_padding_from_average', 'ceil_mode'],
  max_pool: ['x', 'kernel_sizes', 'strides', 'pad_type', 'pad', 'ceil_mode'],
};

/** The MIL ops this interpreter runs (plus `const` and `constexpr_lut_to_dense`, read at load). */
export const MIL_INTERPRETED_OPS: ReadonlySet<string> = new Set(Object.keys(PARAMS));

const UNARY: Readonly<Record<string, (x: T.Tensor) => T.Tensor>> = {
  relu: T.relu,
  sigmoid: T.sigmoid,
  tanh: T.tanh,
  exp: T.exp,
  sqrt: T.sqrt,
  abs: T.abs,
  sign: T.sign,
  square: T.square,
  sin: T.sin,
  cos: T.cos,
  erf: T.erf,
  silu: T.silu,
};

const FLOATS = new Set<number>([MIL_DTYPE.FLOAT16, MIL_DTYPE.FLOAT32, MIL_DTYPE.FLOAT64]);

export class MilInterpreter {
  readonly #constants = new Map<string, MilConstant>();
  readonly #constTensors = new Map<string, T.Tensor>();
  readonly #steps: Step[] = [];
  readonly #roundFp16: boolean;

  private constructor(
    readonly file: string,
    readonly inputs: readonly MilIO[],
    readonly outputs: readonly MilIO[],
    readonly opCounts: Readonly<Record<string, number>>,
    options: MilRunOptions,
  ) {
    this.#roundFp16 = options.roundFp16 ?? true;
  }

  /** Check and prepare a model's `main` function; `weights` is weights/weight.bin (null when absent). */
  static load(
    file: string,
    model: CoreMLModel,
    weights: Uint8Array | null,
    options: MilRunOptions = {},
  ): MilInterpreter {
    const fail = (why: string): never => {
      throw new CoreMLError(`${file}: ${why}`);
    };
    const version = model.specificationVersion ?? 0;
    if (version < 6) fail(`specification version ${version}; ML Programs need 6 or later`);
    const program = model.mlProgram;
    if (!program) fail('not an ML Program (no mlProgram field): neural-network .mlmodel files are not interpreted');
    const fn = program!.functions?.main;
    if (!fn) fail('the program has no "main" function');
    const opset = fn!.opset ?? '';
    const block = fn!.block_specializations?.[opset];
    if (!block) fail(`the main function's opset "${opset}" has no block`);
    const blobs = weights ? new BlobReader(`${file} (weights/weight.bin)`, weights) : null;

    const inputs: MilIO[] = (fn!.inputs ?? []).map((i) => ({
      name: i.name ?? '',
      shape: tensorShape(file, i.type, `input "${i.name}"`),
      dataType: i.type?.tensorType?.dataType ?? 0,
    }));
    const described = model.description?.input ?? [];
    for (const i of inputs) {
      const d = described.find((x) => x.name === i.name);
      if (!d) fail(`function input "${i.name}" is not in the model description`);
      const shape = d!.type?.multiArrayType?.shape ?? [];
      if (shape.join() !== i.shape.join()) {
        fail(`input "${i.name}": the description says [${shape}], the program [${i.shape}]`);
      }
    }
    if (described.length !== inputs.length)
      fail(`the description lists ${described.length} inputs, the program ${inputs.length}`);

    const interp = new MilInterpreter(file, inputs, [], {}, options);
    const defined = new Map<string, { dataType: number; shape: number[] }>(
      inputs.map((i) => [i.name, { dataType: i.dataType, shape: [...i.shape] }]),
    );
    const counts: Record<string, number> = {};
    const lastUse = new Map<string, number>();
    const pending: Omit<Step, 'release'>[] = [];
    for (const [index, op] of (block!.operations ?? []).entries()) {
      const type = op.type ?? '';
      counts[type] = (counts[type] ?? 0) + 1;
      const outputs = (op.outputs ?? []).map((o) => ({
        name: o.name ?? '',
        dataType: o.type?.tensorType?.dataType ?? 0,
        shape: tensorShape(file, o.type, `output "${o.name}" of ${type} op ${index}`),
      }));
      if (outputs.length !== 1) fail(`op ${index} (${type}) has ${outputs.length} outputs; every op here has one`);
      const out = outputs[0];
      if (defined.has(out.name)) fail(`op ${index} (${type}) redefines "${out.name}"`);
      if ((op.blocks ?? []).length > 0)
        fail(`op ${index} (${type}) has nested blocks (control flow is not interpreted)`);
      if (type === 'const') {
        const val = op.attributes?.val;
        if (!val) fail(`const op ${index} ("${out.name}") has no val attribute`);
        interp.#constants.set(
          out.name,
          checkDeclared(file, readMilValue(file, val!, blobs, `const "${out.name}"`), out),
        );
      } else if (type === 'constexpr_lut_to_dense') {
        interp.#constants.set(out.name, checkDeclared(file, lutToDense(file, op, blobs, out.name), out));
      } else {
        const allowed = PARAMS[type];
        if (!allowed)
          fail(
            `op ${index} is ${JSON.stringify(type)}, which this interpreter does not run (it runs ${[...MIL_INTERPRETED_OPS].sort().join(', ')})`,
          );
        const inputsOf: Record<string, string[]> = {};
        for (const [param, arg] of Object.entries(op.inputs ?? {})) {
          if (!allowed.includes(param)) fail(`${type} op "${out.name}" has an unknown parameter "${param}"`);
          inputsOf[param] = (arg.arguments ?? []).map((b) => {
            if (b.value)
              fail(`${type} op "${out.name}": parameter "${param}" binds a literal value; only named values are read`);
            const name = b.name ?? '';
            if (!defined.has(name))
              fail(`${type} op "${out.name}": "${name}" (parameter ${param}) is used before it is defined`);
            lastUse.set(name, pending.length);
            return name;
          });
        }
        pending.push({ op, type, inputs: inputsOf, outputs });
      }
      defined.set(out.name, { dataType: out.dataType, shape: out.shape });
    }
    const outputNames = block!.outputs ?? [];
    const described_out = model.description?.output ?? [];
    if (outputNames.length === 0) fail('the main block has no outputs');
    const outs: MilIO[] = outputNames.map((name) => {
      const d = defined.get(name);
      if (!d) fail(`block output "${name}" is never defined`);
      if (!described_out.some((o) => o.name === name)) fail(`block output "${name}" is not in the model description`);
      lastUse.set(name, Number.POSITIVE_INFINITY);
      return { name, shape: d!.shape, dataType: d!.dataType };
    });
    for (const [i, s] of pending.entries()) {
      const release = Object.values(s.inputs)
        .flat()
        .filter((n, k, all) => all.indexOf(n) === k && lastUse.get(n) === i && !interp.#constants.has(n));
      interp.#steps.push({ ...s, release });
    }
    Object.assign(interp, { outputs: outs, opCounts: counts });
    return interp;
  }

  /** Run the program: inputs by name (float32 tensors of the declared shapes) → outputs by name. */
  run(feeds: Readonly<Record<string, T.Tensor>>): Record<string, T.Tensor> {
    const values = new Map<string, Val>();
    for (const i of this.inputs) {
      const t = feeds[i.name];
      if (!t) throw new UsageError(`${this.file}: no value given for input "${i.name}"`);
      if (t.shape.join() !== i.shape.join()) {
        throw new T.ShapeError(
          `${this.file}: input "${i.name}" must be [${i.shape}], got [${t.shape}] (the model has a fixed input shape)`,
        );
      }
      values.set(i.name, { tensor: t, dataType: i.dataType });
    }
    const owned = new Set<T.Tensor>();
    try {
      for (const step of this.#steps) {
        const params: Record<string, Val[]> = {};
        for (const [p, names] of Object.entries(step.inputs)) params[p] = names.map((n) => this.#value(values, n));
        const out = step.outputs[0];
        let y = T.tidy(() => this.#exec(step, params));
        if (out.shape.join() !== y.shape.join()) {
          y.dispose();
          throw new CoreMLError(
            `${this.file}: ${step.type} "${out.name}" computed [${y.shape}], its declared type says [${out.shape}]`,
          );
        }
        if (this.#roundFp16 && out.dataType === MIL_DTYPE.FLOAT16) {
          const r = T.tidy(() => T.cast(T.cast(y, 'f16'), 'f32'));
          y.dispose();
          y = r;
        }
        owned.add(y);
        values.set(out.name, { tensor: y, dataType: out.dataType });
        for (const n of step.release) {
          const t = values.get(n)?.tensor;
          if (t && owned.has(t)) {
            t.dispose();
            owned.delete(t);
          }
          values.delete(n);
        }
      }
      const result: Record<string, T.Tensor> = {};
      for (const o of this.outputs) {
        const v = this.#value(values, o.name);
        const t = v.tensor as T.Tensor;
        result[o.name] = owned.has(t) ? t : T.tidy(() => T.mul(t, 1));
        owned.delete(t);
      }
      return result;
    } finally {
      for (const t of owned) t.dispose();
    }
  }

  dispose(): void {
    for (const t of this.#constTensors.values()) t.dispose();
    this.#constTensors.clear();
  }

  #value(values: Map<string, Val>, name: string): Val {
    const v = values.get(name);
    if (v) return v;
    const c = this.#constants.get(name);
    if (!c) throw new CoreMLError(`${this.file}: value "${name}" is not available`);
    // The tensor is made on first use: most constants are parameters read as numbers.
    const self = this;
    return {
      host: c,
      dataType: c.dataType,
      get tensor() {
        return self.#constTensor(name, c);
      },
    };
  }

  #constTensor(name: string, c: MilConstant): T.Tensor | undefined {
    if (Array.isArray(c.data)) return undefined;
    let t = this.#constTensors.get(name);
    if (!t) {
      const data = c.data as Float32Array | Int32Array | Uint8Array;
      const dtype = data instanceof Float32Array ? 'f32' : data instanceof Int32Array ? 'i32' : 'u8';
      t = T.keep(T.tensor(data, c.shape, dtype));
      this.#constTensors.set(name, t);
    }
    return t;
  }

  #exec(step: Step, p: Params): T.Tensor {
    const what = `${step.type} "${step.outputs[0].name}"`;
    const file = this.file;
    const x = (name = 'x'): T.Tensor => {
      const v = p[name]?.[0];
      if (!v?.tensor) throw new CoreMLError(`${file}: ${what}: parameter "${name}" is missing or not a tensor`);
      return v.tensor;
    };
    const opt = (name: string): MilConstant | undefined => {
      const v = p[name]?.[0];
      if (!v) return undefined;
      if (!v.host) throw new CoreMLError(`${file}: ${what}: parameter "${name}" must be a constant`);
      return v.host;
    };
    const nums = (name: string, fallback?: number[]): number[] => {
      const c = opt(name);
      if (!c) {
        if (fallback) return fallback;
        throw new CoreMLError(`${file}: ${what}: required parameter "${name}" is missing`);
      }
      return Array.from(c.data as ArrayLike<number>);
    };
    const num = (name: string, fallback?: number): number =>
      nums(name, fallback === undefined ? undefined : [fallback])[0];
    const bool = (name: string, fallback: boolean): boolean => num(name, fallback ? 1 : 0) !== 0;
    const str = (name: string, fallback?: string): string => {
      const c = opt(name);
      if (!c) {
        if (fallback !== undefined) return fallback;
        throw new CoreMLError(`${file}: ${what}: required parameter "${name}" is missing`);
      }
      return (c.data as string[])[0];
    };
    const axisOf = (a: number, rank: number) => (a < 0 ? a + rank : a);
    const type = step.type;
    switch (type) {
      case 'identity':
        return T.mul(x(), 1);
      case 'cast': {
        const to = str('dtype');
        if (to === 'fp16' || to === 'fp32') return FLOATS.has(p.x[0].dataType) ? T.mul(x(), 1) : T.cast(x(), 'f32');
        if (to === 'int32') return T.cast(x(), 'i32');
        if (to === 'bool') return T.notEqual(x(), 0);
        throw new CoreMLError(`${file}: ${what}: cast to ${to} is not supported`);
      }
      case 'relu':
      case 'sigmoid':
      case 'tanh':
      case 'exp':
      case 'sqrt':
      case 'abs':
      case 'sign':
      case 'square':
      case 'sin':
      case 'cos':
      case 'erf':
      case 'silu':
        return UNARY[type](x());
      case 'log':
        return T.log(T.add(x(), num('epsilon', 1e-45)));
      case 'rsqrt':
        return T.rsqrt(T.add(x(), num('epsilon', 1e-12)));
      case 'inverse':
        return T.div(1, T.add(x(), num('epsilon', 1e-4)));
      case 'gelu': {
        const mode = str('mode', 'EXACT');
        const v = x();
        if (mode === 'EXACT') return T.gelu(v);
        if (mode === 'SIGMOID_APPROXIMATION') return T.mul(v, T.sigmoid(T.mul(v, 1.702)));
        if (mode === 'TANH_APPROXIMATION') {
          const inner = T.mul(T.add(v, T.mul(T.mul(T.square(v), v), 0.044715)), Math.sqrt(2 / Math.PI));
          return T.mul(T.mul(v, 0.5), T.add(T.tanh(inner), 1));
        }
        throw new CoreMLError(`${file}: ${what}: unknown gelu mode ${mode}`);
      }
      case 'add':
        return T.add(x(), x('y'));
      case 'sub':
        return T.sub(x(), x('y'));
      case 'mul':
        return T.mul(x(), x('y'));
      case 'real_div':
        return T.div(x(), x('y'));
      case 'pow':
        return T.pow(x(), x('y'));
      case 'maximum':
        return T.maximum(x(), x('y'));
      case 'minimum':
        return T.minimum(x(), x('y'));
      case 'equal':
        return T.equal(x(), x('y'));
      case 'not_equal':
        return T.notEqual(x(), x('y'));
      case 'less':
        return T.less(x(), x('y'));
      case 'less_equal':
        return T.lessEqual(x(), x('y'));
      case 'greater':
        return T.greater(x(), x('y'));
      case 'greater_equal':
        return T.greaterEqual(x(), x('y'));
      case 'select':
        return T.where(x('cond'), x('a'), x('b'));
      case 'clip':
        return T.clamp(x(), num('alpha'), num('beta'));
      case 'reshape': {
        const v = x();
        const shape = nums('shape').map((d, i) => (d === 0 ? v.shape[i] : d));
        return T.reshape(v, shape);
      }
      case 'transpose':
        return T.permute(x(), nums('perm'));
      case 'tile': {
        let v = x();
        for (const [axis, r] of nums('reps').entries()) {
          if (r > 1)
            v =
              v.shape[axis] === 1
                ? T.expand(
                    v,
                    v.shape.map((d, i) => (i === axis ? r : d)),
                  )
                : T.concat(new Array<T.Tensor>(r).fill(v), axis);
        }
        return T.contiguous(v);
      }
      case 'concat': {
        if (bool('interleave', false)) throw new CoreMLError(`${file}: ${what}: interleaved concat is not supported`);
        const vs = (p.values ?? []).map((v) => v.tensor as T.Tensor);
        return T.concat(vs, axisOf(num('axis'), vs[0].rank));
      }
      case 'gather': {
        const v = x();
        return T.gather(v, T.cast(x('indices'), 'i32'), axisOf(num('axis', 0), v.rank));
      }
      case 'slice_by_index': {
        const v = x();
        const rank = v.rank;
        const begin = nums('begin');
        const end = nums('end');
        const stride = nums('stride', new Array<number>(rank).fill(1));
        const bm = nums('begin_mask', new Array<number>(rank).fill(0));
        const em = nums('end_mask', new Array<number>(rank).fill(0));
        const sm = nums('squeeze_mask', new Array<number>(rank).fill(0));
        const spec = v.shape.map((d, i) => {
          const s = stride[i];
          if (!(s >= 1))
            throw new CoreMLError(`${file}: ${what}: stride ${s} on axis ${i}; only positive strides are interpreted`);
          const wrap = (k: number) => (k < 0 ? k + d : k);
          return { start: bm[i] ? 0 : wrap(begin[i]), end: em[i] ? d : wrap(end[i]), step: s };
        });
        const sliced = T.slice(v, spec);
        const squeeze = sm.map((m, i) => (m ? i : -1)).filter((i) => i >= 0);
        return squeeze.length > 0 ? T.squeeze(sliced, squeeze) : sliced;
      }
      case 'pad': {
        const v = x();
        const flat = nums('pad');
        const n = flat.length / 2;
        const pads = v.shape.map((_, i): [number, number] =>
          i < v.rank - n ? [0, 0] : [flat[2 * (i - v.rank + n)], flat[2 * (i - v.rank + n) + 1]],
        );
        const mode = str('mode', 'constant');
        const core = { constant: 'constant', reflect: 'reflect', replicate: 'edge' }[mode] as T.PadMode | undefined;
        if (!core) throw new CoreMLError(`${file}: ${what}: unknown pad mode ${mode}`);
        return T.pad(v, pads, core, num('constant_val', 0));
      }
      case 'conv': {
        const v = x();
        const w = x('weight');
        const padType = str('pad_type', 'valid');
        const padding: PaddingSpec =
          padType === 'custom'
            ? (nums('pad', [0, 0, 0, 0]) as unknown as readonly [number, number, number, number])
            : padType === 'same'
              ? 'same'
              : padType === 'valid'
                ? 'valid'
                : ('invalid' as never);
        if (!['custom', 'same', 'valid'].includes(padType))
          throw new CoreMLError(`${file}: ${what}: pad_type ${padType} is not supported`);
        const bias = p.bias?.[0]?.tensor;
        return T.conv2d(v, w, bias, {
          stride: nums('strides', [1, 1]) as unknown as [number, number],
          padding,
          dilation: nums('dilations', [1, 1]) as unknown as [number, number],
          groups: num('groups', 1),
        });
      }
      case 'upsample_nearest_neighbor': {
        const v = x();
        const [h, w] = [v.shape[v.rank - 2], v.shape[v.rank - 1]];
        return T.resize(
          v,
          [Math.floor(h * num('scale_factor_height', 1)), Math.floor(w * num('scale_factor_width', 1))],
          { mode: 'nearest' },
        );
      }
      case 'resize_bilinear': {
        const mode = str('sampling_mode', 'DEFAULT');
        const opts: T.ResizeOptions | undefined = {
          DEFAULT: { mode: 'bilinear', halfPixelCenters: false },
          UNALIGN_CORNERS: { mode: 'bilinear', halfPixelCenters: true },
          STRICT_ALIGN_CORNERS: { mode: 'bilinear', alignCorners: true },
          ALIGN_CORNERS: { mode: 'bilinear', alignCorners: true },
        }[mode] as T.ResizeOptions | undefined;
        if (!opts) throw new CoreMLError(`${file}: ${what}: sampling_mode ${mode} is not supported`);
        return T.resize(x(), [num('target_size_height', 1), num('target_size_width', 1)], opts);
      }
      case 'matmul':
        return T.matmul(x(), x('y'), {
          transposeA: bool('transpose_x', false),
          transposeB: bool('transpose_y', false),
        });
      case 'linear':
        return T.linear(x(), x('weight'), p.bias?.[0]?.tensor);
      case 'layer_norm': {
        const v = x();
        const axes = nums('axes', [v.rank - 1]).map((a) => axisOf(a, v.rank));
        const eps = num('epsilon', 1e-5);
        const gamma = p.gamma?.[0]?.tensor;
        const beta = p.beta?.[0]?.tensor;
        if (axes.length === 1 && axes[0] === v.rank - 1) return T.layerNorm(v, gamma, beta, eps);
        const m = T.mean(v, axes, true);
        const d = T.sub(v, m);
        let y = T.mul(d, T.rsqrt(T.add(T.mean(T.square(d), axes, true), eps)));
        if (gamma) y = T.mul(y, gamma);
        return beta ? T.add(y, beta) : y;
      }
      case 'instance_norm':
        return T.instanceNorm(x(), p.gamma?.[0]?.tensor, p.beta?.[0]?.tensor, num('epsilon', 1e-5));
      case 'softmax': {
        const v = x();
        return T.softmax(v, axisOf(num('axis', -1), v.rank));
      }
      case 'reduce_sum':
      case 'reduce_mean':
      case 'reduce_max':
      case 'reduce_min':
      case 'reduce_prod':
      case 'reduce_log_sum_exp': {
        const v = x();
        const axes = nums('axes', [...Array(v.rank).keys()]).map((a) => axisOf(a, v.rank));
        const keep = bool('keep_dims', false);
        const f = {
          reduce_sum: T.sum,
          reduce_mean: T.mean,
          reduce_max: T.max,
          reduce_min: T.min,
          reduce_prod: T.prod,
          reduce_log_sum_exp: T.logsumexp,
        }[type];
        return f(v, axes, keep);
      }
      case 'reduce_argmax':
      case 'reduce_argmin': {
        const v = x();
        const f = type === 'reduce_argmax' ? T.argmax : T.argmin;
        return f(v, axisOf(num('axis', -1), v.rank), bool('keep_dims', false));
      }
      case 'avg_pool':
      case 'max_pool': {
        const v = x();
        if (bool('ceil_mode', false)) throw new CoreMLError(`${file}: ${what}: ceil_mode is not supported`);
        const padType = str('pad_type', 'valid');
        const padding: PaddingSpec =
          padType === 'custom'
            ? (nums('pad', [0, 0, 0, 0]) as unknown as readonly [number, number, number, number])
            : (padType as 'same' | 'valid');
        const kernel = nums('kernel_sizes') as unknown as [number, number];
        const stride = nums('strides', [1, 1]) as unknown as [number, number];
        if (type === 'max_pool') return T.maxPool2d(v, kernel, { stride, padding });
        return T.avgPool2d(v, kernel, {
          stride,
          padding,
          countIncludePad: !bool('exclude_padding_from_average', false),
        });
      }
    }
    throw new CoreMLError(`${file}: ${what}: not interpreted`);
  }
}

function checkDeclared(
  file: string,
  c: MilConstant,
  out: { name: string; dataType: number; shape: number[] },
): MilConstant {
  if (c.dataType !== out.dataType || c.shape.join() !== out.shape.join()) {
    throw new CoreMLError(
      `${file}: constant "${out.name}" is declared dtype ${out.dataType} [${out.shape}] but holds dtype ${c.dataType} [${c.shape}]`,
    );
  }
  return c;
}

/** iOS 16 constexpr_lut_to_dense: lut [2^n], indices uint8 [⌈n·size/8⌉] packed LSB-first, shape uint32 [K]; inputs as attributes. */
function lutToDense(file: string, op: MilOperation, blobs: BlobReader | null, name: string): MilConstant {
  const attr = (key: string): MilValue => {
    const v = op.attributes?.[key];
    if (!v) throw new CoreMLError(`${file}: constexpr_lut_to_dense "${name}" has no ${key} attribute`);
    return v;
  };
  const lut = readMilValue(file, attr('lut'), blobs, `"${name}" lut`);
  const indices = readMilValue(file, attr('indices'), blobs, `"${name}" indices`);
  const shape = readMilValue(file, attr('shape'), blobs, `"${name}" shape`);
  const size = lut.shape[0];
  const bits = Math.log2(size);
  if (lut.shape.length !== 1 || ![1, 2, 4, 6, 8].includes(bits)) {
    throw new CoreMLError(
      `${file}: constexpr_lut_to_dense "${name}": lut of shape [${lut.shape}] (needs 2, 4, 16, 64 or 256 entries)`,
    );
  }
  if (indices.dataType !== MIL_DTYPE.UINT8 || shape.dataType !== MIL_DTYPE.UINT32) {
    throw new CoreMLError(`${file}: constexpr_lut_to_dense "${name}": indices must be uint8 and shape uint32`);
  }
  const dims = Array.from(shape.data as Int32Array);
  const count = dims.reduce((a, b) => a * b, 1);
  const packed = indices.data as Uint8Array;
  if (packed.length !== Math.ceil((bits * count) / 8)) {
    throw new CoreMLError(
      `${file}: constexpr_lut_to_dense "${name}": ${packed.length} index bytes for ${count} ${bits}-bit indices`,
    );
  }
  const idx = unpackIndices(packed, bits, count);
  const table = lut.data as Float32Array;
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = table[idx[i]];
  return { dataType: lut.dataType, shape: dims, data };
}
