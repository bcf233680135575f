/**
 * The native conv2d paths conformance's small shapes do not all reach: the implicit-GEMM
 * packer (panels spanning several output rows, stride-2 interior gathers, borders read in
 * place for padMode reflect/replicate), the 14/8/4/3-row micro-kernels picked by output
 * channel count, the direct kernel for RGB heads, Winograd F(2×2, 3×3) for 3×3 stride-1 layers
 * with many channels, bias folded into the product, on every
 * ISA the CPU has and on one thread and two. Oracle: an explicitly padded copy of x (built here) convolved by a
 * direct sum in doubles. Also instance norm's one-pass statistics on rows far from zero.
 */
import { describe, expect, it } from 'vitest';
import '../../backends/node.js';
import { loadNativeAddon } from '../../backends/native/index.js';
import * as T from '../../index.js';

const loaded = loadNativeAddon();
const addon = loaded.ok ? loaded.addon : null;

function values(n: number, seed: number, offset = 0): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = offset + (s / 2 ** 31 - 1);
  }
  return out;
}

type Mode = 'zeros' | 'reflect' | 'replicate';

interface Case {
  readonly name: string;
  readonly x: [number, number, number, number];
  readonly w: [number, number, number, number];
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly groups: number;
  readonly mode: Mode;
  readonly bias: boolean;
}

/** Where padded index i reads along an axis of `size` (−1: a zero). */
function source(i: number, size: number, mode: Mode): number {
  if (i >= 0 && i < size) return i;
  if (mode === 'reflect') return i < 0 ? -i : 2 * (size - 1) - i;
  if (mode === 'replicate') return i < 0 ? 0 : size - 1;
  return -1;
}

/** conv2d by definition: pad x into a new array first, then a direct sum in doubles. */
function oracle(c: Case, x: Float32Array, w: Float32Array, b: Float32Array | null): Float64Array {
  const [n, ch, h, wd] = c.x;
  const [o, cg, kh, kw] = c.w;
  const p = c.padding;
  const hp = h + 2 * p;
  const wp = wd + 2 * p;
  const xp = new Float64Array(n * ch * hp * wp);
  for (let i = 0; i < n * ch; i++) {
    for (let r = 0; r < hp; r++) {
      for (let q = 0; q < wp; q++) {
        const sr = source(r - p, h, c.mode);
        const sq = source(q - p, wd, c.mode);
        xp[(i * hp + r) * wp + q] = sr < 0 || sq < 0 ? 0 : x[(i * h + sr) * wd + sq];
      }
    }
  }
  const ek = (kh - 1) * c.dilation + 1;
  const oh = Math.floor((hp - ek) / c.stride) + 1;
  const ow = Math.floor((wp - ((kw - 1) * c.dilation + 1)) / c.stride) + 1;
  const og = o / c.groups;
  const y = new Float64Array(n * o * oh * ow);
  for (let bi = 0; bi < n; bi++) {
    for (let oc = 0; oc < o; oc++) {
      const c0 = Math.floor(oc / og) * cg;
      for (let yy = 0; yy < oh; yy++) {
        for (let xx = 0; xx < ow; xx++) {
          let acc = b ? b[oc] : 0;
          for (let ci = 0; ci < cg; ci++) {
            for (let a = 0; a < kh; a++) {
              for (let e = 0; e < kw; e++) {
                const r = yy * c.stride + a * c.dilation;
                const q = xx * c.stride + e * c.dilation;
                acc += xp[((bi * ch + c0 + ci) * hp + r) * wp + q] * w[((oc * cg + ci) * kh + a) * kw + e];
              }
            }
          }
          y[((bi * o + oc) * oh + yy) * ow + xx] = acc;
        }
      }
    }
  }
  return y;
}

