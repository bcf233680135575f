/**
 * What the page and the style-transfer worker say to each other (over comlink). Plain data
 * only: everything here crosses postMessage.
 */
import type { FallbackEntry } from '../../core/ledger.js';
import type { Stage } from '../../projects/style-transfer/pipeline.js';

export type { Stage };

/** `auto` follows the plug-ins' ranking: WebGPU on a real adapter > wasm > CPU-emulated WebGPU > js. */
export type BackendPreference = 'auto' | 'webgpu' | 'wasm' | 'js';

export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'webgpu', 'wasm', 'js'];

export interface InitOptions {
  readonly backend: BackendPreference;
  /** Absolute URL of the folder that holds `<registry name>/<file>` model files. */
  readonly modelBase: string;
  /** wasm threads; default one per core when cross-origin isolated, else 1. */
  readonly threads?: number;
}

export interface BackendStatus {
  readonly name: string;
  readonly available: boolean;
  /** Why it is (un)available, from the plug-in's probe. */
  readonly reason: string;
  readonly autoRank: number;
  /** What the probe found (adapter, threads, module), for the Engine panel. */
  readonly details: Readonly<Record<string, string | number | boolean>>;
}

export interface InitReport {
  /** The backend the pipeline runs on. */
  readonly backend: string;
  /** One line for the badge: "wasm · 2 threads". */
  readonly detail: string;
  readonly backends: readonly BackendStatus[];
  /** Backends tried before `backend` that failed to start, with the error. */
  readonly failed: readonly { readonly name: string; readonly error: string }[];
  readonly crossOriginIsolated: boolean;
  /** wasm worker threads when wasm runs, else null. */
  readonly threads: number | null;
  /** Style kinds the pipeline supports ('named', and 'image' once arbitrary style lands). */
  readonly styleKinds: readonly ('named' | 'image')[];
}

export type WorkerEvent =
  | {
      readonly type: 'model';
      /** The named style it serves, or 'image' for the arbitrary-style (Magenta) files. */
      readonly style: string;
      /** The file's URL: a style may need several files, loading at once. */
      readonly url: string;
      /** `cache`: read from the Cache API; `network`: downloading; `parse`: all bytes in, building the network. */
      readonly phase: 'cache' | 'network' | 'parse';
      readonly loaded: number;
      /** Total bytes, when the server said (Content-Length). */
      readonly total: number | null;
    }
  | { readonly type: 'stage'; readonly stage: Stage; readonly state: 'start' | 'done' };

export type WorkerListener = (event: WorkerEvent) => void;

export interface ContentInfo {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly bytes: number;
}

/** A named style, or arbitrary style from the image given with setStyleImage. */
export type StyleRequest = { readonly kind: 'named'; readonly name: string } | { readonly kind: 'image' };

export interface TransferRequest {
  readonly style: StyleRequest;
  /** Long side of the output. */
  readonly size: number;
  /** 0..1, arbitrary style only. */
  readonly strength?: number;
}

export interface TransferReply {
  readonly width: number;
  readonly height: number;
  /** RGBA, transferred (not copied) to the page. */
  readonly pixels: Uint8ClampedArray<ArrayBuffer>;
  readonly backend: string;
  readonly style: string;
  /** Milliseconds: the pipeline's stages plus `decode` (the worker's image decoding for this size). */
  readonly times: Readonly<Record<Stage | 'decode', number>>;
  /** The fallback ledger of this run: op runs that did not execute on the backend's own kernel. */
  readonly fallbacks: readonly FallbackEntry[];
}

/** The worker's API, as the page sees it through comlink. */
export interface StyleWorkerApi {
  init(options: InitOptions, listener: WorkerListener): Promise<InitReport>;
  /** Decode and keep the content image; throws a DemoError (unsupported file, too large). */
  setContent(file: Blob, name: string): Promise<ContentInfo>;
  /** Decode and keep the style image (arbitrary style). */
  setStyleImage(file: Blob, name: string): Promise<ContentInfo>;
  /** Start loading a style's network(s) ('image': the arbitrary-style ones) so a transfer does not wait for them. */
  preload(style: string): Promise<void>;
  transfer(request: TransferRequest): Promise<TransferReply>;
}
