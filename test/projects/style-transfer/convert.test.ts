/**
 * style-transfer:convert through the CLI (in process), at small sizes.
 *
 * Oracles: onnxruntime-node runs each written .onnx beside the published ONNX file of the same weights
 * (../shared/models/fast-neural-style; the .pth fixtures were converted from them tensor by tensor, see their
 * NOTICE), so the .pth reader, the tracer and the ONNX writer are checked against files we did not write; the
 * .mlpackage is read back from disk and its MIL program interpreted (convert's own verification, whose numbers
 * are asserted here); the exported ONNX also loads back into the toolkit's fast-style importer.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import '../../../backends/node.js';
import { bytesSource } from '../../../core/io/bytes.js';
import { parseOnnx } from '../../../core/io/onnx.js';
import { readPth } from '../../../core/io/pth.js';
import { encodeSafetensors, type SafetensorsTensor } from '../../../core/io/safetensors.js';
import * as T from '../../../index.js';
import { TransformerNet } from '../../../models/fast-style/transformer-net.js';
import { type ConvertResult, convertModel } from '../../../projects/style-transfer/convert.js';
import { examplePixels } from '../../../projects/style-transfer/convert-model.js';
import { modelsDir } from '../../helpers/model-files.js';
import { runCli } from '../../helpers/run-cli.js';

const dir = await mkdtemp(join(tmpdir(), 'eai-convert-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const pth = (style: string) => join(modelsDir, 'fast-neural-style-pth', `${style}.pth`);
const zooOnnx = (style: string) => join(modelsDir, 'fast-neural-style', `${style}.onnx`);
const [H, W] = [40, 32];

async function convert(flags: string[]): Promise<{ code: number; result: ConvertResult; err: string }> {
  const r = await runCli(['style-transfer:convert', '--size', `${H}x${W}`, '--json', ...flags], {
    cwd: dir,
    env: process.env,
  });
  return { code: r.code, result: r.code === 0 ? (JSON.parse(r.out) as ConvertResult) : (null as never), err: r.err };
}

/** Run an ONNX file in onnxruntime-node on the example image. */
async function runOrt(file: string | Uint8Array, inputName: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file as string);
  const x = examplePixels(H, W, 255);
  const out = await session.run({ [inputName]: new ort.Tensor('float32', x, [1, 3, H, W]) });
  await session.release();
  return Object.values(out)[0].data as Float32Array;
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('convert: fast-style .pth → .onnx and .mlpackage', () => {
  it.each(['candy', 'mosaic'])(
    '%s.pth → .onnx runs in onnxruntime-node like the published ONNX file',
    async (style) => {
      const out = join(dir, `${style}.onnx`);
      const { code, result, err } = await convert(['--model-path', pth(style), '--output-path', out]);
      expect(code, err).toBe(0);
      expect(result.format).toBe('onnx');
      expect(result.ops).toEqual({ conv2d: 16, instanceNorm: 15, relu: 10, add: 5, resize: 2 });
      expect('skipped' in result.verification).toBe(false);
      expect(result.verification).toMatchObject({ runtime: 'onnxruntime-node (CPU)', ok: true });
      // Independent: both files in onnxruntime; the shared README says fast-style outputs agree to ~1e-2.
      const ours = await runOrt(out, 'image');
      const published = await runOrt(zooOnnx(style), 'input');
      expect(maxAbs(ours, published)).toBeLessThan(2e-2);
      // And the written ONNX is a fast-style graph the toolkit's own importer accepts.
      const net = TransformerNet.fromOnnx(parseOnnx(out, readFileSync(out)));
      const x = T.tensor(examplePixels(H, W, 255), [1, 3, H, W]);
      const y = net.forward(x);
      expect(maxAbs(Float32Array.from(await y.data()), ours)).toBeLessThan(2e-2);
      T.dispose([x, y]);
      net.dispose();
    },
  );

  it('candy.pth → .mlpackage: the package layout, and its interpreted program matches within fp16 precision', async () => {
    const out = join(dir, 'candy.mlpackage');
    const { code, result, err } = await convert(['--model-path', pth('candy'), '--output-path', out]);
    expect(code, err).toBe(0);
    expect(await readdir(out)).toEqual(['Data', 'Manifest.json']);
    expect((await readdir(join(out, 'Data', 'com.apple.CoreML'))).sort()).toEqual(['model.mlmodel', 'weights']);
    expect(await readdir(join(out, 'Data', 'com.apple.CoreML', 'weights'))).toEqual(['weight.bin']);
    expect(result.inputs).toEqual([{ name: 'image', shape: [1, 3, H, W], meaning: 'RGB, 0..255, NCHW' }]);
    expect(result.precision).toBe('float16');
    const v = result.verification as Exclude<ConvertResult['verification'], { skipped: string }>;
    expect(v.ok).toBe(true);
    // fp16 weights and activations through 31 layers on a 0..255 output: a few units at most, far less on average.
    expect(v.maxAbsDiff).toBeLessThan(0.03 * v.outputMaxAbs);
    expect(v.meanAbsDiff).toBeLessThan(0.003 * v.outputMaxAbs);
    // float32 compute reproduces the network to rounding.
    const f32 = await convert([
      '--model-path',
      pth('candy'),
      '--output-path',
      join(dir, 'candy32.mlpackage'),
      '--precision',
      'float32',
    ]);
    const v32 = f32.result.verification as typeof v;
    expect(v32.maxAbsDiff).toBeLessThan(1e-3 * v32.outputMaxAbs);
  });

  it('palettized to 4 bits: every large weight becomes a 16-entry table, the image stays close', async () => {
    const { code, result, err } = await convert([
      '--model-path',
      pth('mosaic'),
      '--output-path',
      join(dir, 'mosaic-4.mlpackage'),
      '--quantize-nbits',
      '4',
    ]);
    expect(code, err).toBe(0);
    // All 16 conv weights have more than 2048 elements (the smallest, the 3→32 stem, has 7776).
    expect(result.palettized?.weights).toBe(16);
    const v = result.verification as Exclude<ConvertResult['verification'], { skipped: string }>;
    expect(v.tolerance).toBeNull();
    // Mean |Δ| relative to the output scale: measured 5% (docs/conversion.md).
    expect(v.meanAbsDiff / v.outputMaxAbs).toBeLessThan(0.1);
  });

  it('palettized to 8, 6 and 4 bits (Magenta transfer network): errors in order and within each width bound', async () => {
    const transfer = join(
      modelsDir,
      'magenta-arbitrary',
      'magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite',
    );
    const errors: number[] = [];
    for (const bits of ['8', '6', '4']) {
      const r = await runCli(
        [
          'style-transfer:convert',
          '--model-path',
          transfer,
          '--output-path',
          join(dir, `mt-${bits}.mlpackage`),
          '--size',
          '32',
          '--quantize-nbits',
          bits,
          '--json',
        ],
        { cwd: dir, env: process.env },
      );
      expect(r.code, r.err).toBe(0);
      const result = JSON.parse(r.out) as ConvertResult;
      expect(result.architecture).toBe('magenta-transformer');
      // The ten 32→32 residual convs, the 32→16 and 16→32 convs, and the stacked [694, 100] style matrix.
      expect(result.palettized?.weights).toBe(13);
      const v = result.verification as Exclude<ConvertResult['verification'], { skipped: string }>;
      errors.push(v.meanAbsDiff / v.outputMaxAbs);
    }
    // Measured 0.3%, 1.6% and 5.8% of the output scale (docs/conversion.md); the bounds leave room.
    expect(errors[0]).toBeLessThan(0.01);
    expect(errors[1]).toBeLessThan(0.04);
    expect(errors[2]).toBeLessThan(0.12);
    expect(errors[0]).toBeLessThan(errors[1]);
    expect(errors[1]).toBeLessThan(errors[2]);
  });
});

