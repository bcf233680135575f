/**
 * mlx-lm quantized folders in the Llama loader. The folder is built here by hand from stories260K-hf (the
 * reference `quantize` on js, written with encodeSafetensors; not the compression command), with
 * per-module overrides in config.json: 8-bit group 64 by default, layer 0's q_proj at 4 bits group 32 with
 * f16 scales, layer 1's v_proj `false` (float), the embedding (and with it the tied head) at 6 bits. The
 * oracle is the same network with every quantized matrix replaced by its dequantized float copy, loaded as an
 * ordinary float folder on js: the quantized model must give its logits and its greedy tokens on every
 * backend. The loader's refusals are checked on broken copies of the folder.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../../backends/node.js';
import { encodeSafetensors, fileDTypeOfCore, type SafetensorsTensor } from '../../../core/io/safetensors.js';
import { DenseEmbedding, DenseLinear } from '../../../core/nn/linear.js';
import { QuantizedEmbedding, QuantizedLinear } from '../../../core/nn/quantized.js';
import * as T from '../../../index.js';
import { TextGenerator } from '../../../models/llama/generate.js';
import { withSafetensorsFile } from '../../../node/io/safetensors-file.js';
import { loadLanguageModel } from '../../../node/models/language-model.js';
import { modelsDir } from '../../helpers/model-files.js';
import { backendSkipReason, titled } from '../../helpers/requirements.js';

const SOURCE = join(modelsDir, 'stories260K-hf');
const PROMPT = 'Once upon a time';
const dir = mkdtempSync(join(tmpdir(), 'eai-llama-quant-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DEFAULT = { bits: 8, groupSize: 64 } as const;
const OVERRIDES: Record<string, { bits: number; groupSize: number; scales?: T.DType } | false> = {
  'model.layers.0.self_attn.q_proj': { bits: 4, groupSize: 32, scales: 'f16' },
  'model.layers.1.self_attn.v_proj': false,
  'model.embed_tokens': { bits: 6, groupSize: 64 },
};
/** Modules that are quantized by default: mlx-lm skips down_proj (172 inputs: not a multiple of 64). */
const QUANTIZED = /^model\.(embed_tokens|layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up)_proj))\.weight$/;

function fileTensor(dtype: T.DType, shape: readonly number[], data: T.TypedArray): SafetensorsTensor {
  return { dtype: fileDTypeOfCore(dtype), shape: [...shape], data } as SafetensorsTensor;
}

/** Writes the quantized folder and its dequantized float twin; returns their paths. */
async function buildFolders(): Promise<{ quantized: string; dense: string }> {
  await T.setBackend('js');
  const quantized = join(dir, 'quantized');
  const dense = join(dir, 'dense');
  const config = JSON.parse((await import('node:fs')).readFileSync(join(SOURCE, 'config.json'), 'utf8'));
  const qTensors: Record<string, SafetensorsTensor> = {};
  const dTensors: Record<string, SafetensorsTensor> = {};
  await withSafetensorsFile(join(SOURCE, 'model.safetensors'), async (r) => {
    for (const name of r.names) {
      const t = await r.readAsCore(name);
      const path = name.replace(/\.weight$/, '');
      const override = OVERRIDES[path];
      if (!QUANTIZED.test(name) || override === false) {
        qTensors[name] = fileTensor(t.dtype, t.shape, t.data);
        dTensors[name] = qTensors[name];
        continue;
      }
      const spec = override ?? DEFAULT;
      const w = T.fromHost(t.data, t.shape, t.dtype);
      const q = T.quantize(override?.scales ? T.cast(w, override.scales) : w, spec);
      const deq = T.cast(T.dequantize(q), 'f32');
      for (const [suffix, x] of [
        ['weight', q.weight],
        ['scales', q.scales],
        ['biases', q.biases],
      ] as const) {
        qTensors[`${path}.${suffix}`] = fileTensor(x.dtype, x.shape, T.fromCompute(await x.data(), x.dtype));
      }
      dTensors[name] = fileTensor('f32', deq.shape, await deq.data());
      T.dispose([w, q.weight, q.scales, q.biases, deq]);
    }
  });
  const entries = Object.fromEntries(
    Object.entries(OVERRIDES).map(([p, s]) => [p, s === false ? false : { group_size: s.groupSize, bits: s.bits }]),
  );
  const quantization = { group_size: DEFAULT.groupSize, bits: DEFAULT.bits, mode: 'affine', ...entries };
  for (const [folder, tensors, cfg] of [
    [quantized, qTensors, { ...config, quantization, quantization_config: quantization }],
    [dense, dTensors, config],
  ] as const) {
    mkdirSync(folder);
    writeFileSync(join(folder, 'model.safetensors'), Buffer.concat(encodeSafetensors(tensors, { format: 'mlx' })));
    writeFileSync(join(folder, 'config.json'), JSON.stringify(cfg));
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(SOURCE, f), join(folder, f));
  }
  return { quantized, dense };
}

