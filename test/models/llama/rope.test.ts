/**
 * RoPE scaling against values computed independently: transformers' modeling_rope_utils.py formulas
 * transcribed to numpy (float32, as torch computes them) by this script, run once, its output pasted below:
 *
 *   f32 = np.float32
 *   def default(base, dim): return 1.0 / (f32(base) ** (np.arange(0, dim, 2).astype(f32) / f32(dim)))
 *   linear   = default(10000, 16) / 4.0
 *   dynamic  = default(10000 * ((2.0 * 100 / 64) - 1.0) ** (16 / 14), 16)        # factor 2, max 64, seq 100
 *   llama3:  inv = default(500000, 16); wavelen = 2π/inv; lw, hw = 8192/1, 8192/4
 *            inv_l = where(wavelen > lw, inv/8, inv); s = (8192/wavelen - 1)/(4 - 1)
 *            where(~(wavelen < hw) & ~(wavelen > lw), (1 - s)·inv_l/8 + s·inv_l, inv_l)
 *   yarn:    dim 16, base 10000, factor 4, original 2048, β 32/1: cdim(r) = dim·ln(2048/(2πr))/(2 ln base),
 *            low, high = floor(cdim(32)), ceil(cdim(1)); ramp = clip((arange(8) − low)/(high − low), 0, 1);
 *            ef = 1 − ramp; inv = 1/(4·pos)·(1 − ef) + 1/pos·ef; attention factor 0.1·ln 4 + 1
 *   yarnUntruncated: β 16/2, truncate False, attention_factor 1.5
 *
 * Then the two ways RoPE is applied (the core rope op; cos/sin tables for llama3/yarn) against a plain loop.
 */
import { describe, expect, it } from 'vitest';
import '../../../backends/node.js';
import * as T from '../../../index.js';
import type { LlamaConfig, RopeScaling } from '../../../models/llama/config.js';
import { RotaryEmbedding, ropeFrequencies } from '../../../models/llama/rope.js';

const NUMPY = {
  linear: [
    0.25, 0.07905694097280502, 0.02500000037252903, 0.007905694656074047, 0.0024999999441206455, 0.0007905694656074047,
    0.0002500000118743628, 7.905694656074047e-5,
  ],
  dynamic: [
    1.0, 0.28394514322280884, 0.08062484115362167, 0.0228930301964283, 0.0065003652125597, 0.0018457469996064901,
    0.0005240908940322697, 0.00014881306560710073,
  ],
  dynamicShort: [
    1.0, 0.3162277638912201, 0.10000000149011612, 0.03162277862429619, 0.009999999776482582, 0.003162277862429619,
    0.0010000000474974513, 0.0003162277862429619,
  ],
  llama3: [
    1.0, 0.193922758102417, 0.03760603070259094, 0.00729266507551074, 0.0005248460220173001, 3.428102354519069e-5,
    6.647869668086059e-6, 1.289173155782919e-6,
  ],
  yarn: [
    1.0, 0.3162277638912201, 0.10000000149011612, 0.025693506002426147, 0.00624999962747097, 0.0013834965648129582,
    0.0002500000118743628, 7.905694656074047e-5,
  ],
  yarnUntruncated: [
    1.0, 0.3162277638912201, 0.10000000149011612, 0.02660749852657318, 0.004261618945747614, 0.0007905694656074047,
    0.0002500000118743628, 7.905694656074047e-5,
  ],
};

function config(theta: number, scaling: RopeScaling | null, overrides: Partial<LlamaConfig> = {}): LlamaConfig {
  return {
    architecture: 'llama',
    hiddenSize: 32,
    intermediateSize: 8,
    numLayers: 1,
    numHeads: 2,
    numKvHeads: 2,
    headDim: 16,
    vocabSize: 8,
    maxPositions: 64,
    rmsNormEps: 1e-5,
    ropeTheta: theta,
    ropeScaling: scaling,
    ropeTraditional: false,
    attentionBias: false,
    outputBias: false,
    mlpBias: false,
    tieWordEmbeddings: true,
    bosTokenId: 1,
    eosTokenIds: [2],
    ...overrides,
  };
}

