/**
 * Scalar definitions of every elementwise op: the single source of truth the
 * reference kernels run and other backends' kernels are checked against.
 */

/** erf to ~1e-15: Taylor series near 0, continued fraction for erfc in the tails. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = ax;
    let sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 100; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    const r = (2 / Math.sqrt(Math.PI)) * sum;
    return x < 0 ? -r : r;
  }
  if (ax > 6) return x < 0 ? -1 : 1;
  // Lentz's continued fraction for erfc(ax) = exp(-ax^2)/sqrt(pi) * 1/(ax + 1/2/(ax + 1/(ax + 3/2/(ax + ...)))).
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = ax + an / c;
    if (c === 0) c = 1e-300;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return x < 0 ? erfc - 1 : 1 - erfc;
}

export const UNARY = {
  neg: (x: number) => -x,
  abs: (x: number) => Math.abs(x),
  sign: (x: number) => (x > 0 ? 1 : x < 0 ? -1 : x),
  exp: (x: number) => Math.exp(x),
  log: (x: number) => Math.log(x),
  sqrt: (x: number) => Math.sqrt(x),
  rsqrt: (x: number) => 1 / Math.sqrt(x),
  square: (x: number) => x * x,
  sin: (x: number) => Math.sin(x),
  cos: (x: number) => Math.cos(x),
  tanh: (x: number) => Math.tanh(x),
  sigmoid: (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  relu: (x: number) => Math.max(x, 0),
  erf,
  /** Exact (erf) GELU, as PyTorch's default and MLX's nn.gelu. */
  gelu: (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  silu: (x: number) => (x >= 0 ? x / (1 + Math.exp(-x)) : (x * Math.exp(x)) / (1 + Math.exp(x))),
} as const satisfies Record<string, (x: number) => number>;

export type UnaryOpName = keyof typeof UNARY;

export const BINARY = {
  add: (a: number, b: number) => a + b,
  sub: (a: number, b: number) => a - b,
  mul: (a: number, b: number) => a * b,
  div: (a: number, b: number) => a / b,
  pow: (a: number, b: number) => a ** b,
  maximum: (a: number, b: number) => (a > b || Number.isNaN(a) ? a : b),
  minimum: (a: number, b: number) => (a < b || Number.isNaN(a) ? a : b),
} as const satisfies Record<string, (a: number, b: number) => number>;

export type BinaryOpName = keyof typeof BINARY;

/** Comparisons produce u8 0/1. */
export const COMPARE = {
  equal: (a: number, b: number) => (a === b ? 1 : 0),
  notEqual: (a: number, b: number) => (a !== b ? 1 : 0),
  less: (a: number, b: number) => (a < b ? 1 : 0),
  lessEqual: (a: number, b: number) => (a <= b ? 1 : 0),
  greater: (a: number, b: number) => (a > b ? 1 : 0),
  greaterEqual: (a: number, b: number) => (a >= b ? 1 : 0),
} as const satisfies Record<string, (a: number, b: number) => number>;

export type CompareOpName = keyof typeof COMPARE;
