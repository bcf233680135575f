/**
 * The calibrated and data-free quantizers against independent oracles: GPTQ with an identity Hessian (no
 * input correlations, so no error to push anywhere) is MLX's round-to-nearest bit for bit; on correlated
 * inputs it lowers the layer's output error below RTN's; HQQ's zero points lower the mean weight error
 * below its own starting point (min/max rounding), both measured through the reference `dequantize`; and
 * the calibration statistics of layer 0's q_proj equal E[xxᵀ] of RMSNorm(embedding) computed here in f64.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../../../index.js';
import { inputMoments } from '../../../models/compression/calibration.js';
import { cholesky, gptqQuantize, type HostQuantized } from '../../../models/compression/gptq.js';
import { hqqQuantize } from '../../../models/compression/hqq.js';
import type { QuantSpec } from '../../../models/llama/quantization.js';
import { uploadQuantized } from '../../../models/llama/quantize.js';
import { loadLanguageModel } from '../../../node/models/language-model.js';

const SPEC: QuantSpec = { bits: 4, groupSize: 32 };

function random(n: number, seed: number, scale = 1): Float32Array {
  const rng = new T.Rng(seed);
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

/** ŵ through the reference dequantize (js backend). */
async function dequantized(q: HostQuantized, rows: number, cols: number): Promise<Float32Array> {
  await T.setBackend('js');
  const w = uploadQuantized(q, rows, cols, SPEC);
  const d = T.dequantize(w);
  const out = (await d.data()) as Float32Array;
  T.dispose([d, w.weight, w.scales, w.biases]);
  return out;
}

async function rtn(w: Float32Array, rows: number, cols: number): Promise<HostQuantized> {
  await T.setBackend('js');
  const q = T.tidy(() => T.quantize(T.fromHost(w, [rows, cols], 'f32'), SPEC));
  const out = {
    words: (await q.weight.data()) as Uint32Array,
    scales: (await q.scales.data()) as Float32Array,
    biases: (await q.biases.data()) as Float32Array,
  };
  T.dispose([q.weight, q.scales, q.biases]);
  return out;
}

describe('GPTQ', () => {
  const rows = 16;
  const cols = 64;
  const w = random(rows * cols, 1, 0.5);

  it('cholesky factors a positive-definite matrix (L·Lᵀ = A)', () => {
    const n = 5;
    const b = random(n * n, 2);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        for (let k = 0; k < n; k++) a[i * n + j] += b[i * n + k] * b[j * n + k];
        if (i === j) a[i * n + j] += 1;
      }
    const l = cholesky(a, n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += l[i * n + k] * l[j * n + k];
        expect(s).toBeCloseTo(a[i * n + j], 10);
      }
  });

  it('with an identity Hessian it is round-to-nearest, bit for bit', async () => {
    const h = new Float64Array(cols * cols);
    for (let i = 0; i < cols; i++) h[i * cols + i] = 1;
    const got = gptqQuantize(w, rows, cols, h, SPEC);
    const want = await rtn(w, rows, cols);
    expect(got.words).toEqual(want.words);
    expect(got.scales).toEqual(want.scales);
    expect(got.biases).toEqual(want.biases);
  });

  it("lowers the output error ‖X·(W − Ŵ)ᵀ‖ below round-to-nearest's on correlated inputs", async () => {
    const n = 256;
    const z = random(n * cols, 3);
    const mix = random(cols * cols, 4, 0.3);
    const x = new Float64Array(n * cols);
    for (let t = 0; t < n; t++)
      for (let j = 0; j < cols; j++) {
        let s = z[t * cols + j];
        for (let k = 0; k < cols; k++) s += z[t * cols + k] * mix[k * cols + j];
        x[t * cols + j] = s;
      }
    const h = new Float64Array(cols * cols);
    for (let t = 0; t < n; t++)
      for (let i = 0; i < cols; i++)
        for (let j = 0; j < cols; j++) h[i * cols + j] += (x[t * cols + i] * x[t * cols + j]) / n;
    const outputError = (wh: Float32Array) => {
      let e = 0;
      for (let t = 0; t < n; t++)
        for (let r = 0; r < rows; r++) {
          let s = 0;
          for (let j = 0; j < cols; j++) s += x[t * cols + j] * (w[r * cols + j] - wh[r * cols + j]);
          e += s * s;
        }
      return e;
    };
    const gptq = outputError(await dequantized(gptqQuantize(w, rows, cols, h, SPEC), rows, cols));
    const base = outputError(await dequantized(await rtn(w, rows, cols), rows, cols));
    expect(gptq).toBeLessThan(0.8 * base);
  });
});

describe('HQQ', () => {
  it('its fitted zero points lower the mean |W − Ŵ| below its min/max starting point', async () => {
    const rows = 8;
    const cols = 128;
    // Heavy tails: a few outliers per row, which stretch min/max rounding's range.
    const w = random(rows * cols, 5, 0.2);
    for (let i = 0; i < w.length; i += 37) w[i] *= 8;
    const err = async (q: HostQuantized) => {
      const d = await dequantized(q, rows, cols);
      let e = 0;
      for (let i = 0; i < w.length; i++) e += Math.abs(w[i] - d[i]);
      return e / w.length;
    };
    const start = await err(hqqQuantize(w, rows, cols, SPEC, { iterations: 0 }));
    const fitted = await err(hqqQuantize(w, rows, cols, SPEC));
    expect(fitted).toBeLessThan(start);
  });
});

describe('calibration statistics', () => {
  it("layer 0 q_proj's E[xxᵀ] is that of RMSNorm(embedding)·g over the tokens, computed independently", async () => {
    await T.setBackend('js');
    const lm = await loadLanguageModel('stories260K-hf');
    const ids = lm.tokenizer.encode('Once upon a time, there was a cat.');
    const moments = await inputMoments(lm.model, [ids]);
    const { hiddenSize: d, rmsNormEps: eps } = lm.model.config;
    const table = (await lm.model.weights.embed.parameters().weight.data()) as Float32Array;
    const g = (await lm.model.weights.layers[0].inputNorm.data()) as Float32Array;
    const want = new Float64Array(d * d);
    for (const id of ids) {
      const e = table.subarray(id * d, (id + 1) * d);
      const rms = Math.sqrt(e.reduce((a, v) => a + v * v, 0) / d + eps);
      const x = Array.from(e, (v, i) => (v / rms) * g[i]);
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) want[i * d + j] += (x[i] * x[j]) / ids.length;
    }
    const got = moments.get('model.layers.0.self_attn.q_proj')!;
    let worst = 0;
    for (let i = 0; i < d * d; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    expect(worst).toBeLessThan(1e-4);
    expect(moments.get('model.layers.0.self_attn.k_proj')).toEqual(got);
    expect(moments.size).toBe(36);
    lm.dispose();
    expect(T.memory().tensors).toBe(0);
  });
});