async function lastLogits(path: string, text: string): Promise<Float32Array> {
  const lm = await loadLanguageModel(path);
  try {
    const ids = lm.tokenizer.encode(text);
    const out = T.tidy(() => lm.model.forward(T.tensor([ids], [1, ids.length], 'i32')));
    const data = (await out.data()) as Float32Array;
    out.dispose();
    return data;
  } finally {
    lm.dispose();
  }
}

let folders: { quantized: string; dense: string };
let oracle: { logits: Float32Array; tokens: readonly number[] };
const TEXT = `${PROMPT}, there was a little girl named Lily. She loved to play outside.`;

beforeAll(async () => {
  folders = await buildFolders();
  await T.setBackend('js');
  const lm = await loadLanguageModel(folders.dense);
  const r = await new TextGenerator(lm.model, lm.tokenizer).generate(PROMPT, { maxTokens: 20 }).complete();
  lm.dispose();
  oracle = { logits: await lastLogits(folders.dense, TEXT), tokens: r.tokens };
});

describe('an mlx-lm quantized folder', () => {
  it('loads each module as config.json says: defaults, per-module bits and group, false entries, tied head', async () => {
    await T.setBackend('js');
    const lm = await loadLanguageModel(folders.quantized);
    const w = lm.model.weights;
    expect(w.embed).toBeInstanceOf(QuantizedEmbedding);
    expect((w.embed as QuantizedEmbedding).quantized.bits).toBe(6);
    expect(w.lmHead).toBeInstanceOf(QuantizedLinear);
    const q0 = w.layers[0].attention.q as QuantizedLinear;
    expect([q0.quantized.bits, q0.quantized.groupSize, q0.quantized.scales.dtype]).toEqual([4, 32, 'f16']);
    const k0 = w.layers[0].attention.k as QuantizedLinear;
    expect([k0.quantized.bits, k0.quantized.groupSize, k0.quantized.scales.dtype]).toEqual([8, 64, 'f32']);
    expect(w.layers[1].attention.v).toBeInstanceOf(DenseLinear);
    expect(w.layers[2].mlp.down).toBeInstanceOf(DenseLinear);
    expect(w.layers[2].mlp.up).toBeInstanceOf(QuantizedLinear);
    expect(w.embed).not.toBeInstanceOf(DenseEmbedding);
    lm.dispose();
    expect(T.memory().tensors).toBe(0);
  });
});

const backends = await Promise.all(T.BACKEND_NAMES.map(async (b) => [b, await backendSkipReason(b)] as const));

describe.each(backends)('a quantized stories260K on %s', (backend, skip) => {
  if (skip) {
    it.skip(titled(`quantized stories260K on ${backend}`, skip), () => {});
    return;
  }
  afterAll(() => T.setBackend('js'));

  it('gives the logits of its dequantized float twin (on js) and the same greedy tokens', async () => {
    await T.setBackend(backend);
    const got = await lastLogits(folders.quantized, TEXT);
    expect(got.length).toBe(oracle.logits.length);
    let worst = 0;
    let spread = 0;
    for (let i = 0; i < got.length; i++) {
      spread = Math.max(spread, Math.abs(oracle.logits[i]));
      worst = Math.max(worst, Math.abs(got[i] - oracle.logits[i]));
    }
    expect(worst / spread).toBeLessThan(1e-4);
    const lm = await loadLanguageModel(folders.quantized);
    const r = await new TextGenerator(lm.model, lm.tokenizer).generate(PROMPT, { maxTokens: 20 }).complete();
    lm.dispose();
    expect(r.tokens).toEqual(oracle.tokens);
    expect(T.memory().tensors).toBe(0);
  });
});

