/**
 * The Text page's worker: stories260K (llama2.c checkpoint + tok512 tokenizer) fetched from the
 * demo server, run by the same TextGenerator the CLI and the server use.
 */
import * as Comlink from 'comlink';
import '../../../backends/browser.js';
import { parseLlama2c } from '../../../core/io/llama2c.js';
import { Llama2cTokenizer, parseLlama2cVocab } from '../../../core/text/llama2c-tokenizer.js';
import { TextGenerator } from '../../../models/llama/generate.js';
import { llamaFromLlama2c } from '../../../models/llama/load.js';
import { DemoError } from '../errors.js';
import { modelFileUrl } from '../models.js';
import type { BackendPreference } from '../protocol.js';
import type { TextInitReport, TextReply, TextRequest, TextWorkerApi, TokenListener } from '../text-protocol.js';
import { chooseBackend } from './choose-backend.js';

const MODEL = 'stories260K';

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) {
    throw new DemoError('model-load', `${url}: the server answered ${response.status} ${await response.text()}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

let generator: TextGenerator | null = null;
let running: AbortController | null = null;

const api: TextWorkerApi = {
  async init(backend: BackendPreference, modelBase: string): Promise<TextInitReport> {
    const choice = await chooseBackend(backend);
    const modelUrl = modelFileUrl(modelBase, MODEL, 'stories260K.bin');
    const tokUrl = modelFileUrl(modelBase, MODEL, 'tok512.bin');
    const [modelBytes, tokBytes] = await Promise.all([fetchBytes(modelUrl), fetchBytes(tokUrl)]);
    const checkpoint = parseLlama2c(modelUrl, modelBytes);
    const tokenizer = new Llama2cTokenizer(parseLlama2cVocab(tokUrl, tokBytes, checkpoint.header.vocabSize), tokUrl);
    generator = new TextGenerator(await llamaFromLlama2c(modelUrl, checkpoint), tokenizer);
    return { backend: choice.backend, failed: choice.failed, backends: choice.backends };
  },

  async generate(request: TextRequest, onText: TokenListener): Promise<TextReply> {
    if (!generator) throw new DemoError('backend', 'The text worker is not initialised yet: call init() first');
    running?.abort();
    const controller = new AbortController();
    running = controller;
    const generation = generator.generate(request.prompt, {
      maxTokens: request.maxTokens,
      temperature: request.temperature,
      signal: controller.signal,
    });
    let tokens = 0;
    for await (const chunk of generation) {
      tokens += chunk.tokens.length;
      await onText(chunk.text, tokens);
    }
    const result = await generation.result;
    if (running === controller) running = null;
    return {
      text: result.text,
      tokens: result.tokens.length,
      finishReason: result.finishReason,
      decodeTokensPerSecond: result.stats.decodeTokensPerSecond,
      timeToFirstTokenMs: result.stats.timeToFirstTokenMs,
    };
  },

  cancel(): void {
    running?.abort();
  },
};

Comlink.expose(api);
