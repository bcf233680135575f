/**
 * Elementwise ops: unary, binary (NumPy broadcasting), comparisons, where, clamp, cast.
 * Shape and dtype rules and every vjp live here; scalars are in math.ts.
 */
import type { TensorInfo } from '../../core/backend.js';
import { scalar } from '../../core/creation.js';
import { DTYPES, type DType, isDType, isFloat } from '../../core/dtype.js';
import { defineOp, type OpDef, run1, type SavedTensors } from '../../core/engine.js';
import { DTypeError } from '../../core/errors.js';
import { broadcastShapes } from '../../core/shape.js';
import { type Tensor, tidy } from '../../core/tensor.js';
import { sumTo } from '../reduce/reduce.js';
import { BINARY, type BinaryOpName, COMPARE, type CompareOpName, UNARY, type UnaryOpName } from './math.js';

/** A tensor, or a number taken as a scalar of the other operand's dtype. */
export type TensorLike = Tensor | number;

export interface ClampAttrs {
  readonly min: number;
  readonly max: number;
}

export interface CastAttrs {
  readonly dtype: DType;
}

function requireFloat(op: string, t: TensorInfo): void {
  if (!isFloat(t.dtype)) {
    throw new DTypeError(`${op}: needs a float tensor, got ${t.dtype} (cast it first: cast(x, 'f32'))`);
  }
}

function sameDType(op: string, infos: readonly TensorInfo[]): DType {
  const d = infos[0].dtype;
  for (const t of infos) {
    if (t.dtype !== d) {
      throw new DTypeError(
        `${op}: operands have dtypes ${infos.map((i) => i.dtype).join(' and ')}; cast one so they match`,
      );
    }
  }
  return d;
}

const FLOAT_ONLY_UNARY = new Set<UnaryOpName>([
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'sin',
  'cos',
  'tanh',
  'sigmoid',
  'erf',
  'gelu',
  'silu',
]);

type UnaryVjp = (g: Tensor, x: Tensor, y: Tensor) => Tensor;

/** What each unary vjp below reads: the input x, the output y, or neither (the tape keeps only that). */
const UNARY_READS: Record<UnaryOpName, 'x' | 'y' | null> = {
  neg: null,
  abs: 'x',
  sign: null,
  exp: 'y',
  log: 'x',
  sqrt: 'y',
  rsqrt: 'y',
  square: 'x',
  sin: 'x',
  cos: 'x',
  tanh: 'y',
  sigmoid: 'y',
  relu: 'x',
  erf: 'x',
  gelu: 'x',
  silu: 'x',
};

const SQRT_2PI = Math.sqrt(2 * Math.PI);

const unaryVjps: Record<UnaryOpName, UnaryVjp> = {
  neg: (g) => neg(g),
  abs: (g, x) => mul(g, sign(x)),
  sign: (g) => mul(g, 0),
  exp: (g, _x, y) => mul(g, y),
  log: (g, x) => div(g, x),
  sqrt: (g, _x, y) => div(g, mul(y, 2)),
  rsqrt: (g, _x, y) => mul(g, mul(pow(y, 3), -0.5)),
  square: (g, x) => mul(g, mul(x, 2)),
  sin: (g, x) => mul(g, cos(x)),
  cos: (g, x) => mul(g, neg(sin(x))),
  tanh: (g, _x, y) => mul(g, sub(1, square(y))),
  sigmoid: (g, _x, y) => mul(g, mul(y, sub(1, y))),
  relu: (g, x) => mul(g, cast(greater(x, 0), g.dtype)),
  erf: (g, x) => mul(g, mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI))),
  gelu: (g, x) => {
    // d/dx x·Φ(x) = Φ(x) + x·φ(x)
    const cdf = mul(add(erf(div(x, Math.SQRT2)), 1), 0.5);
    const pdf = div(exp(mul(square(x), -0.5)), SQRT_2PI);
    return mul(g, add(cdf, mul(x, pdf)));
  },
  silu: (g, x) => {
    const s = sigmoid(x);
    return mul(g, mul(s, add(1, mul(x, sub(1, s)))));
  },
};

function unaryDef(name: UnaryOpName): OpDef<Record<string, never>> {
  return defineOp({
    name,
    infer([x]) {
      if (FLOAT_ONLY_UNARY.has(name)) requireFloat(name, x);
      return [{ shape: x.shape, dtype: x.dtype }];
    },
    vjp([g], { inputs: [x], outputs: [y] }) {
      return [unaryVjps[name](g, x, y)];
    },
    saves() {
      const reads = UNARY_READS[name];
      return { inputs: reads === 'x' ? [0] : [], outputs: reads === 'y' ? [0] : [] };
    },
  });
}