const yarn = (o: Partial<Extract<RopeScaling, { type: 'yarn' }>> = {}): RopeScaling => ({
  type: 'yarn',
  factor: 4,
  originalMaxPositions: 2048,
  attentionFactor: 0.1 * Math.log(4) + 1,
  betaFast: 32,
  betaSlow: 1,
  truncate: true,
  ...o,
});

function expectClose(got: ArrayLike<number>, want: readonly number[], rel = 1e-6): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(rel * Math.abs(want[i]));
}

describe('rope_scaling inverse frequencies match transformers (numpy transcription)', () => {
  it('linear', () => expectClose(ropeFrequencies(config(10000, { type: 'linear', factor: 4 })).invFreq, NUMPY.linear));
  it('dynamic, past and within max_position_embeddings', () => {
    const c = config(10000, { type: 'dynamic', factor: 2 });
    expectClose(ropeFrequencies(c, 100).invFreq, NUMPY.dynamic);
    expectClose(ropeFrequencies(c, 50).invFreq, NUMPY.dynamicShort);
  });
  it('llama3 (all three wavelength bands)', () => {
    const s: RopeScaling = {
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositions: 8192,
    };
    expectClose(ropeFrequencies(config(500000, s)).invFreq, NUMPY.llama3);
  });
  it('yarn, with its attention factor', () => {
    const r = ropeFrequencies(config(10000, yarn()));
    expectClose(r.invFreq, NUMPY.yarn);
    expect(r.attentionFactor).toBeCloseTo(1.138629436111989, 12);
    const u = ropeFrequencies(
      config(10000, yarn({ betaFast: 16, betaSlow: 2, truncate: false, attentionFactor: 1.5 })),
    );
    expectClose(u.invFreq, NUMPY.yarnUntruncated);
    expect(u.attentionFactor).toBe(1.5);
  });
});

/** A plain-loop rotation of x [1, H, T, d] at positions offset + t. */
function rotate(
  x: Float32Array,
  H: number,
  len: number,
  d: number,
  offset: number,
  inv: ArrayLike<number>,
  traditional: boolean,
  af = 1,
) {
  const out = Float64Array.from(x);
  for (let h = 0; h < H; h++) {
    for (let t = 0; t < len; t++) {
      const o = (h * len + t) * d;
      for (let j = 0; j < d / 2; j++) {
        const angle = (offset + t) * inv[j];
        const [c, s] = [Math.cos(angle) * af, Math.sin(angle) * af];
        const a = o + (traditional ? 2 * j : j);
        const b = o + (traditional ? 2 * j + 1 : j + d / 2);
        out[a] = x[a] * c - x[b] * s;
        out[b] = x[a] * s + x[b] * c;
      }
    }
  }
  return out;
}

describe('RotaryEmbedding applies the frequencies in both layouts', () => {
  const cases: [string, LlamaConfig, number][] = [
    ['plain (rope op)', config(10000, null), 5],
    ['linear (rope op, position scale)', config(10000, { type: 'linear', factor: 4 }), 5],
    ['dynamic past the context (rope op, new base)', config(10000, { type: 'dynamic', factor: 2 }), 90],
    [
      'llama3 (tables)',
      config(500000, { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 }),
      5,
    ],
    ['yarn (tables, attention factor)', config(10000, yarn()), 5],
  ];
  for (const traditional of [false, true]) {
    it.each(cases)(`%s, ${traditional ? 'adjacent' : 'half-split'} pairs`, async (_name, c, offset) => {
      await T.setBackend('js');
      const cfg = { ...c, ropeTraditional: traditional };
      const [H, len, d] = [2, 3, 16];
      const x = Float32Array.from({ length: H * len * d }, (_, i) => Math.sin(i * 1.7) + 0.1 * i);
      const { invFreq, attentionFactor } = ropeFrequencies(cfg, offset + len);
      const want = rotate(x, H, len, d, offset, invFreq, traditional, attentionFactor);
      const input = T.tensor(x, [1, H, len, d]);
      const y = new RotaryEmbedding(cfg).apply(input, offset);
      const got = await y.data();
      for (let i = 0; i < want.length; i++)
        expect(Math.abs(got[i] - want[i])).toBeLessThan(2e-5 * (1 + Math.abs(want[i])));
      T.dispose([input, y]);
      expect(T.memory().tensors).toBe(0);
    });
  }
});
