/**
 * `efficientai-toolkit/lora`: the language-model runtime the lora workflow builds on — the Llama
 * model, its loaders from checkpoint data, tokenizers, chat templates, sampling and streaming
 * generation; and fine-tuning — LoRA/DoRA layers, parameter trees, optimizers and schedules, the
 * model's adapters, JSONL datasets and batches, the training configuration, loss and trainer.
 * Browser-safe: files are read through sources the caller provides (Node:
 * `efficientai-toolkit/lora/node`).
 */
export * from '../core/nn/dropout.js';
export * from '../core/nn/lora.js';
export * from '../core/nn/parameters.js';
export * from '../core/optim/optimizers.js';
export * from '../core/optim/schedules.js';
export * from '../core/text/chat-template.js';
export * from '../core/text/hf-tokenizer.js';
export * from '../core/text/llama2c-tokenizer.js';
export * from '../core/text/stream-decoder.js';
export * from '../core/text/tokenizer.js';
export * from '../models/llama/adapters.js';
export * from '../models/llama/config.js';
export * from '../models/llama/generate.js';
export * from '../models/llama/kv-cache.js';
export * from '../models/llama/load.js';
export * from '../models/llama/model.js';
export * from '../models/llama/perplexity.js';
export * from '../models/llama/sample.js';
export * from '../projects/lora/data/batches.js';
export * from '../projects/lora/data/dataset.js';
export * from '../projects/lora/data/records.js';
export * from '../projects/lora/train/config.js';
export * from '../projects/lora/train/loss.js';
export * from '../projects/lora/train/trainer.js';
