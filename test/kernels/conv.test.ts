/**
 * Oracles for the convolution references: hand-computed outputs, conv2d against an
 * explicit im2col (pad, strided slices, stack, broadcast multiply, sum: other families'
 * kernels), and the transposed conv and weight gradient against the adjoint identities
 * <conv(x, w), y> = <x, convT(y, w)> = <w, conv2dWeightGrad(x, y)>.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../../index.js';

type Pads4 = readonly [number, number, number, number];

interface Geometry {
  readonly stride: readonly [number, number];
  readonly padding: Pads4;
  readonly dilation: readonly [number, number];
  readonly groups: number;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-9): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    expect(Math.abs(got[i] - want[i]), `element ${i}: got ${got[i]}, want ${want[i]}`).toBeLessThanOrEqual(
      tol * (1 + Math.abs(want[i])),
    );
  }
}

const values = async (t: T.Tensor) => Array.from(await t.data());

function random(shape: number[], seed: number): T.Tensor {
  return T.randomNormal(shape, 0, 1, { dtype: 'f64', rng: new T.Rng(seed) });
}

async function inner(a: T.Tensor, b: T.Tensor): Promise<number> {
  const [x, y] = [await a.data(), await b.data()];
  expect(x.length).toBe(y.length);
  let acc = 0;
  for (let i = 0; i < x.length; i++) acc += x[i] * y[i];
  return acc;
}

/** conv2d as im2col: one strided slice of the zero-padded input per kernel tap, then Σ patches · w. */
function im2colConv(x: T.Tensor, w: T.Tensor, g: Geometry): T.Tensor {
  return T.tidy(() => {
    const [n, , h, wd] = x.shape;
    const [o, cg, kh, kw] = w.shape;
    const [pt, pb, pl, pr] = g.padding;
    const oh = Math.floor((h + pt + pb - g.dilation[0] * (kh - 1) - 1) / g.stride[0]) + 1;
    const ow = Math.floor((wd + pl + pr - g.dilation[1] * (kw - 1) - 1) / g.stride[1]) + 1;
    const xp = T.pad(x, [
      [0, 0],
      [0, 0],
      [pt, pb],
      [pl, pr],
    ]);
    const taps: T.Tensor[] = [];
    for (let a = 0; a < kh; a++) {
      for (let e = 0; e < kw; e++) {
        const r0 = a * g.dilation[0];
        const c0 = e * g.dilation[1];
        taps.push(
          T.slice(xp, [
            {},
            {},
            { start: r0, end: r0 + (oh - 1) * g.stride[0] + 1, step: g.stride[0] },
            { start: c0, end: c0 + (ow - 1) * g.stride[1] + 1, step: g.stride[1] },
          ]),
        );
      }
    }
    const k = cg * kh * kw;
    const patches = T.reshape(T.stack(taps, 2), [n, g.groups, 1, k, oh, ow]);
    const weights = T.reshape(w, [1, g.groups, o / g.groups, k, 1, 1]);
    return T.reshape(T.sum(T.mul(patches, weights), 3), [n, o, oh, ow]);
  });
}

interface ConvCase {
  readonly name: string;
  readonly x: number[];
  readonly w: number[];
  readonly g: Geometry;
}

/** Stride 1, no padding, no dilation and one group unless overridden, so that a table row shows only what it varies. */
function geometry(g: Partial<Geometry> = {}): Geometry {
  return { stride: [1, 1], padding: [0, 0, 0, 0], dilation: [1, 1], groups: 1, ...g };
}

const conv = (name: string, x: number[], w: number[], g?: Partial<Geometry>): ConvCase => ({
  name,
  x,
  w,
  g: geometry(g),
});

const CONFIGS: readonly ConvCase[] = [
  conv('plain 3x3', [1, 3, 7, 7], [4, 3, 3, 3]),
  conv('padding 1, batch 2', [2, 2, 5, 6], [3, 2, 3, 3], { padding: [1, 1, 1, 1] }),
  conv('stride 2, asymmetric pads', [1, 2, 8, 7], [2, 2, 3, 2], { stride: [2, 2], padding: [0, 1, 2, 0] }),
  conv('groups 2', [2, 4, 6, 6], [6, 2, 3, 3], { padding: [1, 1, 1, 1], groups: 2 }),
  conv('depthwise ×2', [1, 3, 5, 5], [6, 1, 3, 3], { stride: [2, 1], padding: [1, 1, 1, 1], groups: 3 }),
  conv('dilation [2,3]', [1, 2, 9, 9], [2, 2, 3, 2], { stride: [1, 2], padding: [2, 1, 0, 3], dilation: [2, 3] }),
  conv('1x1', [2, 5, 3, 4], [3, 5, 1, 1]),
  conv('single row 1x3', [1, 1, 1, 33], [2, 1, 1, 3], { stride: [1, 3], padding: [0, 0, 1, 1] }),
];

