/**
 * The pieces of `bench:style` that are about the style network rather than about measuring:
 * the model file (through the registry, so every runtime reads the same bytes), the input
 * every runtime gets, the network's FLOP count, the output agreement check and the targets
 * issue 5 sets for it.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type OnnxModel, parseOnnx } from '../core/io/onnx.js';
import * as T from '../index.js';
import { transformerNetFlops } from '../models/fast-style/transformer-net.js';
import { centerSquare, imageToTensor } from '../models/image-tensor.js';
import { findStyle, NAMED_STYLES } from '../models/styles.js';
import { readImage } from '../node/image/codec.js';
import { resolveModelFile } from '../node/models/cache.js';
import { STYLE_TOLERANCE, TARGET_SIZE } from './catalog.js';
import { seededData } from './harness.js';
import { type BenchRecord, type OutputCheck, recordLabel, type TargetResult } from './record.js';

export { STYLE_TOLERANCE, TARGET_SIZE, transformerNetFlops };

export interface StyleModel {
  readonly style: string;
  /** Registry entry and file, e.g. `fast-neural-style-mosaic/mosaic.onnx`. */
  readonly entry: string;
  readonly path: string;
  /** Hex SHA-256 of the bytes every runtime loads. */
  readonly sha256: string;
  readonly bytes: Uint8Array;
  readonly onnx: OnnxModel;
}

/** The named style's ONNX file from the model registry (EAI_MODELS_DIR, then the cache), read and parsed once. */
export async function loadStyleModel(name: string): Promise<StyleModel> {
  const style = findStyle(name);
  if (!style) {
    throw new RangeError(`unknown style '${name}': choose one of ${NAMED_STYLES.map((s) => s.name).join(', ')}`);
  }
  const { path } = resolveModelFile(style.model, style.file);
  const bytes = new Uint8Array(await readFile(path));
  return {
    style: style.name,
    entry: `${style.model}/${style.file}`,
    path,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes,
    onnx: parseOnnx(path, bytes),
  };
}

export interface StyleInput {
  /** [1,3,size,size] RGB on the 0..255 scale, row-major. */
  readonly data: Float32Array;
  /** What the pixels are, for the report. */
  readonly description: string;
}

/**
 * The one input every runtime gets at `size`: the central square of `content` scaled to size×size
 * (made on the js backend, so it is the same on every machine), or, with no content image, seeded
 * uniform pixel values in [0, 255).
 */
export async function styleInput(size: number, content: string | null, seed: number): Promise<StyleInput> {
  if (content === null) {
    const data = seededData(3 * size * size, seed).map((v) => (v + 1) * 127.5);
    return { data, description: `seeded uniform pixel values in [0, 255) (seed ${seed})` };
  }
  const image = await readImage(content);
  const previous = T.getBackendName();
  await T.setBackend('js');
  try {
    const x = T.tidy(() => centerSquare(imageToTensor(image), size));
    try {
      return {
        data: Float32Array.from(await x.data()),
        description: `the central square of ${content} (${image.width}×${image.height}) scaled to ${size}×${size}`,
      };
    } finally {
      x.dispose();
    }
  } finally {
    await T.setBackend(previous);
  }
}

const to8bit = (v: number): number => (v > 0 ? Math.min(255, Math.round(v)) : 0);

/**
 * `output` against `reference` (same layout): the largest absolute difference on the raw output
 * and on the 8-bit image both would become. Different lengths can never agree.
 */
export function checkOutput(
  output: Float32Array,
  reference: Float32Array,
  label: string,
  tolerance = STYLE_TOLERANCE,
): OutputCheck {
  if (output.length !== reference.length || output.length === 0) {
    return { reference: label, maxAbsDiff: Number.MAX_VALUE, maxAbsDiff8bit: 255, tolerance, ok: false };
  }
  let raw = 0;
  let byte = 0;
  for (let i = 0; i < output.length; i++) {
    const d = Math.abs(output[i] - reference[i]);
    // NaN must count as a mismatch, not vanish in Math.max.
    raw = Number.isNaN(d) ? Number.MAX_VALUE : Math.max(raw, d);
    byte = Math.max(byte, Math.abs(to8bit(output[i]) - to8bit(reference[i])));
  }
  return { reference: label, maxAbsDiff: raw, maxAbsDiff8bit: byte, tolerance, ok: raw <= tolerance };
}

const TARGETS = [
  { peer: 'onnxruntime-node', limit: 1.0 },
  { peer: 'onnxruntime-web', limit: 0.5 },
] as const;

const CPU_BACKENDS = new Set(['js', 'wasm', 'native']);

/**
 * Issue 5's targets at `size`: at each thread count, the fastest CPU backend's median against
 * each peer's at the same count (js, single-threaded, competes at 1 thread only). WebGPU is not
 * a CPU backend, even on a CPU-emulated adapter. Failed outputs do not count as fastest.
 */
export function styleTargets(
  records: readonly BenchRecord[],
  threads: readonly number[],
  size = TARGET_SIZE,
): TargetResult[] {
  const out: TargetResult[] = [];
  const atSize = records.filter((r) => r.size === size);
  for (const t of threads) {
    const ours = atSize
      .filter((r) => r.kind === 'toolkit' && CPU_BACKENDS.has(r.backend) && r.check?.ok !== false)
      .filter((r) => (r.backend === 'js' ? t === 1 : r.threads === t))
      .sort((a, b) => a.medianMs - b.medianMs)[0];
    for (const { peer, limit } of TARGETS) {
      const target = `fastest CPU backend ≤ ${limit.toFixed(1)}× ${peer}'s time at ${size}², ${t} thread${t === 1 ? '' : 's'}`;
      const theirs = atSize.find((r) => r.backend === peer && r.threads === t);
      const base = { target, size, threads: t, runtime: ours ? recordLabel(ours) : null, peer: `${peer} ${t}t`, limit };
      if (!ours || !theirs) {
        const missing = [
          ...(ours ? [] : [`no CPU backend measured at ${size}² with ${t} thread${t === 1 ? '' : 's'}`]),
          ...(theirs ? [] : [`${peer} ${t}t not measured at ${size}²`]),
        ];
        out.push({ ...base, timeRatio: null, met: null, reason: missing.join('; ') });
        continue;
      }
      const timeRatio = ours.medianMs / theirs.medianMs;
      out.push({ ...base, timeRatio, met: timeRatio <= limit });
    }
  }
  return out;
}
