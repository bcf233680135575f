/**
 * The one style-transfer pipeline: the CLI, the browser demo's worker and the tests
 * all call this. Browser-safe: decoding, encoding and reading model files are the
 * caller's (Node: node/image/codec.ts + the model registry; browser: createImageBitmap + fetch).
 *
 * Two methods:
 * - named styles: a fast per-style network (Johnson et al.), RGB 0..255 in and out;
 * - arbitrary style (Magenta, Ghiasi et al. 2017): any image is the style. The prediction network maps the
 *   style image to a 100-d style vector; the transfer network stylises the content with it. Inputs and
 *   outputs are RGB in [0, 1]. As in Magenta's TF Lite example, a style image is cut to its central square
 *   and scaled to 256×256 (`styleSize`), and `strength` s blends the style vectors before the transfer:
 *   s·style + (1 − s)·(the content image's own style vector, predicted from the content image prepared the
 *   same way). A blend of several style images averages their vectors with the given weights (normalised
 *   to sum to 1), then `strength` applies to the blend. Style vectors are cached by image content, so
 *   re-running with another strength (the demo's slider) only re-runs the transfer network.
 *
 * Large images: the content image is scaled so its long side is `size` (default 512,
 * at most MAX_SIZE) — we scale rather than tile, because the networks' instance
 * normalisation uses whole-image statistics and tiles would each get their own look.
 * The Magenta transfer network was published for 384×384 content but is fully convolutional (its
 * upsampling sizes are ratios, see models/magenta/style-transformer.ts), so it runs at `size` too.
 */

import { parseOnnx } from '../../core/io/onnx.js';
import { parseTflite } from '../../core/io/tflite.js';
import * as T from '../../index.js';
import { TransformerNet } from '../../models/fast-style/transformer-net.js';
import {
  centerSquare,
  fitSize,
  imageToTensor,
  planesToImage,
  type RgbaImage,
  resizedAlpha,
  resizeImage,
} from '../../models/image-tensor.js';
import { STYLE_IMAGE_SIZE, STYLE_VECTOR_SIZE, StylePredictor } from '../../models/magenta/style-predictor.js';
import { StyleTransformer } from '../../models/magenta/style-transformer.js';
import {
  ARBITRARY_STYLE_MODELS,
  ARBITRARY_WEIGHTS,
  type ArbitraryWeights,
  DEFAULT_ARBITRARY_WEIGHTS,
  DEFAULT_SIZE,
  findStyle,
  MAX_SIZE,
  MAX_STYLE_SIZE,
  MIN_NETWORK_SIDE,
  MIN_SIZE,
  MIN_STYLE_SIZE,
  NAMED_STYLES,
  type NamedStyle,
} from '../../models/styles.js';

export { DEFAULT_SIZE, MAX_SIZE, MAX_STYLE_SIZE, MIN_NETWORK_SIDE, MIN_SIZE, MIN_STYLE_SIZE };

/** Where model bytes come from: the registry and EAI_MODELS_DIR in Node, fetch + Cache API in browsers. */
export interface ModelSource {
  load(style: NamedStyle): Promise<{ name: string; bytes: Uint8Array }>;
  /**
   * One file of a model registry entry: arbitrary style loads the Magenta files with it
   * (see ARBITRARY_STYLE_MODELS in styles.ts for the entries and file names). Optional so that sources
   * written for named styles keep working; arbitrary style fails with a clear message without it.
   */
  loadFile?(model: string, file: string): Promise<{ name: string; bytes: Uint8Array }>;
}

/** One style image of a blend and its weight (≥ 0; the weights are normalised to sum to 1). */
export interface WeightedStyleImage {
  readonly image: RgbaImage;
  readonly weight: number;
  /** For TransferResult.style and output names, e.g. the file name. */
  readonly name?: string;
}

export type StyleChoice =
  | { readonly kind: 'named'; readonly name: string }
  /** Arbitrary style: the style of any image (`name` labels the result, default 'image'). */
  | { readonly kind: 'image'; readonly image: RgbaImage; readonly name?: string }
  /** Arbitrary style from several images, their style vectors averaged with the weights. */
  | { readonly kind: 'blend'; readonly images: readonly WeightedStyleImage[] };

export interface TransferOptions {
  /** Long side of the output in pixels. */
  readonly size?: number;
  /**
   * 0..1: how much of the style image's style to apply (arbitrary style only; default 1). Below 1 the
   * content image's own style vector is blended in, as Magenta's content_blending_ratio does.
   */
  readonly strength?: number;
  /** Arbitrary style: the transfer network's weights (default 'int8', registry `magenta-arbitrary`). */
  readonly arbitraryWeights?: ArbitraryWeights;
  /**
   * Arbitrary style: side of the square that style images (and, for strength < 1, the content image) are
   * scaled to for style prediction. Default 256, what the network was trained and published with.
   */
  readonly styleSize?: number;
}

