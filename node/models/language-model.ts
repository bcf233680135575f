/**
 * Loading a language model with its tokenizer from what a user types after `--model`: a registry name
 * (stories260K, stories260K-hf), a Hugging Face folder, or a llama2.c checkpoint (.bin) with its tokenizer
 * found beside it (tokenizer.bin, or tok<vocab>.bin as llama2.c names its small vocabularies) or given.
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { UsageError } from '../../core/errors.js';
import { readLlama2c } from '../../core/io/llama2c.js';
import { type ChatTemplate, chatTemplateFromConfig } from '../../core/text/chat-template.js';
import { HfTokenizer } from '../../core/text/hf-tokenizer.js';
import { Llama2cTokenizer, readLlama2cVocab } from '../../core/text/llama2c-tokenizer.js';
import type { Tokenizer } from '../../core/text/tokenizer.js';
import { generationConfigEos, parseHfConfig } from '../../models/llama/config.js';
import { llamaFromHf, llamaFromLlama2c } from '../../models/llama/load.js';
import type { LlamaModel } from '../../models/llama/model.js';
import { openFileSource } from '../io/file-source.js';
import { defaultModelsDir, type Env } from '../paths.js';
import { didYouMean } from '../suggest.js';
import { resolveModel, resolveModelFile } from './cache.js';
import { openHfWeights, readJsonFile, readOptionalJson } from './hf-folder.js';
import { findModel, listModels } from './registry.js';

export interface LoadedLanguageModel {
  /** What was asked for (a registry name or a path). */
  readonly name: string;
  /** The checkpoint file or model folder it was read from. */
  readonly path: string;
  readonly format: 'llama2c' | 'hf';
  readonly model: LlamaModel;
  readonly tokenizer: Tokenizer;
  /** null when the tokenizer has none (llama2.c models, base models). */
  readonly chatTemplate: ChatTemplate | null;
  dispose(): void;
}

export interface LoadLanguageModelOptions {
  /** A tokenizer file for a llama2.c checkpoint (.bin, or a tokenizer.json); default: found beside it. */
  readonly tokenizer?: string;
  readonly cwd?: string;
  readonly env?: Env;
}

/** Registry entries that are language models (a llama2.c checkpoint, or an HF folder with config.json). */
export function languageModelNames(): string[] {
  return listModels()
    .filter((m) => m.files.some((f) => f.format === 'llama2c' || f.path === 'config.json'))
    .map((m) => m.name);
}

async function readTokenizerFile(path: string, vocabSize: number): Promise<Tokenizer> {
  if (extname(path) === '.json') {
    return new HfTokenizer({ tokenizer: await readJsonFile(path), tokenizerFile: path });
  }
  const source = await openFileSource(path);
  try {
    return new Llama2cTokenizer(await readLlama2cVocab(source, vocabSize), path);
  } finally {
    await source.close?.();
  }
}

/** The tokenizer beside a llama2.c checkpoint: tokenizer.bin (run.c's default), else tok<vocab>.bin. */
function tokenizerBeside(checkpoint: string, vocabSize: number): string {
  const dir = dirname(checkpoint);
  const candidates = ['tokenizer.bin', `tok${vocabSize}.bin`].map((n) => join(dir, n));
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new UsageError(
      `${checkpoint}: no tokenizer beside it (looked for ${candidates.join(' and ')}); pass --tokenizer FILE ` +
        '(a llama2.c tokenizer .bin or a tokenizer.json)',
    );
  }
  return found;
}

async function loadLlama2cFile(name: string, path: string, tokenizerPath?: string): Promise<LoadedLanguageModel> {
  const source = await openFileSource(path);
  let checkpoint: Awaited<ReturnType<typeof readLlama2c>>;
  try {
    checkpoint = await readLlama2c(source);
  } finally {
    await source.close?.();
  }
  const vocab = checkpoint.header.vocabSize;
  const tokenizer = await readTokenizerFile(tokenizerPath ?? tokenizerBeside(path, vocab), vocab);
  if (tokenizer.vocabSize > vocab) {
    throw new UsageError(
      `${tokenizerPath}: the tokenizer has ${tokenizer.vocabSize} tokens but ${path} has a vocabulary of ${vocab}`,
    );
  }
  const model = await llamaFromLlama2c(path, checkpoint);
  return { name, path, format: 'llama2c', model, tokenizer, chatTemplate: null, dispose: () => model.dispose() };
}

