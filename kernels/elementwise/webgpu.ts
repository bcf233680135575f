/**
 * WebGPU kernels for the elementwise family: three WGSL templates (unary.wgsl,
 * binary.wgsl, where.wgsl) specialised with one WGSL expression per op. Kernels
 * compute on 32-bit elements; f16/bf16 and u8/i8 are widened and narrowed around them.
 */
import type { GpuKernel, GpuKernelTable, WebGPUBackend, Wide, WideType } from '../../backends/webgpu/backend.js';
import { type ShaderVariant, wgsl } from '../../backends/webgpu/shaders.js';
import { broadcastWalk } from '../../backends/webgpu/strides.js';
import { Uniforms } from '../../backends/webgpu/uniforms.js';
import type { DType } from '../../core/dtype.js';
import type { CastAttrs, ClampAttrs } from './elementwise.js';
import { BINARY, COMPARE, UNARY } from './math.js';

const UNARY_WGSL = wgsl(new URL('./unary.wgsl', import.meta.url));
const BINARY_WGSL = wgsl(new URL('./binary.wgsl', import.meta.url));
const WHERE_WGSL = wgsl(new URL('./where.wgsl', import.meta.url));

/** Function bodies over `v` (unary) — f32 forms; ops valid on i32 are listed in INT_UNARY. */
const UNARY_F32: Record<keyof typeof UNARY, string> = {
  neg: 'return -v;',
  abs: 'return abs(v);',
  sign: 'return sign(v);',
  exp: 'return exp(v);',
  log: 'return log(v);',
  sqrt: 'return sqrt(v);',
  rsqrt: 'return inverseSqrt(v);',
  square: 'return v * v;',
  sin: 'return sin_quadrant(v, 0);',
  cos: 'return sin_quadrant(v, 1);',
  tanh: 'let e = exp(-2.0 * abs(v)); return sign(v) * (1.0 - e) / (1.0 + e);',
  sigmoid: 'return sigmoid_(v);',
  relu: 'return max(v, 0.0);',
  erf: 'return erf_(v);',
  gelu: 'return 0.5 * v * (1.0 + erf_(v * 0.7071067811865476));',
  silu: 'return v * sigmoid_(v);',
};

const INT_UNARY: Partial<Record<keyof typeof UNARY, string>> = {
  neg: 'return -v;',
  abs: 'return abs(v);',
  sign: 'return sign(v);',
  square: 'return v * v;',
  relu: 'return max(v, 0);',
};

/** Bodies over `u`, `v`. */
const BINARY_F32: Record<keyof typeof BINARY, string> = {
  add: 'return u + v;',
  sub: 'return u - v;',
  mul: 'return u * v;',
  div: 'return u / v;',
  pow: 'return pow_(u, v);',
  maximum: 'return select(v, u, u > v || u != u);',
  minimum: 'return select(v, u, u < v || u != u);',
};

const BINARY_I32: Record<keyof typeof BINARY, string> = {
  add: 'return u + v;',
  sub: 'return u - v;',
  mul: 'return u * v;',
  // The host divides in doubles and stores ToInt32: x/0 becomes 0.
  div: 'return select(u / v, 0, v == 0);',
  pow: 'return i32(round(pow_(f32(u), f32(v))));',
  maximum: 'return max(u, v);',
  minimum: 'return min(u, v);',
};

const COMPARE_OPS: Record<keyof typeof COMPARE, string> = {
  equal: 'return i32(u == v);',
  notEqual: 'return i32(u != v);',
  less: 'return i32(u < v);',
  lessEqual: 'return i32(u <= v);',
  greater: 'return i32(u > v);',
  greaterEqual: 'return i32(u >= v);',
};

function unaryVariant(ti: WideType, to: WideType, body: string): ShaderVariant {
  return {
    shader: UNARY_WGSL,
    params: { TI: `alias TI = ${ti};`, TO: `alias TO = ${to};`, OP: `fn op(v: TI) -> TO { ${body} }` },
  };
}