const CASES: Case[] = [
  // 3 output channels, 9×9, OW 37 ≥ 8: the direct kernel, a masked 37-lane tile.
  {
    name: 'RGB head 9×9 reflect',
    x: [1, 5, 21, 37],
    w: [3, 5, 9, 9],
    stride: 1,
    padding: 4,
    dilation: 1,
    groups: 1,
    mode: 'reflect',
    bias: true,
  },
  // 32 channels: the 8-row kernel; OW 37 < 48, so every B panel spans two output rows.
  {
    name: '9×9 reflect into 32 channels',
    x: [1, 3, 19, 37],
    w: [32, 3, 9, 9],
    stride: 1,
    padding: 4,
    dilation: 1,
    groups: 1,
    mode: 'reflect',
    bias: true,
  },
  // Stride 2 with OW 35: interior runs over 16 taps take the permute gather.
  {
    name: 'stride 2 reflect',
    x: [1, 4, 45, 70],
    w: [14, 4, 3, 3],
    stride: 2,
    padding: 1,
    dilation: 1,
    groups: 1,
    mode: 'reflect',
    bias: false,
  },
  // Strided layers read column phases of the padded rows: stride 2 with dilation 2 and 64
  // channels (a partial 14-row tile), stride 3 with three phases.
  {
    name: 'stride 2, dilation 2, 64 channels',
    x: [1, 6, 21, 44],
    w: [64, 6, 3, 3],
    stride: 2,
    padding: 2,
    dilation: 2,
    groups: 1,
    mode: 'reflect',
    bias: true,
  },
  {
    name: 'stride 3 replicate',
    x: [1, 4, 20, 50],
    w: [9, 4, 5, 5],
    stride: 3,
    padding: 2,
    dilation: 1,
    groups: 1,
    mode: 'replicate',
    bias: false,
  },
  {
    name: 'replicate, dilation 2, 2 groups, batch 2',
    x: [2, 6, 17, 29],
    w: [20, 3, 3, 3],
    stride: 1,
    padding: 2,
    dilation: 2,
    groups: 2,
    mode: 'replicate',
    bias: true,
  },
  // 40 channels, stride 1, too few input channels for Winograd: the implicit GEMM's packer reads
  // mirrored borders in place (dilation 2: taps two apart), panels spanning output rows.
  {
    name: 'implicit GEMM reflect, dilation 2',
    x: [1, 5, 11, 23],
    w: [40, 5, 3, 3],
    stride: 1,
    padding: 2,
    dilation: 2,
    groups: 1,
    mode: 'reflect',
    bias: true,
  },
  // 130 channels keep the 14-row kernel (with a partial last tile); zeros read in the packer.
  {
    name: '130 channels, zero padding',
    x: [1, 8, 20, 40],
    w: [130, 8, 3, 3],
    stride: 1,
    padding: 1,
    dilation: 1,
    groups: 1,
    mode: 'zeros',
    bias: true,
  },
  {
    name: '4 channels, 3×3 replicate, direct kernel',
    x: [1, 7, 9, 70],
    w: [4, 7, 3, 3],
    stride: 1,
    padding: 1,
    dilation: 1,
    groups: 1,
    mode: 'replicate',
    bias: false,
  },
  // 3×3 stride 1 with ≥ 16 channels each way: Winograd F(2×2, 3×3) on AVX-512. Odd height
  // (a half tile row), 19 tiles across (a masked 16-tile block), padding 2, batch 2.
  {
    name: 'Winograd reflect, odd sizes',
    x: [1, 16, 13, 37],
    w: [24, 16, 3, 3],
    stride: 1,
    padding: 1,
    dilation: 1,
    groups: 1,
    mode: 'reflect',
    bias: true,
  },
  {
    name: 'Winograd zeros, padding 2, batch 2',
    x: [2, 20, 9, 40],
    w: [16, 20, 3, 3],
    stride: 1,
    padding: 2,
    dilation: 1,
    groups: 1,
    mode: 'zeros',
    bias: false,
  },
  {
    name: 'Winograd replicate, 64 tiles across',
    x: [1, 17, 6, 128],
    w: [33, 17, 3, 3],
    stride: 1,
    padding: 1,
    dilation: 1,
    groups: 1,
    mode: 'replicate',
    bias: true,
  },
  // 1×1 stride 1 without padding: the plain GEMM on x, bias folded in.
  {
    name: '1×1 with bias',
    x: [1, 16, 12, 40],
    w: [24, 16, 1, 1],
    stride: 1,
    padding: 0,
    dilation: 1,
    groups: 1,
    mode: 'zeros',
    bias: true,
  },
];

