/**
 * Oracles for the resize references: published PyTorch / TensorFlow outputs worked by
 * hand, bilinear as separable "hat" weight matrices Y = Rh·X·Rwᵀ (a different
 * formulation from the two-tap kernel), nearest index tables computed the way PyTorch
 * does (a float32 scale), and the adjoint identity <resize(x), g> = <x, resizeGrad(g)>.
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

/** Resize a single row [1, 1, 1, n] to m columns and read it back. */
async function row(data: number[], m: number, opts: T.ResizeOptions): Promise<number[]> {
  return values(T.resize(T.tensor(data, [1, 1, 1, data.length], 'f64'), [1, m], opts));
}

type Coordinate = 'asymmetric' | 'halfPixel' | 'alignCorners';

/** Row weights of bilinear interpolation as a hat function around the (clamped) source coordinate. */
function hatMatrix(inSize: number, outSize: number, coordinate: Coordinate): number[][] {
  return Array.from({ length: outSize }, (_, d) => {
    let src: number;
    if (coordinate === 'asymmetric') src = d * (inSize / outSize);
    else if (coordinate === 'halfPixel') src = (d + 0.5) * (inSize / outSize) - 0.5;
    else src = outSize === 1 ? 0 : d * ((inSize - 1) / (outSize - 1));
    const s = Math.min(Math.max(src, 0), inSize - 1);
    return Array.from({ length: inSize }, (_, i) => Math.max(0, 1 - Math.abs(s - i)));
  });
}

/** Nearest source indices as PyTorch / TFLite compute them: a float32 scale and a float32 product. */
function nearestTable(inSize: number, outSize: number, coordinate: Coordinate): number[] {
  const f = Math.fround;
  return Array.from({ length: outSize }, (_, d) => {
    if (coordinate === 'alignCorners') {
      const scale = outSize > 1 ? f((inSize - 1) / (outSize - 1)) : 0;
      return Math.min(Math.round(f(d * scale)), inSize - 1);
    }
    const scale = f(inSize / outSize);
    const offset = coordinate === 'halfPixel' ? 0.5 : 0;
    return Math.min(Math.floor(f((d + offset) * scale)), inSize - 1);
  });
}

/** Y[p] = Rh · X[p] · Rwᵀ for every plane p of x [N, C, H, W], in plain loops. */
function separable(x: ArrayLike<number>, shape: number[], rh: number[][], rw: number[][]): number[] {
  const [n, c, h, w] = shape;
  const out: number[] = [];
  for (let p = 0; p < n * c; p++) {
    for (const rRow of rh) {
      for (const cRow of rw) {
        let acc = 0;
        for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) acc += rRow[i] * cRow[j] * x[(p * h + i) * w + j];
        out.push(acc);
      }
    }
  }
  return out;
}

function oneHot(table: number[], inSize: number): number[][] {
  return table.map((s) => Array.from({ length: inSize }, (_, i) => (i === s ? 1 : 0)));
}