function binaryVariant(t: WideType, to: WideType, body: string): ShaderVariant {
  return {
    shader: BINARY_WGSL,
    params: { T: `alias T = ${t};`, TO: `alias TO = ${to};`, OP: `fn op(u: T, v: T) -> TO { ${body} }` },
  };
}

function whereVariant(t: WideType): ShaderVariant {
  return { shader: WHERE_WGSL, params: { T: `alias T = ${t};` } };
}

function unaryBody(name: keyof typeof UNARY, type: WideType): string {
  if (type === 'f32') return UNARY_F32[name];
  const body = INT_UNARY[name];
  if (!body) throw new Error(`webgpu ${name}: no integer form (the op definition should have rejected ${type})`);
  return body;
}

function runUnary(gpu: WebGPUBackend, x: Wide, y: Wide, variant: ShaderVariant, a = 0, b = 0): void {
  gpu.dispatch({
    ...variant,
    uniforms: new Uniforms().u32(y.size, a, b, 0),
    bindings: [x.buffer, y.buffer],
    threads: y.size,
  });
}

function unaryKernel(name: keyof typeof UNARY): GpuKernel<unknown> {
  return ([x], _attrs, [out], gpu) => {
    const a = gpu.wide(x);
    const y = gpu.output(out);
    runUnary(gpu, a, y, unaryVariant(a.type, y.type, unaryBody(name, a.type)));
    return [y.finish()];
  };
}

function broadcastKernel(variantOf: (type: WideType, out: WideType) => ShaderVariant): GpuKernel<unknown> {
  return (inputs, _attrs, [out], gpu) => {
    const walk = broadcastWalk(
      out.shape,
      inputs.map((t) => t.shape),
    );
    const wides = inputs.map((t) => gpu.wide(t));
    const y = gpu.output(out);
    const uniforms = new Uniforms().u32(y.size, walk.shape.length, 0, 0).u32Array(walk.shape);
    for (const s of walk.strides) uniforms.u32Array(s);
    gpu.dispatch({
      ...variantOf(wides[wides.length - 1].type, y.type),
      uniforms,
      bindings: [...wides.map((w) => w.buffer), y.buffer],
      threads: y.size,
    });
    return [y.finish()];
  };
}

const clamp: GpuKernel<ClampAttrs> = ([x], { min, max }, [out], gpu) => {
  const a = gpu.wide(x);
  const y = gpu.output(out);
  const body = 'return select(clamp(v, bitcast<TI>(p.a), bitcast<TI>(p.b)), v, v != v);';
  if (a.type === 'f32') {
    const bits = new Uint32Array(new Float32Array([min, max]).buffer);
    runUnary(gpu, a, y, unaryVariant('f32', 'f32', body), bits[0], bits[1]);
  } else {
    // The host clamps then truncates into the integer array: trunc of the bounds does the same.
    const bound = (v: number) => Math.trunc(Math.min(2147483647, Math.max(-2147483648, v)));
    runUnary(gpu, a, y, unaryVariant(a.type, y.type, body), bound(min), bound(max));
  }
  return [y.finish()];
};

/** The saturating range of each integer dtype, and the wide type it is stored in. */
const INT_FORMS: Partial<Record<DType, { lo: number; hi: number; wide: WideType }>> = {
  i32: { lo: -2147483648, hi: 2147483647, wide: 'i32' },
  u8: { lo: 0, hi: 255, wide: 'i32' },
  i8: { lo: -128, hi: 127, wide: 'i32' },
  u32: { lo: 0, hi: 4294967295, wide: 'u32' },
};

/** A WGSL literal of an integer in the wide type `type`. */
function literal(value: number, type: WideType): string {
  return type === 'u32' ? `${value}u` : type === 'i32' ? `${value}` : `${value.toFixed(1)}`;
}

/**
 * Body converting a wide value of `from` to the wide form of dtype `to`: to a float, a plain
 * conversion; to an integer, truncation toward zero saturated to its range (NaN → 0), as the
 * reference does.
 */