describe('refusals', () => {
  /** A copy of the quantized folder with config.json edited and tensors renamed/replaced. */
  async function broken(
    name: string,
    edit: (config: Record<string, unknown>) => void,
    tensors?: (t: Record<string, SafetensorsTensor>) => void,
  ): Promise<string> {
    const folder = join(dir, name);
    mkdirSync(folder);
    const fs = await import('node:fs');
    const config = JSON.parse(fs.readFileSync(join(folders.quantized, 'config.json'), 'utf8'));
    edit(config);
    writeFileSync(join(folder, 'config.json'), JSON.stringify(config));
    if (tensors) {
      const all: Record<string, SafetensorsTensor> = {};
      await withSafetensorsFile(join(folders.quantized, 'model.safetensors'), async (r) => {
        for (const n of r.names) all[n] = await r.read(n);
      });
      tensors(all);
      writeFileSync(join(folder, 'model.safetensors'), Buffer.concat(encodeSafetensors(all)));
    } else {
      copyFileSync(join(folders.quantized, 'model.safetensors'), join(folder, 'model.safetensors'));
    }
    copyFileSync(join(SOURCE, 'tokenizer.json'), join(folder, 'tokenizer.json'));
    return folder;
  }

  it('scales without a "quantization" entry: says that mlx-lm writes one', async () => {
    const f = await broken('no-config', (c) => {
      delete c.quantization;
      delete c.quantization_config;
    });
    await expect(loadLanguageModel(f)).rejects.toThrow(/\.(scales|biases)" .*config has no "quantization" entry/);
  });

  it('a mode other than affine, and a transformers quantization_config, by name', async () => {
    const f = await broken('mxfp4', (c) => {
      (c.quantization as Record<string, unknown>).mode = 'mxfp4';
    });
    await expect(loadLanguageModel(f)).rejects.toThrow(/quantization\.mode is "mxfp4"; only MLX's "affine"/);
    const g = await broken('gptq', (c) => {
      delete c.quantization;
      c.quantization_config = { quant_method: 'gptq', bits: 4 };
    });
    await expect(loadLanguageModel(g)).rejects.toThrow(/quant_method "gptq" is a transformers quantization/);
  });

  it('bits in config.json that do not match the stored words', async () => {
    const f = await broken('bits', (c) => {
      (c.quantization as Record<string, unknown>).bits = 4;
    });
    await expect(loadLanguageModel(f)).rejects.toThrow(
      /tensor "model\.layers\.0\.self_attn\.k_proj\.weight" has shape \[32, 16\] but .*4-bit, group 64.* implies \[32, 8\]/,
    );
  });

  it('a float weight where the config promises packed words, and scales of another dtype than the biases', async () => {
    const f = await broken(
      'dtype',
      () => {},
      (t) => {
        t['model.layers.0.self_attn.k_proj.weight'] = {
          dtype: 'F32',
          shape: [32, 16],
          data: new Float32Array(32 * 16),
        };
      },
    );
    await expect(loadLanguageModel(f)).rejects.toThrow(/k_proj\.weight" is f32; .* needs u32/);
    const g = await broken(
      'biases',
      () => {},
      (t) => {
        const s = t['model.layers.0.self_attn.q_proj.scales'];
        t['model.layers.0.self_attn.q_proj.biases'] = {
          dtype: 'F32',
          shape: s.shape,
          data: new Float32Array(s.shape[0] * s.shape[1]),
        };
      },
    );
    await expect(loadLanguageModel(g)).rejects.toThrow(/q_proj\.biases" is f32; .* needs f16/);
    expect(T.memory().tensors).toBe(0);
  });
});