describe.runIf(addon !== null)('native conv2d paths against a padded direct sum', () => {
  const restore = addon?.info().threads ?? 1;
  for (const c of CASES) {
    it(c.name, async () => {
      const before = T.getBackendName();
      await T.setBackend('native');
      try {
        const xd = values(
          c.x.reduce((a, v) => a * v, 1),
          1,
        );
        const wd = values(
          c.w.reduce((a, v) => a * v, 1),
          2,
        );
        const bd = c.bias ? values(c.w[0], 3) : null;
        const want = oracle(c, xd, wd, bd);
        const k = c.w[1] * c.w[2] * c.w[3];
        // Every ISA: the portable GEMM and plain packing, AVX2, and the best (AVX-512: direct kernel, permute gathers).
        for (const [isa, threads] of [
          ['baseline', 1],
          ['avx2', 1],
          ['auto', 1],
          ['auto', 2],
        ] as const) {
          addon!.setIsa(isa);
          addon!.setThreads(threads);
          const got = T.tidy(() => {
            const x = T.tensor(xd, c.x, 'f32');
            const w = T.tensor(wd, c.w, 'f32');
            const b = bd ? T.tensor(bd, [c.w[0]], 'f32') : null;
            return T.conv2d(x, w, b, {
              stride: c.stride,
              padding: c.padding,
              dilation: c.dilation,
              groups: c.groups,
              padMode: c.mode,
            });
          });
          const data = (await got.data()) as Float32Array;
          got.dispose();
          expect(data.length).toBe(want.length);
          let worst = 0;
          for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(data[i] - want[i]));
          // f32 sums of k products of values in [-1, 1).
          expect(worst).toBeLessThanOrEqual(2e-6 * k);
        }
      } finally {
        addon!.setIsa('auto');
        addon!.setThreads(restore);
        await T.setBackend(before);
      }
    });
  }

  it('rejects a reflect border wider than the input in the addon itself', () => {
    const x = new Float32Array(1 * 1 * 3 * 3);
    const w = new Float32Array(9);
    const y = new Float32Array(1 * 1 * 5 * 5);
    // Padding 3 on a 3×3 input: a mirror would read outside x.
    expect(() => addon!.conv2d(x, w, null, y, [1, 1, 3, 3, 1, 3, 3, 7, 7, 1, 1, 3, 3, 1, 1, 1, 1])).toThrow(/conv2d/);
    expect(() => addon!.conv2d(x, w, null, y, [1, 1, 3, 3, 1, 3, 3, 5, 5, 1, 1, 2, 2, 1, 1, 1, 7])).toThrow(/padMode/);
  });
});

describe.runIf(addon !== null)('native instance norm statistics', () => {
  it('normalises rows whose mean is far from zero and constant rows like a two-pass oracle', async () => {
    const before = T.getBackendName();
    await T.setBackend('native');
    try {
      const [c, hw] = [3, 4099];
      const xd = new Float32Array(c * hw);
      xd.set(values(hw, 7, 1e4), 0); // mean 1e4, spread ±1
      xd.set(values(hw, 8, -3), hw);
      xd.fill(2.5, 2 * hw); // variance 0: output is the shift
      const scale = Float32Array.of(1.5, -0.5, 2);
      const shift = Float32Array.of(0.25, 1, -1);
      const eps = 1e-5;
      const got = T.tidy(() =>
        T.instanceNorm(
          T.tensor(xd, [1, c, 1, hw], 'f32'),
          T.tensor(scale, [c], 'f32'),
          T.tensor(shift, [c], 'f32'),
          eps,
        ),
      );
      const data = (await got.data()) as Float32Array;
      got.dispose();
      for (let ch = 0; ch < c; ch++) {
        const row = xd.subarray(ch * hw, (ch + 1) * hw);
        let mean = 0;
        for (const v of row) mean += v;
        mean /= hw;
        let m2 = 0;
        for (const v of row) m2 += (v - mean) ** 2;
        const inv = 1 / Math.sqrt(m2 / hw + eps);
        for (let j = 0; j < hw; j++) {
          const want = (row[j] - mean) * inv * scale[ch] + shift[ch];
          expect(Math.abs(data[ch * hw + j] - want)).toBeLessThanOrEqual(2e-3 * (1 + Math.abs(want)));
        }
      }
    } finally {
      await T.setBackend(before);
    }
  });
});
