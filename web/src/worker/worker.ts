/**
 * The style-transfer worker: everything slow happens here (decoding, loading models, the
 * network itself), so the page stays responsive. It runs the one StyleTransferPipeline the
 * CLI and the tests use; this file only adapts it to the browser (decoding, model bytes,
 * backend choice) and to the page (events, transferable pixels).
 */
import * as Comlink from 'comlink';
import { configureBrowserWasm } from '../../../backends/browser.js';
import * as T from '../../../index.js';
import { type StyleChoice, StyleTransferPipeline } from '../../../projects/style-transfer/pipeline.js';
import { DemoError } from '../errors.js';
import type {
  BackendStatus,
  ContentInfo,
  InitOptions,
  InitReport,
  Stage,
  StyleWorkerApi,
  TransferReply,
  TransferRequest,
  WorkerListener,
} from '../protocol.js';
import { chooseBackend } from './choose-backend.js';
import { type Decoded, decodeFile, pixelsFor } from './decode.js';
import { type BrowserModelSource, browserModelSource } from './model-source.js';

/** What the style-prediction network takes (the pipeline cuts the central square and scales it to this). */
const STYLE_IMAGE_SIZE = 256;

/**
 * Style kinds the pipeline runs: arbitrary style ({ kind: 'image' }) where the pipeline has the
 * Magenta networks. Without them the page keeps the style-image option visible but disabled.
 */
function styleKinds(): ('named' | 'image')[] {
  const proto = StyleTransferPipeline.prototype as { arbitraryNets?: unknown };
  return typeof proto.arbitraryNets === 'function' ? ['named', 'image'] : ['named'];
}

interface State {
  listener: WorkerListener;
  source: BrowserModelSource;
  pipeline: StyleTransferPipeline;
}

type Image = Decoded & { name: string };

let state: State | null = null;
let content: Image | null = null;
let styleImage: Image | null = null;

function ready(): State {
  if (!state) throw new DemoError('backend', 'The worker is not initialised yet: call init() first');
  return state;
}

function describe(backend: string, threads: number | null, status: BackendStatus | undefined): string {
  if (backend === 'wasm') return `WebAssembly SIMD · ${threads ?? 1} thread${threads === 1 ? '' : 's'}`;
  if (backend === 'js') return 'JavaScript reference kernels';
  if (backend === 'webgpu' && status) {
    const d = status.details;
    const known = (v: unknown) => typeof v === 'string' && v !== '' && v !== '(unknown)';
    const name = known(d.description) ? String(d.description) : [d.vendor, d.architecture].filter(known).join(' ');
    return `${name || 'GPU adapter'}${d.emulated === true ? ' (CPU-emulated)' : ''}`;
  }
  return status?.reason ?? backend;
}

/**
 * Load a style's network(s) ('image': Magenta's). Bytes from the Cache API that do not build a
 * network (a truncated or stale entry) are dropped and downloaded again, once.
 */
async function loadNets(s: State, style: string, retried = false): Promise<void> {
  try {
    if (style === 'image') await s.pipeline.arbitraryNets();
    else await s.pipeline.net(style);
  } catch (err) {
    if (err instanceof DemoError) throw err;
    if (!retried && (await s.source.evictCached())) return loadNets(s, style, true);
    throw new DemoError(
      'model-load',
      `The ${style === 'image' ? 'arbitrary-style' : style} model could not be read: ${(err as Error).message}`,
    );
  }
}

async function keep(file: Blob, name: string, previous: Image | null): Promise<[Image, ContentInfo]> {
  const decoded = await decodeFile(file, name);
  previous?.bitmap.close();
  return [
    { ...decoded, name },
    { name, width: decoded.width, height: decoded.height, bytes: file.size },
  ];
}

/** Style images: keep the short side at least 2× what the prediction network takes before pre-shrinking. */
function styleImageSize({ width, height }: Decoded): number {
  return Math.ceil((STYLE_IMAGE_SIZE * Math.max(width, height)) / Math.min(width, height));
}

const api: StyleWorkerApi = {
  async init(options: InitOptions, listener: WorkerListener): Promise<InitReport> {
    if (options.threads !== undefined) configureBrowserWasm({ threads: options.threads });
    const choice = await chooseBackend(options.backend);
    state?.pipeline.dispose();
    const source = browserModelSource(options.modelBase, listener);
    state = { listener, source, pipeline: new StyleTransferPipeline(source) };
    const chosen = choice.backends.find((b) => b.name === choice.backend);
    return {
      backend: choice.backend,
      detail: describe(choice.backend, choice.threads, chosen),
      backends: choice.backends,
      failed: choice.failed,
      crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
      threads: choice.threads,
      styleKinds: styleKinds(),
    };
  },

  async setContent(file: Blob, name: string): Promise<ContentInfo> {
    const [image, info] = await keep(file, name, content);
    content = image;
    return info;
  },

  async setStyleImage(file: Blob, name: string): Promise<ContentInfo> {
    const [image, info] = await keep(file, name, styleImage);
    styleImage = image;
    return info;
  },

  async preload(style: string): Promise<void> {
    await loadNets(ready(), style);
  },

  async transfer(request: TransferRequest): Promise<TransferReply> {
    const s = ready();
    if (!content) throw new DemoError('no-content', 'Choose a photo first: drop it on the page or use Browse.');
    if (request.style.kind === 'image' && !styleImage) {
      throw new DemoError('no-content', 'Choose a style image first.');
    }
    const decodeStart = performance.now();
    const image = pixelsFor(content, request.size);
    const style: StyleChoice =
      request.style.kind === 'named'
        ? request.style
        : { kind: 'image', image: pixelsFor(styleImage!, styleImageSize(styleImage!)), name: styleImage!.name };
    const decodeMs = performance.now() - decodeStart;
    const onProgress = (stage: Stage, st: 'start' | 'done') => s.listener({ type: 'stage', stage, state: st });
    // Loading here, before the pipeline's own (then instant) load-model stage, lets a stale cached
    // copy be replaced; the time is added to that stage below.
    onProgress('load-model', 'start');
    const loadStart = performance.now();
    await loadNets(s, request.style.kind === 'named' ? request.style.name : 'image');
    const loadMs = performance.now() - loadStart;
    const ledgerBefore = T.fallbackLedger();
    const result = await s.pipeline.transfer(
      image,
      style,
      { size: request.size, strength: request.strength },
      onProgress,
    );
    const data = result.image.data;
    const pixels = new Uint8ClampedArray(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    const reply: TransferReply = {
      width: result.output.width,
      height: result.output.height,
      pixels,
      backend: result.backend,
      style: result.style,
      times: { decode: decodeMs, ...result.times, 'load-model': loadMs + result.times['load-model'] },
      fallbacks: T.ledgerDelta(ledgerBefore, T.fallbackLedger()),
    };
    return Comlink.transfer(reply, [pixels.buffer]);
  },
};

Comlink.expose(api);
