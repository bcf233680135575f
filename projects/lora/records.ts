/**
 * mlx-lm's data formats: a jsonl file of records, each turned into token ids as mlx-lm's tuner/datasets.py
 * does. The format is detected from the first record:
 *
 * - completions `{"prompt", "completion"}`: the chat template of [user: prompt, assistant: completion];
 * - chat `{"messages": [...]}`: the chat template of the messages;
 * - text `{"text"}`: the tokenizer's encoding (BOS added), EOS appended when missing.
 *
 * Chat templates write their own BOS, so rendered text is encoded without special tokens (as transformers'
 * apply_chat_template tokenizes). Errors name the file and the line.
 * @module
 */
import { UsageError } from '../../core/errors.js';
import type { ChatMessage, ChatTemplate } from '../../core/text/chat-template.js';
import type { Tokenizer } from '../../core/text/tokenizer.js';

export type RecordFormat = 'completions' | 'chat' | 'text';

/** One parsed line of a jsonl file, with its 1-based line number. */
export interface JsonlRecord {
  readonly line: number;
  readonly value: Record<string, unknown>;
}

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
export function recordFormat(file: string, first: JsonlRecord): RecordFormat {
  const v = first.value;
  if ('prompt' in v && 'completion' in v) return 'completions';
  if ('messages' in v) return 'chat';
  if ('text' in v) return 'text';
  throw new UsageError(
    `${file}:${first.line}: a record needs "text", "prompt" and "completion", or "messages" ` +
      `(mlx-lm's data formats); found keys ${Object.keys(v).join(', ') || 'none'}`,
  );
}

function text(file: string, r: JsonlRecord, key: string): string {
  const v = r.value[key];
  if (typeof v !== 'string') throw new UsageError(`${file}:${r.line}: "${key}" must be a string`);
  return v;
}

function messages(file: string, r: JsonlRecord): ChatMessage[] {
  const v = r.value.messages;
  if (!Array.isArray(v) || v.length === 0) {
    throw new UsageError(`${file}:${r.line}: "messages" must be a non-empty list of {role, content}`);
  }
  return v.map((m, i) => {
    if (typeof m !== 'object' || m === null || typeof m.role !== 'string' || typeof m.content !== 'string') {
      throw new UsageError(`${file}:${r.line}: messages[${i}] must be {"role": string, "content": string}`);
    }
    return { role: m.role, content: m.content };
  });
}

/** The token ids of one record in `format`. */
export function recordTokens(
  file: string,
  r: JsonlRecord,
  format: RecordFormat,
  tokenizer: Tokenizer,
  chatTemplate: ChatTemplate | null,
): number[] {
  if (format === 'text') {
    const ids = tokenizer.encode(text(file, r, 'text'));
    const eos = tokenizer.eosIds[0];
    if (eos !== undefined && ids[ids.length - 1] !== eos) ids.push(eos);
    return ids;
  }
  if (!chatTemplate) {
    throw new UsageError(
      `${file}: ${format} records are rendered with the tokenizer's chat template, and this model has none; ` +
        'use {"text": ...} records',
    );
  }
  const chat: ChatMessage[] =
    format === 'chat'
      ? messages(file, r)
      : [
          { role: 'user', content: text(file, r, 'prompt') },
          { role: 'assistant', content: text(file, r, 'completion') },
        ];
  return tokenizer.encode(chatTemplate.render(chat, { addGenerationPrompt: false }), { addSpecialTokens: false });
}
