/**
 * Oracles for the pooling references: hand-computed windows (PyTorch's documented
 * semantics), pooling rebuilt from pad + strided slices + maximum/add (other families'
 * kernels), the argmax tie rule, and the adjoint identities between each forward op and
 * its gradient op.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../../index.js';

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-12): void {
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
  let acc = 0;
  for (let i = 0; i < x.length; i++) acc += x[i] * y[i];
  return acc;
}

interface Window {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number, number, number];
  dilation: [number, number];
}

/** One strided slice of the padded input per kernel tap: the window's k-th element at every output position. */
function taps(xp: T.Tensor, w: Window, out: [number, number]): T.Tensor[] {
  const list: T.Tensor[] = [];
  for (let a = 0; a < w.kernel[0]; a++) {
    for (let e = 0; e < w.kernel[1]; e++) {
      const r0 = a * w.dilation[0];
      const c0 = e * w.dilation[1];
      list.push(
        T.slice(xp, [
          {},
          {},
          { start: r0, end: r0 + (out[0] - 1) * w.stride[0] + 1, step: w.stride[0] },
          { start: c0, end: c0 + (out[1] - 1) * w.stride[1] + 1, step: w.stride[1] },
        ]),
      );
    }
  }
  return list;
}

function outSize(x: T.Tensor, w: Window): [number, number] {
  const [pt, pb, pl, pr] = w.padding;
  return [
    Math.floor((x.shape[2] + pt + pb - w.dilation[0] * (w.kernel[0] - 1) - 1) / w.stride[0]) + 1,
    Math.floor((x.shape[3] + pl + pr - w.dilation[1] * (w.kernel[1] - 1) - 1) / w.stride[1]) + 1,
  ];
}

function padded(x: T.Tensor, w: Window, value: number): T.Tensor {
  const [pt, pb, pl, pr] = w.padding;
  return T.pad(
    x,
    [
      [0, 0],
      [0, 0],
      [pt, pb],
      [pl, pr],
    ],
    'constant',
    value,
  );
}

function maxBySlices(x: T.Tensor, w: Window): T.Tensor {
  return T.tidy(() => taps(padded(x, w, -Infinity), w, outSize(x, w)).reduce((a, b) => T.maximum(a, b)));
}

function avgBySlices(x: T.Tensor, w: Window, countIncludePad: boolean): T.Tensor {
  return T.tidy(() => {
    const out = outSize(x, w);
    const total = taps(padded(x, w, 0), w, out).reduce((a, b) => T.add(a, b));
    if (countIncludePad) return T.div(total, w.kernel[0] * w.kernel[1]);
    const count = taps(padded(T.ones(x.shape, x.dtype), w, 0), w, out).reduce((a, b) => T.add(a, b));
    return T.div(total, count);
  });
}

const WINDOWS: { name: string; shape: number[]; w: Window }[] = [
  {
    name: 'kernel 2',
    shape: [2, 3, 6, 6],
    w: { kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0], dilation: [1, 1] },
  },
  {
    name: 'kernel 3, stride 2, padding 1',
    shape: [1, 2, 7, 7],
    w: { kernel: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1], dilation: [1, 1] },
  },
  {
    name: 'kernel [3,2], asymmetric pads',
    shape: [1, 2, 8, 7],
    w: { kernel: [3, 2], stride: [2, 1], padding: [0, 1, 1, 0], dilation: [1, 1] },
  },
  {
    name: 'single row kernel [1,4]',
    shape: [1, 1, 1, 33],
    w: { kernel: [1, 4], stride: [1, 3], padding: [0, 0, 2, 1], dilation: [1, 1] },
  },
];