describe('conv2d reference', () => {
  it('computes a 2x2 box sum of 1..9 by hand', async () => {
    const x = T.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    const y = T.conv2d(x, T.ones([1, 1, 2, 2]));
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect(await values(y)).toEqual([12, 16, 24, 28]);
  });

  it('computes a padded, strided 3x3 box sum of 1..16 by hand', async () => {
    const x = T.arange(1, 17, 1, 'f64');
    const y = T.conv2d(T.reshape(x, [1, 1, 4, 4]), T.ones([1, 1, 3, 3], 'f64'), null, { stride: 2, padding: 1 });
    expect(await values(y)).toEqual([14, 30, 57, 99]);
  });

  it('adds the bias per output channel and scales channels independently when depthwise', async () => {
    const x = T.tensor([1, 2, 3, 4, 10, 20, 30, 40], [1, 2, 2, 2]);
    const w = T.tensor([2, -1], [2, 1, 1, 1]);
    const y = T.conv2d(x, w, T.tensor([0.5, 100]), { groups: 2 });
    expect(await values(y)).toEqual([2.5, 4.5, 6.5, 8.5, 90, 80, 70, 60]);
  });

  it('mirrors the border without repeating the edge for padMode reflect (PyTorch ReflectionPad2d)', async () => {
    const x = T.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    // A kernel that picks its top-left tap shows the padded image itself.
    const corner = T.tensor([1, 0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 3, 3]);
    const reflect = T.conv2d(x, corner, null, { padding: 1, padMode: 'reflect' });
    expect(await values(reflect)).toEqual([5, 4, 5, 2, 1, 2, 5, 4, 5]);
    const replicate = T.conv2d(x, corner, null, { padding: 1, padMode: 'replicate' });
    expect(await values(replicate)).toEqual([1, 1, 2, 1, 1, 2, 4, 4, 5]);
    const zeros = T.conv2d(x, corner, null, { padding: 1 });
    expect(await values(zeros)).toEqual([0, 0, 0, 0, 1, 2, 0, 4, 5]);
  });

  it("pads an even kernel's 'same' padding on the right, as PyTorch", async () => {
    const y = T.conv2d(T.tensor([1, 2, 3], [1, 1, 1, 3]), T.tensor([1, 10], [1, 1, 1, 2]), null, { padding: 'same' });
    expect(await values(y)).toEqual([21, 32, 3]);
  });

  it("keeps ceil(size / stride) outputs for a strided 'same' (TensorFlow SAME: extra pad at the bottom)", async () => {
    // H = 4, k = 3, s = 2: total padding 1, all of it after → windows {0,1,2} and {2,3,pad}.
    const y = T.conv2d(T.tensor([1, 2, 3, 4], [1, 1, 4, 1]), T.ones([1, 1, 3, 1]), null, {
      stride: 2,
      padding: 'same',
    });
    expect(y.shape).toEqual([1, 1, 2, 1]);
    expect(await values(y)).toEqual([6, 7]);
  });

  for (const c of CONFIGS) {
    it(`matches im2col + broadcast multiply-sum: ${c.name}`, async () => {
      const x = random(c.x, 1);
      const w = random(c.w, 2);
      const want = im2colConv(x, w, c.g);
      const got = T.conv2d(x, w, null, c.g);
      expect(got.shape).toEqual(want.shape);
      expectClose(await values(got), await values(want));
      T.dispose([x, w, want, got]);
    });
  }

  it('matches pad(reflect) followed by im2col for padMode reflect with stride 2', async () => {
    const x = random([1, 2, 6, 7], 3);
    const w = random([3, 2, 3, 3], 4);
    const padded = T.pad(
      x,
      [
        [0, 0],
        [0, 0],
        [1, 1],
        [1, 1],
      ],
      'reflect',
    );
    const want = im2colConv(padded, w, geometry({ stride: [2, 2] }));
    const got = T.conv2d(x, w, null, { stride: 2, padding: 1, padMode: 'reflect' });
    expectClose(await values(got), await values(want));
  });
});

