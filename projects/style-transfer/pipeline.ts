/**
 * The one style-transfer pipeline: the CLI, the browser demo's worker and the tests
 * all call this. Browser-safe: decoding, encoding and reading model files are the
 * caller's (Node: node/image/codec.ts + the model registry; browser: createImageBitmap + fetch).
 *
 * Large images: the content image is scaled so its long side is `size` (default 512,
 * at most MAX_SIZE) — we scale rather than tile, because the networks' instance
 * normalisation uses whole-image statistics and tiles would each get their own look.
 */
import * as T from '../../core/index.js';
import { parseOnnx } from '../../core/io/onnx.js';
import { TransformerNet } from '../../models/fast-style/transformer-net.js';
import { fitSize, imageToTensor, planesToImage, type RgbaImage, resizeImage } from './image-tensor.js';
import { findStyle, NAMED_STYLES, type NamedStyle } from './styles.js';

export const DEFAULT_SIZE = 512;
export const MIN_SIZE = 16;
export const MAX_SIZE = 2048;

/** Where model bytes come from: the registry and EAI_MODELS_DIR in Node, fetch + Cache API in browsers. */
export interface ModelSource {
  load(style: NamedStyle): Promise<{ name: string; bytes: Uint8Array }>;
}

export type StyleChoice =
  | { readonly kind: 'named'; readonly name: string }
  | { readonly kind: 'image'; readonly image: RgbaImage };

export interface TransferOptions {
  /** Long side of the output in pixels. */
  readonly size?: number;
  /** 0..1: how much of the style image's style to apply (arbitrary style only). */
  readonly strength?: number;
}

export type Stage = 'load-model' | 'preprocess' | 'stylize' | 'postprocess';

export interface TransferResult {
  readonly image: RgbaImage;
  readonly backend: string;
  readonly style: string;
  readonly input: { readonly width: number; readonly height: number };
  readonly output: { readonly width: number; readonly height: number };
  /** Milliseconds per stage. */
  readonly times: Readonly<Record<Stage, number>>;
}

export type ProgressListener = (stage: Stage, state: 'start' | 'done') => void;

export class StyleTransferPipeline {
  readonly #source: ModelSource;
  readonly #nets = new Map<string, Promise<TransformerNet>>();

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
    if (style.kind === 'image') {
      throw new T.UsageError(
        'arbitrary style from an image needs the Magenta networks, which this build does not run yet; pick a named style (style-transfer:styles)',
      );
    }
    const times: Record<Stage, number> = { 'load-model': 0, preprocess: 0, stylize: 0, postprocess: 0 };
    const timed = async <R>(stage: Stage, fn: () => Promise<R> | R): Promise<R> => {
      onProgress(stage, 'start');
      const start = performance.now();
      const result = await fn();
      times[stage] = performance.now() - start;
      onProgress(stage, 'done');
      return result;
    };

    const net = await timed('load-model', () => this.net(style.name));
    const out = fitSize(content.width, content.height, size);
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
    const image = await timed('postprocess', () => planesToImage(values, out.height, out.width));
    return {
      image,
      backend: T.getBackendName(),
      style: style.name,
      input: { width: content.width, height: content.height },
      output: out,
      times,
    };
  }

  dispose(): void {
    for (const net of this.#nets.values()) net.then((n) => n.dispose()).catch(() => {});
    this.#nets.clear();
  }
}