describe('resize reference: published values', () => {
  const X = T.tensor([1, 2, 3, 4], [1, 1, 2, 2], 'f64');

  it('bilinear 2x2 → 4x4 with align_corners=False matches PyTorch', async () => {
    const y = T.resize(X, [4, 4], { mode: 'bilinear' });
    expect(await values(y)).toEqual([1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4]);
  });

  it('bilinear 2x2 → 4x4 with align_corners=True matches PyTorch', async () => {
    const y = T.resize(X, [4, 4], { mode: 'bilinear', alignCorners: true });
    const want = [0, 1, 2, 3].flatMap((i) => [0, 1, 2, 3].map((j) => 1 + (2 * i) / 3 + j / 3));
    expectClose(await values(y), want);
  });

  it("nearest 3 → 5 gives PyTorch's 'nearest' [0,0,1,1,2] and 'nearest-exact' [0,0,1,2,2]", async () => {
    expect(await row([0, 1, 2], 5, {})).toEqual([0, 0, 1, 1, 2]);
    expect(await row([0, 1, 2], 5, { halfPixelCenters: true })).toEqual([0, 0, 1, 2, 2]);
  });

  it('nearest 7 → 3 downsampling picks floor(d·7/3) = 0, 2, 4', async () => {
    expect(await row([10, 11, 12, 13, 14, 15, 16], 3, {})).toEqual([10, 12, 14]);
  });

  it('nearest ×2 repeats every pixel in a 2x2 block', async () => {
    const y = T.resize(X, [4, 4]);
    expect(await values(y)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });

  it('TFLite nearest with align_corners rounds halves up: 3 → 5 gives [0,1,1,2,2]', async () => {
    expect(await row([0, 1, 2], 5, { alignCorners: true })).toEqual([0, 1, 1, 2, 2]);
  });

  it('TF legacy bilinear (no half-pixel centres) [1,2] → 4 gives [1, 1.5, 2, 2]', async () => {
    expect(await row([1, 2], 4, { mode: 'bilinear', halfPixelCenters: false })).toEqual([1, 1.5, 2, 2]);
  });

  it('bilinear 4 → 2 with half-pixel centres averages neighbour pairs', async () => {
    expect(await row([0, 1, 2, 3], 2, { mode: 'bilinear' })).toEqual([0.5, 2.5]);
  });

  it('bilinear to one pixel samples the centre (half pixel) or the first pixel (align corners)', async () => {
    expect(await row([0, 1, 2, 3], 1, { mode: 'bilinear' })).toEqual([1.5]);
    expect(await row([0, 1, 2, 3], 1, { mode: 'bilinear', alignCorners: true })).toEqual([0]);
  });

  it('is the identity at the same size in every mode', async () => {
    const x = random([1, 2, 5, 3], 1);
    const want = await values(x);
    for (const opts of [
      {},
      { halfPixelCenters: true },
      { mode: 'bilinear' as const },
      { mode: 'bilinear' as const, alignCorners: true },
    ]) {
      expectClose(await values(T.resize(x, [5, 3], opts)), want);
    }
  });
});

const SIZES: [number[], [number, number]][] = [
  [
    [1, 2, 5, 7],
    [9, 4],
  ],
  [
    [2, 1, 7, 4],
    [3, 13],
  ],
  [
    [1, 1, 1, 17],
    [1, 6],
  ],
  [
    [1, 1, 4, 4],
    [1, 1],
  ],
  [
    [1, 3, 3, 2],
    [12, 8],
  ],
];

const COORDINATES: Coordinate[] = ['asymmetric', 'halfPixel', 'alignCorners'];

function options(mode: T.ResizeMode, coordinate: Coordinate): T.ResizeOptions {
  return { mode, alignCorners: coordinate === 'alignCorners', halfPixelCenters: coordinate === 'halfPixel' };
}

describe('resize reference: second formulations', () => {
  for (const [shape, size] of SIZES) {
    for (const coordinate of COORDINATES) {
      it(`bilinear equals hat-weight matrices Rh·X·Rwᵀ: ${JSON.stringify(shape)} → ${JSON.stringify(size)}, ${coordinate}`, async () => {
        const x = random(shape, 2);
        const want = separable(
          await x.data(),
          shape,
          hatMatrix(shape[2], size[0], coordinate),
          hatMatrix(shape[3], size[1], coordinate),
        );
        expectClose(await values(T.resize(x, size, options('bilinear', coordinate))), want);
      });

      it(`nearest equals PyTorch's float32 index table: ${JSON.stringify(shape)} → ${JSON.stringify(size)}, ${coordinate}`, async () => {
        const x = random(shape, 3);
        const rh = oneHot(nearestTable(shape[2], size[0], coordinate), shape[2]);
        const rw = oneHot(nearestTable(shape[3], size[1], coordinate), shape[3]);
        expect(await values(T.resize(x, size, options('nearest', coordinate)))).toEqual(
          separable(await x.data(), shape, rh, rw),
        );
      });
    }
  }

  it('has resizeGrad as its adjoint: <resize(x), g> = <x, resizeGrad(g)>', async () => {
    for (const [shape, size] of SIZES) {
      for (const mode of ['nearest', 'bilinear'] as const) {
        for (const coordinate of COORDINATES) {
          const x = random(shape, 4);
          const y = T.run1(T.resizeOp, [x], { size, mode, coordinate });
          const g = random([...y.shape], 5);
          const gx = T.run1(T.resizeGradOp, [g], { size, mode, coordinate, inputShape: shape });
          const [a, b, c, d] = [await y.data(), await g.data(), await x.data(), await gx.data()];
          let lhs = 0;
          let rhs = 0;
          for (let i = 0; i < a.length; i++) lhs += a[i] * b[i];
          for (let i = 0; i < c.length; i++) rhs += c[i] * d[i];
          expect(Math.abs(lhs - rhs), `${mode} ${coordinate} ${shape}`).toBeLessThanOrEqual(
            1e-12 * (1 + Math.abs(lhs)),
          );
        }
      }
    }
  });
});