describe('maxPool2d reference', () => {
  const X16 = Array.from({ length: 16 }, (_, i) => i + 1);

  it('takes the max of each 2x2 block of 1..16 by hand', async () => {
    const y = T.maxPool2d(T.tensor(X16, [1, 1, 4, 4]), 2);
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect(await values(y)).toEqual([6, 8, 14, 16]);
  });

  it('never lets padding win: all-negative input with padding 1', async () => {
    const x = T.tensor([-5, -4, -3, -2, -1, -6, -7, -8, -9], [1, 1, 3, 3]);
    const y = T.maxPool2d(x, 2, { stride: 2, padding: 1 });
    // Windows {−1,0}×{−1,0}, {−1,0}×{1,2}, {1,2}×{−1,0}, {1,2}×{1,2}.
    expect(await values(y)).toEqual([-5, -3, -2, -1]);
  });

  it('reads every other pixel with dilation 2 by hand', async () => {
    const y = T.maxPool2d(T.tensor([9, 0, 1, 0, 2, 7], [1, 1, 1, 6]), [1, 2], { stride: 1, dilation: 2 });
    // Windows {0,2}, {1,3}, {2,4}, {3,5}.
    expect(await values(y)).toEqual([9, 0, 2, 7]);
  });

  for (const c of [
    ...WINDOWS,
    {
      name: 'dilation [2,3]',
      shape: [1, 2, 9, 9],
      w: { kernel: [3, 2], stride: [1, 2], padding: [1, 2, 1, 1], dilation: [2, 3] } as Window,
    },
  ]) {
    it(`matches a maximum over strided slices of the −∞-padded input: ${c.name}`, async () => {
      const x = random(c.shape, 1);
      const got = T.maxPool2d(x, c.w.kernel, c.w);
      const want = maxBySlices(x, c.w);
      expect(got.shape).toEqual(want.shape);
      expect(await values(got)).toEqual(await values(want));
    });
  }

  it('routes the gradient to the first maximum of a tied window (row-major window order)', async () => {
    const x = T.tensor([1, 1, 1, 1], [1, 1, 2, 2]);
    const [gx] = T.grad((a: T.Tensor) => T.sum(T.maxPool2d(a, 2)))(x);
    expect(await values(gx)).toEqual([1, 0, 0, 0]);
    const late = T.tensor([0, 3, 0, 3], [1, 1, 2, 2]);
    const [gl] = T.grad((a: T.Tensor) => T.sum(T.maxPool2d(a, 2)))(late);
    expect(await values(gl)).toEqual([0, 1, 0, 0]);
  });

  it('adds the gradients of overlapping windows that share a maximum', async () => {
    const x = T.tensor([1, 3, 2], [1, 1, 1, 3]);
    const g = T.tensor([10, 20], [1, 1, 1, 2]);
    const attrs = { kernel: [1, 2], stride: [1, 1], padding: [0, 0, 0, 0], dilation: [1, 1] } as const;
    expect(await values(T.run1(T.maxPool2dGradOp, [x, g], attrs))).toEqual([0, 30, 0]);
  });

  it('propagates NaN and sends its window gradient to the NaN', async () => {
    const x = T.tensor([1, Number.NaN, 5, 2], [1, 1, 2, 2]);
    const y = T.maxPool2d(x, 2);
    expect(Number.isNaN((await values(y))[0])).toBe(true);
    const attrs = { kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0], dilation: [1, 1] } as const;
    expect(await values(T.run1(T.maxPool2dGradOp, [x, T.tensor([1], [1, 1, 1, 1])], attrs))).toEqual([0, 1, 0, 0]);
  });

  it('has select(x, x) = maxPool2d(x) and select as the adjoint of the gradient op', async () => {
    const x = random([1, 2, 7, 7], 2);
    const attrs = { kernel: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1], dilation: [1, 1] } as const;
    expect(await values(T.run1(T.maxPool2dSelectOp, [x, x], attrs))).toEqual(await values(T.maxPool2d(x, 3, attrs)));
    const v = random([1, 2, 7, 7], 3);
    const g = random([1, 2, 4, 4], 4);
    const lhs = await inner(T.run1(T.maxPool2dSelectOp, [x, v], attrs), g);
    const rhs = await inner(v, T.run1(T.maxPool2dGradOp, [x, g], attrs));
    expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(lhs)));
  });
});

describe('avgPool2d reference', () => {
  it('averages each 2x2 window of 1..9 with stride 1 by hand', async () => {
    const y = T.avgPool2d(T.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]), 2, { stride: 1 });
    expect(await values(y)).toEqual([3, 4, 6, 7]);
  });

  it('divides by real elements only, or by kH·kW with countIncludePad (PyTorch count_include_pad=True)', async () => {
    // kernel 2, stride 2, padding 1 on a 2x2 input: every window holds exactly one real pixel.
    const x = T.tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    expect(await values(T.avgPool2d(x, 2, { padding: 1 }))).toEqual([1, 2, 3, 4]);
    expect(await values(T.avgPool2d(x, 2, { padding: 1, countIncludePad: true }))).toEqual([0.25, 0.5, 0.75, 1]);
  });

  for (const c of WINDOWS) {
    for (const countIncludePad of [false, true]) {
      it(`matches a sum of strided slices divided by the count: ${c.name}, countIncludePad ${countIncludePad}`, async () => {
        const x = random(c.shape, 5);
        const got = T.avgPool2d(x, c.w.kernel, { stride: c.w.stride, padding: c.w.padding, countIncludePad });
        const want = avgBySlices(x, c.w, countIncludePad);
        expect(got.shape).toEqual(want.shape);
        expectClose(await values(got), await values(want));
      });
    }
  }

  it('has avgPool2dGrad as its adjoint: <avg(x), g> = <x, avgGrad(g)>', async () => {
    for (const c of WINDOWS) {
      for (const countIncludePad of [false, true]) {
        const x = random(c.shape, 6);
        const attrs = { kernel: c.w.kernel, stride: c.w.stride, padding: c.w.padding, countIncludePad };
        const y = T.run1(T.avgPool2dOp, [x], attrs);
        const g = random([...y.shape], 7);
        const gx = T.run1(T.avgPool2dGradOp, [g], { ...attrs, inputShape: x.shape });
        const lhs = await inner(y, g);
        const rhs = await inner(x, gx);
        expect(Math.abs(lhs - rhs), c.name).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(lhs)));
      }
    }
  });

  it('globalAvgPool2d averages each channel plane', async () => {
    const x = T.tensor([1, 2, 3, 4, 10, 20, 30, 60], [1, 2, 2, 2]);
    const y = T.globalAvgPool2d(x);
    expect(y.shape).toEqual([1, 2, 1, 1]);
    expect(await values(y)).toEqual([2.5, 30]);
  });
});
