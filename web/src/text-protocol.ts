/**
 * What the Text page and the text worker say to each other (over comlink). Plain data only.
 */
import type { BackendPreference, BackendStatus } from './protocol.js';

export interface TextInitReport {
  /** The backend the model runs on. */
  readonly backend: string;
  /** Backends tried before `backend` that failed to start, with the error. */
  readonly failed: readonly { readonly name: string; readonly error: string }[];
  readonly backends: readonly BackendStatus[];
}

export interface TextRequest {
  readonly prompt: string;
  readonly maxTokens: number;
  /** 0 = greedy. */
  readonly temperature: number;
}

export interface TextReply {
  readonly text: string;
  readonly tokens: number;
  readonly finishReason: 'stop' | 'length' | 'abort';
  readonly decodeTokensPerSecond: number;
  readonly timeToFirstTokenMs: number;
}

/** One streamed piece: its text and the tokens generated so far. */
export type TokenListener = (text: string, tokens: number) => void;

export interface TextWorkerApi {
  init(backend: BackendPreference, modelBase: string): Promise<TextInitReport>;
  generate(request: TextRequest, onText: TokenListener): Promise<TextReply>;
  /** Ends the running generation after its current token (the loop yields between tokens). */
  cancel(): void;
}