export type Stage = 'load-model' | 'preprocess' | 'predict-style' | 'stylize' | 'postprocess';

export interface TransferResult {
  readonly image: RgbaImage;
  readonly backend: string;
  /** The named style, or for arbitrary style the style image names joined with '+'. */
  readonly style: string;
  readonly input: { readonly width: number; readonly height: number };
  readonly output: { readonly width: number; readonly height: number };
  /** Milliseconds per stage ('predict-style' is 0 for named styles). */
  readonly times: Readonly<Record<Stage, number>>;
}

export type ProgressListener = (stage: Stage, state: 'start' | 'done') => void;

/** Magenta's two networks. */
export interface ArbitraryStyleNets {
  readonly predictor: StylePredictor;
  readonly transformer: StyleTransformer;
}

/** Style vectors kept per (image content, style size); a handful covers the demo's style and content images. */
const STYLE_VECTOR_CACHE_SIZE = 16;

export class StyleTransferPipeline {
  readonly #source: ModelSource;
  readonly #nets = new Map<string, Promise<TransformerNet>>();
  readonly #magenta = new Map<ArbitraryWeights, Promise<ArbitraryStyleNets>>();
  /** Insertion-ordered, so the oldest entry is evicted first. */
  readonly #styleVectors = new Map<string, Float32Array>();

  constructor(source: ModelSource) {
    this.#source = source;
  }