/** Gradients of a and b; `need` says which are wanted (the others may be null and their inputs unsaved). */
type BinaryVjp = (
  g: Tensor,
  a: Tensor,
  b: Tensor,
  y: Tensor,
  need: readonly boolean[],
) => [Tensor | null, Tensor | null];

const binaryVjps: Record<BinaryOpName, BinaryVjp> = {
  add: (g) => [g, g],
  sub: (g, _a, _b, _y, [, nb]) => [g, nb ? neg(g) : null],
  mul: (g, a, b, _y, [na, nb]) => [na ? mul(g, b) : null, nb ? mul(g, a) : null],
  div: (g, a, b, _y, [na, nb]) => [na ? div(g, b) : null, nb ? neg(div(mul(g, a), square(b))) : null],
  pow: (g, a, b, y) => {
    const da = mul(g, mul(b, pow(a, sub(b, 1))));
    // d/db a^b = a^b·ln a, defined for a > 0; elsewhere the gradient is taken as 0.
    const positive = greater(a, 0);
    const lnA = log(where(positive, a, 1));
    return [da, mul(g, mul(y, lnA))];
  },
  maximum: (g, a, b) => {
    const pickA = cast(greaterEqual(a, b), g.dtype);
    return [mul(g, pickA), mul(g, sub(1, pickA))];
  },
  minimum: (g, a, b) => {
    const pickA = cast(lessEqual(a, b), g.dtype);
    return [mul(g, pickA), mul(g, sub(1, pickA))];
  },
};

/** Inputs and outputs each binary vjp reads, given which gradients are wanted. */
function binarySaves(name: BinaryOpName, [na, nb]: readonly boolean[]): SavedTensors {
  switch (name) {
    case 'add':
    case 'sub':
      return { inputs: [], outputs: [] };
    case 'mul':
      return { inputs: [...(nb ? [0] : []), ...(na ? [1] : [])], outputs: [] };
    case 'div':
      return { inputs: nb ? [0, 1] : [1], outputs: [] };
    case 'pow':
      return { inputs: [0, 1], outputs: [0] };
    default:
      return { inputs: [0, 1], outputs: [] };
  }
}

function binaryDef(name: BinaryOpName): OpDef<Record<string, never>> {
  return defineOp({
    name,
    infer([a, b]) {
      return [{ shape: broadcastShapes(name, a.shape, b.shape), dtype: sameDType(name, [a, b]) }];
    },
    vjp([g], { inputs: [a, b], outputs: [y], needsGrad }) {
      const [ga, gb] = binaryVjps[name](g, a, b, y, needsGrad);
      return [ga && needsGrad[0] ? sumTo(ga, a.shape) : null, gb && needsGrad[1] ? sumTo(gb, b.shape) : null];
    },
    saves: (needsGrad) => binarySaves(name, needsGrad),
  });
}

function compareDef(name: CompareOpName): OpDef<Record<string, never>> {
  return defineOp({
    name,
    infer([a, b]) {
      sameDType(name, [a, b]);
      return [{ shape: broadcastShapes(name, a.shape, b.shape), dtype: 'u8' }];
    },
  });
}

const unaryDefs = Object.fromEntries(Object.keys(UNARY).map((n) => [n, unaryDef(n as UnaryOpName)])) as Record<
  UnaryOpName,
  OpDef<Record<string, never>>
>;
const binaryDefs = Object.fromEntries(Object.keys(BINARY).map((n) => [n, binaryDef(n as BinaryOpName)])) as Record<
  BinaryOpName,
  OpDef<Record<string, never>>
>;
const compareDefs = Object.fromEntries(Object.keys(COMPARE).map((n) => [n, compareDef(n as CompareOpName)])) as Record<
  CompareOpName,
  OpDef<Record<string, never>>
>;

export const whereOp = defineOp<Record<string, never>>({
  name: 'where',
  infer([c, a, b]) {
    if (c.dtype !== 'u8') throw new DTypeError(`where: condition must be u8 (a comparison result), got ${c.dtype}`);
    return [{ shape: broadcastShapes('where', c.shape, a.shape, b.shape), dtype: sameDType('where', [a, b]) }];
  },
  vjp([g], { inputs: [c, a, b], needsGrad: [, na, nb] }) {
    const zero = scalar(0, g.dtype);
    return [null, na ? sumTo(where(c, g, zero), a.shape) : null, nb ? sumTo(where(c, zero, g), b.shape) : null];
  },
  saves: () => ({ inputs: [0], outputs: [] }),
});