async function loadHfFolder(name: string, dir: string): Promise<LoadedLanguageModel> {
  const configPath = join(dir, 'config.json');
  const generationPath = join(dir, 'generation_config.json');
  const generation = await readOptionalJson(generationPath);
  const extraEos = generation === undefined ? [] : generationConfigEos(generation, generationPath);
  const config = parseHfConfig(await readJsonFile(configPath), configPath, extraEos);

  const tokenizerPath = join(dir, 'tokenizer.json');
  if (!existsSync(tokenizerPath)) {
    throw new UsageError(
      `${dir}: no tokenizer.json; this runtime reads Hugging Face fast-tokenizer files (a SentencePiece ` +
        'tokenizer.model alone is not supported: convert it with transformers and save_pretrained)',
    );
  }
  const tokenizerConfigPath = join(dir, 'tokenizer_config.json');
  const tokenizerConfig = (await readOptionalJson(tokenizerConfigPath)) ?? {};
  const tokenizer = new HfTokenizer({
    tokenizer: await readJsonFile(tokenizerPath),
    tokenizerFile: tokenizerPath,
    config: tokenizerConfig,
    configFile: tokenizerConfigPath,
    extraEosIds: config.eosTokenIds,
  });
  const jinjaPath = join(dir, 'chat_template.jinja');
  const chatTemplate = existsSync(jinjaPath)
    ? chatTemplateFromConfig({ chat_template: await readFile(jinjaPath, 'utf8') }, jinjaPath, tokenizer.specialTokens)
    : chatTemplateFromConfig(tokenizerConfig, tokenizerConfigPath, tokenizer.specialTokens);

  const weights = await openHfWeights(dir);
  try {
    const model = await llamaFromHf(config, weights.source, configPath);
    return { name, path: dir, format: 'hf', model, tokenizer, chatTemplate, dispose: () => model.dispose() };
  } finally {
    await weights.close();
  }
}

/**
 * Loads `spec` onto the current backend. A path (file or folder) wins over a registry name of the same
 * spelling. Errors say what was looked for and how to fix it.
 */
export async function loadLanguageModel(
  spec: string,
  options: LoadLanguageModelOptions = {},
): Promise<LoadedLanguageModel> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const tokenizer = options.tokenizer === undefined ? undefined : resolve(cwd, options.tokenizer);
  const path = resolve(cwd, spec);
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) {
      if (tokenizer) throw new UsageError('--tokenizer applies to llama2.c checkpoints; a model folder has its own');
      return loadHfFolder(spec, path);
    }
    if (['config.json', 'model.safetensors'].some((n) => path.endsWith(`/${n}`)))
      return loadHfFolder(spec, dirname(path));
    return loadLlama2cFile(spec, path, tokenizer);
  }
  const entry = findModel(spec);
  if (!entry || !languageModelNames().includes(entry.name)) {
    throw new UsageError(
      `--model ${spec}: no such file or folder, and not a language model in the registry ` +
        `(${languageModelNames().join(', ')})${didYouMean(spec, languageModelNames())}. Give a registry name, ` +
        'a Hugging Face model folder, or a llama2.c checkpoint (.bin)',
    );
  }
  const where = { env, modelsDir: defaultModelsDir(env) ?? null };
  const checkpoint = entry.files.find((f) => f.format === 'llama2c');
  if (checkpoint) {
    const file = resolveModelFile(entry.name, checkpoint.path, where).path;
    const tok = entry.files.find((f) => f.format === 'llama2c-tokenizer');
    const tokPath = tokenizer ?? (tok ? resolveModelFile(entry.name, tok.path, where).path : undefined);
    return loadLlama2cFile(spec, file, tokPath);
  }
  const { files } = resolveModel(entry.name, where);
  return loadHfFolder(spec, dirname(files.find((f) => f.file.path === 'config.json')!.path));
}

/**
 * The Hugging Face model folder `spec` names: a folder path, or a registry entry stored as one. A llama2.c
 * checkpoint is refused with what to use instead (`what` names the command's need in the message).
 */
export function hfModelFolder(spec: string, options: { cwd?: string; env?: Env } = {}, what = 'this command'): string {
  const env = options.env ?? process.env;
  const path = resolve(options.cwd ?? process.cwd(), spec);
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) {
      if (!existsSync(join(path, 'config.json'))) {
        throw new UsageError(`--model ${spec}: ${path} has no config.json; ${what} needs a Hugging Face model folder`);
      }
      return path;
    }
    if (path.endsWith('/config.json')) return dirname(path);
    throw new UsageError(
      `--model ${spec}: a file; ${what} needs a Hugging Face model folder (config.json + model.safetensors)` +
        (extname(path) === '.bin'
          ? ', and a llama2.c checkpoint has its folder form in the registry (stories260K-hf)'
          : ''),
    );
  }
  const entry = findModel(spec);
  const config = entry?.files.find((f) => f.path === 'config.json');
  if (entry && !config && languageModelNames().includes(entry.name)) {
    throw new UsageError(
      `--model ${spec}: a llama2.c checkpoint; ${what} needs a Hugging Face model folder (stories260K-hf holds stories260K as one)`,
    );
  }
  if (!entry || !config) {
    const folders = listModels()
      .filter((m) => m.files.some((f) => f.path === 'config.json') && languageModelNames().includes(m.name))
      .map((m) => m.name);
    throw new UsageError(
      `--model ${spec}: no such folder, and not a Hugging Face language model in the registry (${folders.join(', ')})` +
        `${didYouMean(spec, folders)}`,
    );
  }
  const { files } = resolveModel(entry.name, { env, modelsDir: defaultModelsDir(env) ?? null });
  return dirname(files.find((f) => f.file.path === 'config.json')!.path);
}