describe('convTranspose2d reference', () => {
  const X = [1, 2, 3, 4];

  it('spreads each input pixel over the kernel footprint (stride 1) by hand', async () => {
    const y = T.convTranspose2d(T.tensor(X, [1, 1, 2, 2]), T.ones([1, 1, 2, 2]));
    expect(y.shape).toEqual([1, 1, 3, 3]);
    expect(await values(y)).toEqual([1, 3, 2, 4, 10, 6, 3, 7, 4]);
  });

  it('tiles 2x2 blocks for kernel 2, stride 2 by hand', async () => {
    const y = T.convTranspose2d(T.tensor(X, [1, 1, 2, 2]), T.ones([1, 1, 2, 2]), null, { stride: 2 });
    expect(await values(y)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });

  it('doubles the size with kernel 3, stride 2, padding 1, outputPadding 1 (the usual ×2 upsampling) by hand', async () => {
    const y = T.convTranspose2d(T.tensor(X, [1, 1, 2, 2]), T.ones([1, 1, 3, 3]), T.tensor([0.5]), {
      stride: 2,
      padding: 1,
      outputPadding: 1,
    });
    expect(y.shape).toEqual([1, 1, 4, 4]);
    const want = [1, 3, 2, 2, 4, 10, 6, 6, 3, 7, 4, 4, 3, 7, 4, 4].map((v) => v + 0.5);
    expect(await values(y)).toEqual(want);
  });

  interface TransposeCase {
    readonly name: string;
    readonly y: number[];
    readonly w: number[];
    readonly outputPadding: [number, number];
    readonly g: Geometry;
  }
  const transposed = (
    name: string,
    y: number[],
    w: number[],
    outputPadding: [number, number],
    g?: Partial<Geometry>,
  ): TransposeCase => ({ name, y, w, outputPadding, g: geometry(g) });

  const transposeConfigs: readonly TransposeCase[] = [
    transposed('stride 2, padding 1, outputPadding 1', [1, 3, 4, 4], [3, 2, 3, 3], [1, 1], {
      stride: [2, 2],
      padding: [1, 1, 1, 1],
    }),
    transposed('groups 2, dilation [2,1]', [2, 4, 3, 5], [4, 3, 3, 2], [0, 0], { dilation: [2, 1], groups: 2 }),
    transposed('dilation [1,3], stride [2,1]', [1, 2, 4, 3], [2, 2, 2, 3], [1, 0], {
      stride: [2, 1],
      padding: [1, 0, 2, 1],
      dilation: [1, 3],
    }),
    transposed('depthwise, stride [3,2], asymmetric pads', [1, 3, 4, 3], [3, 1, 3, 3], [2, 1], {
      stride: [3, 2],
      padding: [1, 0, 0, 2],
      groups: 3,
    }),
    transposed('single row', [1, 2, 1, 17], [2, 1, 1, 3], [0, 1], { stride: [1, 2], padding: [0, 0, 1, 1] }),
  ];

  for (const c of transposeConfigs) {
    it(`is the adjoint of conv2d: <conv(x), y> = <x, convT(y)>, ${c.name}`, async () => {
      const y = random(c.y, 5);
      const w = random(c.w, 6);
      const xt = T.convTranspose2d(y, w, null, { ...c.g, outputPadding: c.outputPadding });
      const x = random([...xt.shape], 7);
      const cx = T.conv2d(x, w, null, c.g);
      expect(cx.shape).toEqual(y.shape);
      const lhs = await inner(cx, y);
      const rhs = await inner(x, xt);
      expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(lhs)));
    });
  }
});

describe('conv2dWeightGrad reference', () => {
  it('is the adjoint of conv2d in the weight: <conv(x, w), g> = <w, dW(x, g)>', async () => {
    for (const c of CONFIGS) {
      const x = random(c.x, 8);
      const w = random(c.w, 9);
      const y = T.conv2d(x, w, null, c.g);
      const g = random([...y.shape], 10);
      const dw = T.run1(T.conv2dWeightGradOp, [x, g], { ...c.g, kernel: [c.w[2], c.w[3]] });
      expect(dw.shape, c.name).toEqual(c.w);
      const lhs = await inner(y, g);
      const rhs = await inner(w, dw);
      expect(Math.abs(lhs - rhs), c.name).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(lhs)));
    }
  });

  it('is Σ g·x per channel pair for a 1x1 kernel, by hand', async () => {
    // x channels [1,2] and [3,4]; g [1,10]: dW[0, c] = Σ g · x_c.
    const x = T.tensor([1, 2, 3, 4], [1, 2, 1, 2]);
    const g = T.tensor([1, 10], [1, 1, 1, 2]);
    const attrs = { stride: [1, 1], padding: [0, 0, 0, 0], dilation: [1, 1], groups: 1, kernel: [1, 1] } as const;
    const dw = T.run1(T.conv2dWeightGradOp, [x, g], attrs);
    expect(await values(dw)).toEqual([21, 43]);
  });

  it('gives conv2d the same gradients as the im2col formulation', async () => {
    const c = CONFIGS[4];
    const x = random(c.x, 11);
    const w = random(c.w, 12);
    const probe = T.conv2d(x, w, null, c.g);
    const weights = random([...probe.shape], 13);
    const loss = (f: (a: T.Tensor, b: T.Tensor) => T.Tensor) => (a: T.Tensor, b: T.Tensor) =>
      T.sum(T.mul(f(a, b), weights));
    const [gx, gw] = T.grad(loss((a, b) => T.conv2d(a, b, null, c.g)))(x, w);
    const [ix, iw] = T.grad(loss((a, b) => im2colConv(a, b, c.g)))(x, w);
    expectClose(await values(gx), await values(ix));
    expectClose(await values(gw), await values(iw));
  });
});