export const clampOp = defineOp<ClampAttrs>({
  name: 'clamp',
  infer([x], { min, max }) {
    if (!(min <= max)) throw new DTypeError(`clamp: min ${min} must not exceed max ${max}`);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  vjp([g], { inputs: [x], attrs: { min, max } }) {
    const inside = mul(cast(greaterEqual(x, min), g.dtype), cast(lessEqual(x, max), g.dtype));
    return [mul(g, inside)];
  },
  saves: () => ({ inputs: [0], outputs: [] }),
});

export const castOp = defineOp<CastAttrs>({
  name: 'cast',
  storageDTypes: true,
  infer([x], { dtype }) {
    if (!isDType(dtype)) throw new DTypeError(`cast: unknown dtype '${String(dtype)}' (use ${DTYPES.join(', ')})`);
    return [{ shape: x.shape, dtype }];
  },
  vjp([g], { inputs: [x] }) {
    return [isFloat(x.dtype) ? cast(g, x.dtype) : null];
  },
  saves: () => ({ inputs: [], outputs: [] }),
});

function lift(x: TensorLike, like: Tensor): Tensor {
  return typeof x === 'number' ? scalar(x, like.dtype) : x;
}

function pair(a: TensorLike, b: TensorLike, op: string): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') {
    throw new DTypeError(`${op}: at least one operand must be a tensor`);
  }
  const ta = typeof a === 'number' ? lift(a, b as Tensor) : a;
  const tb = typeof b === 'number' ? lift(b, a as Tensor) : b;
  return [ta, tb];
}

function unary(name: UnaryOpName) {
  return (x: Tensor): Tensor => run1(unaryDefs[name], [x], {});
}

/** Numbers become scalar tensors that must not outlive the op: tidy frees them. */
function withScalars(a: TensorLike, b: TensorLike, op: string, fn: (ta: Tensor, tb: Tensor) => Tensor): Tensor {
  if (typeof a !== 'number' && typeof b !== 'number') return fn(a, b);
  return tidy(() => fn(...pair(a, b, op)));
}

function binary(name: BinaryOpName) {
  return (a: TensorLike, b: TensorLike): Tensor =>
    withScalars(a, b, name, (ta, tb) => run1(binaryDefs[name], [ta, tb], {}));
}

function compare(name: CompareOpName) {
  return (a: TensorLike, b: TensorLike): Tensor =>
    withScalars(a, b, name, (ta, tb) => run1(compareDefs[name], [ta, tb], {}));
}

export const neg = unary('neg');
export const abs = unary('abs');
export const sign = unary('sign');
export const exp = unary('exp');
export const log = unary('log');
export const sqrt = unary('sqrt');
export const rsqrt = unary('rsqrt');
export const square = unary('square');
export const sin = unary('sin');
export const cos = unary('cos');
export const tanh = unary('tanh');
export const sigmoid = unary('sigmoid');
export const relu = unary('relu');
export const erf = unary('erf');
export const gelu = unary('gelu');
export const silu = unary('silu');

export const add = binary('add');
export const sub = binary('sub');
export const mul = binary('mul');
export const div = binary('div');
export const pow = binary('pow');
export const maximum = binary('maximum');
export const minimum = binary('minimum');

export const equal = compare('equal');
export const notEqual = compare('notEqual');
export const less = compare('less');
export const lessEqual = compare('lessEqual');
export const greater = compare('greater');
export const greaterEqual = compare('greaterEqual');

/** cond ? a : b elementwise, broadcasting all three; cond is u8 (a comparison result). */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  return withScalars(a, b, 'where', (ta, tb) => run1(whereOp, [cond, ta, tb], {}));
}

export function clamp(x: Tensor, min = -Infinity, max = Infinity): Tensor {
  return run1(clampOp, [x], { min, max });
}

export function cast(x: Tensor, dtype: DType): Tensor {
  return run1(castOp, [x], { dtype });
}

/** Every op name this family registers (conformance tables iterate it). */
export const ELEMENTWISE_OPS = {
  unary: Object.keys(UNARY) as UnaryOpName[],
  binary: Object.keys(BINARY) as BinaryOpName[],
  compare: Object.keys(COMPARE) as CompareOpName[],
};
