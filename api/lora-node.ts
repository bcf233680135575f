/**
 * `efficientai-toolkit/lora/node`: language models loaded in Node by registry name, Hugging Face
 * folder or llama2.c file (`loadLanguageModel`).
 */
export * from '../node/models/language-model.js';
