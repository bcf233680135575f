/**
 * `efficientai-toolkit/lora/node`: language models loaded in Node by registry name, Hugging Face
 * folder or llama2.c file (`loadLanguageModel`), and the OpenAI-compatible server `lora:serve`
 * runs (`startServer`).
 */
export * from '../node/models/language-model.js';
export {
  type CloseOptions,
  type RunningServer,
  SERVE_DEFAULTS,
  type StartOptions as ServerOptions,
  start as startServer,
} from '../projects/lora/serve/server.js';
