/**
 * `efficientai-toolkit/lora`: the language-model runtime the lora workflow builds on — the Llama
 * model, its loaders from checkpoint data, tokenizers, chat templates, sampling and streaming
 * generation. Browser-safe: files are read through sources the caller provides (Node:
 * `efficientai-toolkit/lora/node`).
 */
export * from '../core/text/chat-template.js';
export * from '../core/text/hf-tokenizer.js';
export * from '../core/text/llama2c-tokenizer.js';
export * from '../core/text/stream-decoder.js';
export * from '../core/text/tokenizer.js';
export * from '../models/llama/config.js';
export * from '../models/llama/generate.js';
export * from '../models/llama/kv-cache.js';
export * from '../models/llama/load.js';
export * from '../models/llama/model.js';
export * from '../models/llama/perplexity.js';
export * from '../models/llama/sample.js';
