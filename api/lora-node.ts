/**
 * `efficientai-toolkit/lora/node`: language models loaded in Node by registry name, Hugging Face
 * folder or llama2.c file (`loadLanguageModel`), and the OpenAI-compatible server `lora:serve`
 * runs (`startServer`); for fine-tuning, data splits from a folder and adapter folders
 * (adapters.safetensors + adapter_config.json).
 */
export * from '../node/models/language-model.js';
export * from '../projects/lora/data/load.js';
export {
  type CloseOptions,
  type RunningServer,
  SERVE_DEFAULTS,
  type StartOptions as ServerOptions,
  start as startServer,
} from '../projects/lora/serve/server.js';
export * from '../projects/lora/train/adapter-files.js';