  /** Load (once) the network for a named style. */
  async net(name: string): Promise<TransformerNet> {
    const style = findStyle(name);
    if (!style) {
      throw new T.UsageError(
        `unknown style '${name}': choose one of ${NAMED_STYLES.map((s) => s.name).join(', ')}, or give a style image path`,
      );
    }
    let net = this.#nets.get(style.name);
    if (!net) {
      net = this.#source.load(style).then(({ name: file, bytes }) => TransformerNet.fromOnnx(parseOnnx(file, bytes)));
      this.#nets.set(style.name, net);
      net.catch(() => this.#nets.delete(style.name));
    }
    return net;
  }

  /** Load (once) Magenta's prediction and transfer networks for arbitrary style. */
  async arbitraryNets(weights: ArbitraryWeights = DEFAULT_ARBITRARY_WEIGHTS): Promise<ArbitraryStyleNets> {
    const spec = ARBITRARY_STYLE_MODELS[weights];
    if (!spec) {
      throw new T.UsageError(`arbitrary style weights '${weights}' are unknown: use ${ARBITRARY_WEIGHTS.join(' or ')}`);
    }
    const source = this.#source;
    if (!source.loadFile) {
      throw new T.UsageError(
        `arbitrary style needs the Magenta model files (${spec.model}), but this model source has no loadFile(model, file); add one`,
      );
    }
    let nets = this.#magenta.get(weights);
    if (!nets) {
      nets = (async () => {
        const [prediction, transfer] = await Promise.all([
          source.loadFile!(spec.model, spec.prediction),
          source.loadFile!(spec.model, spec.transfer),
        ]);
        const predictor = StylePredictor.fromTflite(parseTflite(prediction.name, prediction.bytes));
        try {
          return { predictor, transformer: StyleTransformer.fromTflite(parseTflite(transfer.name, transfer.bytes)) };
        } catch (err) {
          predictor.dispose();
          throw err;
        }
      })();
      this.#magenta.set(weights, nets);
      nets.catch(() => this.#magenta.delete(weights));
    }
    return nets;
  }

  /**
   * The 100-d style vector of an image: its central square scaled to styleSize² (default 256), through the
   * prediction network. Cached by image content and size.
   */
  async styleVector(
    image: RgbaImage,
    styleSize: number = STYLE_IMAGE_SIZE,
    weights: ArbitraryWeights = DEFAULT_ARBITRARY_WEIGHTS,
  ): Promise<Float32Array> {
    checkStyleSize(styleSize);
    const key = `${ARBITRARY_STYLE_MODELS[weights]?.prediction}:${styleSize}:${imageKey(image)}`;
    const cached = this.#styleVectors.get(key);
    if (cached) return cached.slice();
    const { predictor } = await this.arbitraryNets(weights);
    const v = T.tidy(() => predictor.forward(T.mul(centerSquare(imageToTensor(image), styleSize), 1 / 255)));
    let values: Float32Array;
    try {
      values = Float32Array.from(await v.data());
    } finally {
      v.dispose();
    }
    this.#styleVectors.set(key, values);
    if (this.#styleVectors.size > STYLE_VECTOR_CACHE_SIZE) {
      this.#styleVectors.delete(this.#styleVectors.keys().next().value as string);
    }
    return values.slice();
  }

  async transfer(
    content: RgbaImage,
    style: StyleChoice,
    options: TransferOptions = {},
    onProgress: ProgressListener = () => {},
  ): Promise<TransferResult> {
    const size = options.size ?? DEFAULT_SIZE;
    if (!Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE) {
      throw new T.UsageError(
        `size ${size} is out of range: use an integer from ${MIN_SIZE} to ${MAX_SIZE} (pixels, long side)`,
      );
    }
    const out = outputSize(content, size);
    const times: Record<Stage, number> = {
      'load-model': 0,
      preprocess: 0,
      'predict-style': 0,
      stylize: 0,
      postprocess: 0,
    };
    const timed = async <R>(stage: Stage, fn: () => Promise<R> | R): Promise<R> => {
      onProgress(stage, 'start');
      const start = performance.now();
      const result = await fn();
      times[stage] = performance.now() - start;
      onProgress(stage, 'done');
      return result;
    };

    if (style.kind === 'image' || style.kind === 'blend') {
      return this.#arbitrary(content, style, options, out, times, timed);
    }
    if (style.kind !== 'named') {
      throw new T.UsageError(
        `style kind '${(style as { kind: unknown }).kind}' is unknown: use 'named', 'image' or 'blend'`,
      );
    }

    const net = await timed('load-model', () => this.net(style.name));
    const input = await timed('preprocess', () =>
      T.tidy(() => resizeImage(imageToTensor(content), out.height, out.width)),
    );
    let values: ArrayLike<number>;
    try {
      values = await timed('stylize', async () => {
        const y = T.tidy(() => {
          const raw = net.forward(input);
          // The network pads odd sizes up to a multiple of 4: crop back to the input.
          return raw.shape[2] === out.height && raw.shape[3] === out.width
            ? raw
            : T.contiguous(T.slice(raw, [null, null, { end: out.height }, { end: out.width }]));
        });
        try {
          // Reading back belongs to this stage: asynchronous backends finish here.
          return await y.data();
        } finally {
          y.dispose();
        }
      });
    } finally {
      input.dispose();
    }
    const image = await timed('postprocess', async () =>
      planesToImage(values, out.height, out.width, await resizedAlpha(content, out.height, out.width)),
    );
    return {
      image,
      backend: T.getBackendName(),
      style: style.name,
      input: { width: content.width, height: content.height },
      output: out,
      times,
    };
  }

  async #arbitrary(
    content: RgbaImage,
    style: Exclude<StyleChoice, { kind: 'named' }>,
    options: TransferOptions,
    out: { width: number; height: number },
    times: Record<Stage, number>,
    timed: <R>(stage: Stage, fn: () => Promise<R> | R) => Promise<R>,
  ): Promise<TransferResult> {
    const strength = options.strength ?? 1;
    if (typeof strength !== 'number' || !(strength >= 0 && strength <= 1)) {
      throw new T.UsageError(
        `strength ${strength} is out of range: use a number from 0 to 1 (1 = the style image's style)`,
      );
    }
    const styleSize = options.styleSize ?? STYLE_IMAGE_SIZE;
    checkStyleSize(styleSize);
    const weights = options.arbitraryWeights ?? DEFAULT_ARBITRARY_WEIGHTS;
    const blend = style.kind === 'image' ? [{ image: style.image, weight: 1, name: style.name }] : style.images;
    checkBlend(blend);
    const label = blend.map((b, i) => b.name ?? (blend.length === 1 ? 'image' : `image${i + 1}`)).join('+');

    const { transformer } = await timed('load-model', () => this.arbitraryNets(weights));
    const input = await timed('preprocess', () =>
      T.tidy(() => T.mul(resizeImage(imageToTensor(content), out.height, out.width), 1 / 255)),
    );
    let values: ArrayLike<number>;
    try {
      const vector = await timed('predict-style', async () => {
        const total = blend.reduce((a, b) => a + b.weight, 0);
        const mixed = new Float32Array(STYLE_VECTOR_SIZE);
        for (const { image, weight } of blend) {
          if (weight === 0) continue;
          const v = await this.styleVector(image, styleSize, weights);
          for (let i = 0; i < mixed.length; i++) mixed[i] += (weight / total) * v[i];
        }
        if (strength < 1) {
          const own = await this.styleVector(content, styleSize, weights);
          for (let i = 0; i < mixed.length; i++) mixed[i] = strength * mixed[i] + (1 - strength) * own[i];
        }
        return mixed;
      });
      values = await timed('stylize', async () => {
        const y = T.tidy(() => {
          const raw = transformer.forward(input, T.tensor(vector, [1, STYLE_VECTOR_SIZE]));
          // The network pads sizes up to a multiple of 4: crop back to the input.
          const cropped =
            raw.shape[2] === out.height && raw.shape[3] === out.width
              ? raw
              : T.slice(raw, [null, null, { end: out.height }, { end: out.width }]);
          return T.mul(cropped, 255);
        });
        try {
          return await y.data();
        } finally {
          y.dispose();
        }
      });
    } finally {
      input.dispose();
    }
    const image = await timed('postprocess', async () =>
      planesToImage(values, out.height, out.width, await resizedAlpha(content, out.height, out.width)),
    );
    return {
      image,
      backend: T.getBackendName(),
      style: label,
      input: { width: content.width, height: content.height },
      output: out,
      times,
    };
  }

  /** Frees every loaded network; resolves once they are released (networks still loading are freed when they arrive). */
  async dispose(): Promise<void> {
    const pending = [
      ...[...this.#nets.values()].map((net) => net.then((n) => n.dispose())),
      ...[...this.#magenta.values()].map((nets) =>
        nets.then((n) => {
          n.predictor.dispose();
          n.transformer.dispose();
        }),
      ),
    ];
    this.#nets.clear();
    this.#magenta.clear();
    this.#styleVectors.clear();
    // A network that failed to load holds nothing to free.
    await Promise.allSettled(pending);
  }
}

/** The output size for a content image at `size` (long side); a UsageError when the networks cannot take it. */
function outputSize(content: RgbaImage, size: number): { width: number; height: number } {
  const out = fitSize(content.width, content.height, size);
  if (Math.min(out.width, out.height) >= MIN_NETWORK_SIDE) return out;
  let needed = size;
  while (
    needed <= MAX_SIZE &&
    Math.min(...Object.values(fitSize(content.width, content.height, needed))) < MIN_NETWORK_SIDE
  )
    needed++;
  throw new T.UsageError(
    `the content image is ${content.width}×${content.height}: at size ${size} (long side) it would be ` +
      `${out.width}×${out.height} pixels, and the style networks need at least ${MIN_NETWORK_SIDE}×${MIN_NETWORK_SIDE}; ` +
      (needed <= MAX_SIZE
        ? `use a size of ${needed} or more`
        : `crop it: even at the largest size, ${MAX_SIZE}, its short side stays under ${MIN_NETWORK_SIDE} pixels`),
  );
}

function checkStyleSize(styleSize: number): void {
  if (!Number.isInteger(styleSize) || styleSize < MIN_STYLE_SIZE || styleSize > MAX_STYLE_SIZE) {
    throw new T.UsageError(
      `style size ${styleSize} is out of range: use an integer from ${MIN_STYLE_SIZE} to ${MAX_STYLE_SIZE} ` +
        `(pixels; ${STYLE_IMAGE_SIZE} is what the network was trained with)`,
    );
  }
}

function checkBlend(blend: readonly WeightedStyleImage[]): void {
  if (blend.length === 0) throw new T.UsageError('a style blend needs at least one style image');
  for (const [i, b] of blend.entries()) {
    if (typeof b.weight !== 'number' || !Number.isFinite(b.weight) || b.weight < 0) {
      throw new T.UsageError(
        `style image ${i + 1}${b.name ? ` (${b.name})` : ''} has weight ${b.weight}: weights must be finite and ≥ 0`,
      );
    }
  }
  if (!blend.some((b) => b.weight > 0)) {
    throw new T.UsageError('every style image has weight 0: give at least one a positive weight');
  }
}

/**
 * A content key for an image: its size and two 32-bit FNV-1a-style hashes of its bytes (64 bits between
 * them), so a caller that reuses one buffer for a new picture never gets a stale style vector.
 */
function imageKey({ width, height, data }: RgbaImage): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ data.length;
  for (let i = 0; i < data.length; i++) {
    a = Math.imul(a ^ data[i], 0x01000193);
    b = Math.imul(b ^ data[i], 0x5bd1e995) ^ (b >>> 15);
  }
  return `${width}x${height}:${(a >>> 0).toString(16)}${(b >>> 0).toString(16)}`;
}