function castBody(from: WideType, to: DType): string {
  const form = INT_FORMS[to];
  if (!form) {
    if (to === 'f64') throw new Error('webgpu cast: f64 runs on the host');
    return from === 'f32' ? 'return v;' : 'return f32(v);';
  }
  const { lo, hi, wide } = form;
  if (from === 'f32') {
    // Compare in f32 before converting: hi may not be representable (2^31 - 1, 2^32 - 1 round up).
    return (
      `if (v != v) { return ${literal(0, wide)}; } if (v >= ${literal(hi, 'f32')}) { return ${literal(hi, wide)}; } ` +
      `return ${wide}(max(trunc(v), ${literal(lo, 'f32')}));`
    );
  }
  if (from === wide) {
    const lower = from === 'u32' || lo === -2147483648 ? 'v' : `max(v, ${literal(lo, from)})`;
    return hi === (from === 'u32' ? 4294967295 : 2147483647)
      ? `return ${lower};`
      : `return min(${lower}, ${literal(hi, from)});`;
  }
  // i32 → u32: negatives become 0; u32 → i32 (for i32, u8, i8): saturate at the top, nothing below 0.
  if (from === 'i32') return 'return u32(max(v, 0));';
  return `return i32(min(v, ${literal(Math.min(hi, 2147483647), 'u32')}));`;
}

const cast: GpuKernel<CastAttrs> = ([x], { dtype }, [out], gpu) => {
  const a = gpu.wide(x);
  const y = gpu.output(out);
  runUnary(gpu, a, y, unaryVariant(a.type, y.type, castBody(a.type, dtype)));
  return [y.finish()];
};

const unaryNames = Object.keys(UNARY) as (keyof typeof UNARY)[];
const binaryNames = Object.keys(BINARY) as (keyof typeof BINARY)[];
const compareNames = Object.keys(COMPARE) as (keyof typeof COMPARE)[];

export const gpuKernels: GpuKernelTable = {
  ...Object.fromEntries(unaryNames.map((n) => [n, unaryKernel(n)])),
  ...Object.fromEntries(
    binaryNames.map((n) => [
      n,
      broadcastKernel((t, to) => binaryVariant(t, to, t === 'f32' ? BINARY_F32[n] : BINARY_I32[n])),
    ]),
  ),
  ...Object.fromEntries(compareNames.map((n) => [n, broadcastKernel((t) => binaryVariant(t, 'i32', COMPARE_OPS[n]))])),
  where: broadcastKernel((t) => whereVariant(t)),
  clamp,
  cast,
};

/** Every shader variant these kernels can dispatch (the WGSL validation test compiles each). */
export function gpuVariants(): ShaderVariant[] {
  const types: WideType[] = ['f32', 'i32', 'u32'];
  const out: ShaderVariant[] = [];
  for (const n of unaryNames) {
    out.push(unaryVariant('f32', 'f32', UNARY_F32[n]));
    const int = INT_UNARY[n];
    if (int) out.push(unaryVariant('i32', 'i32', int));
  }
  const clampBody = 'return select(clamp(v, bitcast<TI>(p.a), bitcast<TI>(p.b)), v, v != v);';
  for (const t of types) {
    for (const to of ['f32', 'i32', 'u8', 'i8', 'u32'] as const) {
      out.push(unaryVariant(t, INT_FORMS[to]?.wide ?? 'f32', castBody(t, to)));
    }
    if (t === 'u32') continue;
    out.push(unaryVariant(t, t, clampBody));
    out.push(whereVariant(t));
    for (const n of compareNames) out.push(binaryVariant(t, 'i32', COMPARE_OPS[n]));
  }
  for (const n of binaryNames) {
    out.push(binaryVariant('f32', 'f32', BINARY_F32[n]));
    out.push(binaryVariant('i32', 'i32', BINARY_I32[n]));
  }
  return out;
}