describe('convert: other inputs', () => {
  it('a .safetensors state dict converts to both formats', async () => {
    const sd = await (await readPth(bytesSource('candy.pth', readFileSync(pth('candy'))))).readStateDict();
    const tensors: Record<string, SafetensorsTensor> = {};
    for (const [name, t] of sd) tensors[name] = { dtype: 'F32', shape: t.shape, data: t.data as Float32Array };
    const file = join(dir, 'candy.safetensors');
    await writeFile(file, encodeSafetensors(tensors));
    for (const ext of ['onnx', 'mlpackage']) {
      const { code, result, err } = await convert(['--model-path', file, '--output-path', join(dir, `st.${ext}`)]);
      expect(code, err).toBe(0);
      expect(result.model).toBe('fast-style TransformerNet from candy.safetensors');
      expect(result.verification).toMatchObject({ ok: true });
    }
  });

  it('a published .onnx file and a bundled style name convert to .mlpackage', async () => {
    for (const source of [zooOnnx('udnie'), 'rain-princess']) {
      const { code, result, err } = await convert([
        '--model-path',
        source,
        '--output-path',
        join(dir, 'from-onnx.mlpackage'),
      ]);
      expect(code, err).toBe(0);
      expect(result.verification).toMatchObject({ ok: true });
    }
  });

  it('magenta-arbitrary (both networks) converts to .onnx and .mlpackage, each verified', async () => {
    for (const ext of ['onnx', 'mlpackage']) {
      const r = await runCli(
        [
          'style-transfer:convert',
          '--model-path',
          'magenta-arbitrary',
          '--output-path',
          join(dir, `magenta.${ext}`),
          '--size',
          '32',
          '--json',
        ],
        { cwd: dir, env: process.env },
      );
      expect(r.code, r.err).toBe(0);
      const result = JSON.parse(r.out) as ConvertResult;
      expect(result.architecture).toBe('magenta');
      expect(result.inputs.map((i) => i.shape)).toEqual([
        [1, 3, 32, 32],
        [1, 3, 256, 256],
      ]);
      expect(result.verification).toMatchObject({ ok: true });
    }
  });

  it('an abort (Ctrl-C) during palettization stops the export and leaves nothing behind', async () => {
    const available = await T.availableBackendNames();
    await T.setBackend(available.includes('native') ? 'native' : 'js');
    const controller = new AbortController();
    const out = join(dir, 'aborted.mlpackage');
    await expect(
      convertModel({
        modelPath: pth('candy'),
        outputPath: out,
        size: [H, W],
        precision: 'float16',
        quantizeBits: 4,
        verify: false,
        signal: controller.signal,
        onWeight: () => controller.abort(new Error('interrupted by Ctrl-C')),
      }),
    ).rejects.toThrow(/interrupted by Ctrl-C/);
    expect((await readdir(dir)).filter((n) => n.includes('aborted'))).toEqual([]);
    expect(T.memory().tensors).toBe(0);
    await T.setBackend('js');
  });

  it('refuses hostile, unknown and mismatched inputs with usage errors naming the problem', async () => {
    const hostile = join(dir, 'evil.pth');
    // A legacy-format start whose first pickle calls os.system.
    await writeFile(hostile, Uint8Array.from([0x80, 0x02, 0x63, ...new TextEncoder().encode('os\nsystem\n'), 0x2e]));
    const cases: [string[], RegExp][] = [
      [
        ['--model-path', hostile, '--output-path', join(dir, 'e.mlpackage')],
        /evil\.pth: pickle byte 2: refuses the global os\.system/,
      ],
      [
        ['--model-path', 'no-such-model', '--output-path', join(dir, 'x.onnx')],
        /no-such-model: no such file or folder, and not a bundled model name/,
      ],
      [
        ['--model-path', pth('candy'), '--output-path', join(dir, 'x.tflite')],
        /the extension picks the format: \.mlpackage \(Core ML\) or \.onnx/,
      ],
      [
        ['--model-path', pth('candy'), '--output-path', join(dir, 'x.onnx'), '--quantize-nbits', '4'],
        /applies to \.mlpackage outputs only/,
      ],
      [
        ['--model-path', pth('candy'), '--output-path', join(dir, 'x.onnx'), '--component', 'unet'],
        /--component unet: a fast-style network has the components all/,
      ],
      [['--model-path', dir, '--output-path', join(dir, 'x.onnx')], /a folder without model_index\.json/],
    ];
    for (const [flags, pattern] of cases) {
      const r = await runCli(['style-transfer:convert', ...flags], { cwd: dir, env: process.env });
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(pattern);
    }
    const size = await runCli(['style-transfer:convert', '--size', '9x9'], { cwd: dir, env: process.env });
    expect(size.code).toBe(2);
    expect(size.err).toMatch(/--size 9x9: give the image input as SIDE or HEIGHTxWIDTH/);
    // Nothing partial was left behind.
    expect((await readdir(dir)).filter((n) => n.startsWith('e.') || n.startsWith('.e.') || n.startsWith('x.'))).toEqual(
      [],
    );
  });
});
