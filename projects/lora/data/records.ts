/**
 * mlx-lm's data formats: a jsonl file of records, each turned into token ids as mlx-lm's tuner/datasets.py
 * does (formats.md §3). The format is detected from the first record:
 *
 * - completions `{"prompt", "completion"}`: the chat template of [user: prompt, assistant: completion]
 *   (with the record's `tools` when it has them);
 * - chat / tools `{"messages": [...], "tools"?: [...]}`: the chat template of the messages;
 * - text `{"text"}`: the tokenizer's encoding (BOS added), EOS appended when missing.
 *
 * The key names can be changed (mlx-lm's `prompt_feature`, `completion_feature`, `chat_feature`,
 * `text_feature`). With `maskPrompt`, each record also gets the offset of the first trained token: the
 * length of the prompt rendered with the generation prompt (completions), or of every message but the last
 * (chat: only the last message is trained). Chat templates write their own BOS, so rendered text is encoded
 * without special tokens (as transformers' apply_chat_template tokenizes). Errors name the file and line.
 * @module
 */
import { UsageError } from '../../../core/errors.js';
import type { ChatMessage, ChatTemplate } from '../../../core/text/chat-template.js';
import type { Tokenizer } from '../../../core/text/tokenizer.js';

export type RecordFormat = 'completions' | 'chat' | 'text';

/** One parsed line of a jsonl file, with its 1-based line number. */
export interface JsonlRecord {
  readonly line: number;
  readonly value: Record<string, unknown>;
}

/** mlx-lm's names of the keys each format reads. */
export interface FeatureKeys {
  readonly prompt: string;
  readonly completion: string;
  readonly chat: string;
  readonly text: string;
}

export const DEFAULT_FEATURES: FeatureKeys = {
  prompt: 'prompt',
  completion: 'completion',
  chat: 'messages',
  text: 'text',
};

/** The non-blank lines of a jsonl text as objects; a bad line is a UsageError naming file and line. */
export function parseJsonl(file: string, text: string): JsonlRecord[] {
  const records: JsonlRecord[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new UsageError(`${file}:${i + 1}: not valid JSON: ${(e as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new UsageError(
        `${file}:${i + 1}: each line must be a JSON object, got ${JSON.stringify(value).slice(0, 40)}`,
      );
    }
    records.push({ line: i + 1, value: value as Record<string, unknown> });
  });
  return records;
}

/** mlx-lm's detection order: completions, then chat, then text. */
export function recordFormat(file: string, first: JsonlRecord, keys: FeatureKeys = DEFAULT_FEATURES): RecordFormat {
  const v = first.value;
  if (keys.prompt in v && keys.completion in v) return 'completions';
  if (keys.chat in v) return 'chat';
  if (keys.text in v) return 'text';
  throw new UsageError(
    `${file}:${first.line}: a record needs "${keys.text}", "${keys.prompt}" and "${keys.completion}", or "${keys.chat}" ` +
      `(mlx-lm's data formats); found keys ${Object.keys(v).join(', ') || 'none'}`,
  );
}

function text(file: string, r: JsonlRecord, key: string): string {
  const v = r.value[key];
  if (v === undefined) throw new UsageError(`${file}:${r.line}: "${key}" is missing (the file's first record has it)`);
  if (typeof v !== 'string') throw new UsageError(`${file}:${r.line}: "${key}" must be a string`);
  return v;
}

/**
 * The messages of a chat record. A message is {role, content}; an assistant message in the tools format may
 * carry `tool_calls` instead of content. Other fields (name, tool_call_id, ...) pass to the template as they are.
 */
function messages(file: string, r: JsonlRecord, key: string): ChatMessage[] {
  const v = r.value[key];
  if (!Array.isArray(v) || v.length === 0) {
    throw new UsageError(`${file}:${r.line}: "${key}" must be a non-empty list of {role, content}`);
  }
  return v.map((m, i) => {
    if (typeof m !== 'object' || m === null || typeof m.role !== 'string') {
      throw new UsageError(`${file}:${r.line}: ${key}[${i}] must be {"role": string, "content": string}`);
    }
    const toolCalls = Array.isArray(m.tool_calls);
    if (typeof m.content !== 'string' && !(toolCalls && (m.content === undefined || m.content === null))) {
      throw new UsageError(
        `${file}:${r.line}: ${key}[${i}] needs "content" as a string (or "tool_calls" for an assistant's tool call)`,
      );
    }
    return m as ChatMessage;
  });
}

function tools(file: string, r: JsonlRecord): unknown[] | undefined {
  const v = r.value.tools;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new UsageError(`${file}:${r.line}: "tools" must be a list of tool definitions`);
  return v;
}

export interface EncodeRecordOptions {
  /** Also compute the offset of the first trained token (chat and completions only). */
  readonly maskPrompt?: boolean;
  readonly keys?: FeatureKeys;
}

/** A record's token ids and the position of the first token the loss counts (0 without prompt masking). */
export interface EncodedRecord {
  readonly ids: number[];
  readonly offset: number;
}

/** The token ids of one record in `format`, with the prompt offset for --mask-prompt. */
export function encodeRecord(
  file: string,
  r: JsonlRecord,
  format: RecordFormat,
  tokenizer: Tokenizer,
  chatTemplate: ChatTemplate | null,
  options: EncodeRecordOptions = {},
): EncodedRecord {
  const keys = options.keys ?? DEFAULT_FEATURES;
  if (format === 'text') {
    if (options.maskPrompt) {
      throw new UsageError(`${file}: --mask-prompt needs chat or completions records; text records have no prompt`);
    }
    const ids = tokenizer.encode(text(file, r, keys.text));
    const eos = tokenizer.eosIds[0];
    if (eos !== undefined && ids[ids.length - 1] !== eos) ids.push(eos);
    return { ids, offset: 0 };
  }
  if (!chatTemplate) {
    throw new UsageError(
      `${file}: ${format} records are rendered with the tokenizer's chat template, and this model has none; ` +
        'use {"text": ...} records',
    );
  }
  const chat: ChatMessage[] =
    format === 'chat'
      ? messages(file, r, keys.chat)
      : [
          { role: 'user', content: text(file, r, keys.prompt) },
          { role: 'assistant', content: text(file, r, keys.completion) },
        ];
  const toolList = tools(file, r);
  const render = (msgs: readonly ChatMessage[], addGenerationPrompt: boolean): number[] => {
    let rendered: string;
    try {
      rendered = chatTemplate.render(msgs, { addGenerationPrompt, extra: toolList ? { tools: toolList } : {} });
    } catch (e) {
      throw new UsageError(`${file}:${r.line}: ${(e as Error).message}`, { cause: e });
    }
    return tokenizer.encode(rendered, { addSpecialTokens: false });
  };
  const ids = render(chat, false);
  if (!options.maskPrompt) return { ids, offset: 0 };
  // Completions: the prompt with the assistant's opening. Chat: everything before the last message.
  const generationPrompt = format === 'completions' || chat[chat.length - 1].role === 'assistant';
  const offset = render(chat.slice(0, -1), generationPrompt).length;
  return { ids, offset };
}

/** The token ids of one record in `format` (no prompt masking): what scoring a file needs. */
export function recordTokens(
  file: string,
  r: JsonlRecord,
  format: RecordFormat,
  tokenizer: Tokenizer,
  chatTemplate: ChatTemplate | null,
): number[] {
  return encodeRecord(file, r, format, tokenizer, chatTemplate).ids;
}
