/**
 * Chat templates: the Jinja template a Hugging Face tokenizer_config.json carries (`chat_template`), rendered
 * with @huggingface/jinja as transformers' `apply_chat_template` renders it: the messages, the special tokens
 * (`bos_token`, `eos_token`, ...) and `add_generation_prompt`. The Jinja runtime supplies `raise_exception`
 * (a template rejecting a conversation) and `strftime_now`.
 * @module
 */
import { Template } from '@huggingface/jinja';
import { TokenizerError } from './tokenizer.js';

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant' | (string & {});
  readonly content: string;
}

export interface ChatTemplateOptions {
  /** End with the assistant's turn opening, so the model writes the reply. Default true. */
  readonly addGenerationPrompt?: boolean;
  /** Extra variables some templates read (`tools`, `enable_thinking`, ...). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

export class ChatTemplate {
  readonly #template: Template;

  /** `source` is the Jinja text; `file` names where it came from in errors. */
  constructor(
    readonly source: string,
    readonly file: string,
    private readonly specialTokens: Readonly<Record<string, string>>,
  ) {
    try {
      this.#template = new Template(source);
    } catch (e) {
      throw new TokenizerError(
        `${file}: chat_template does not parse as Jinja: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
  }

  /** The prompt text for `messages` (it starts with BOS when the template writes one: encode it without special tokens). */
  render(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    try {
      return this.#template.render({
        ...options.extra,
        ...this.specialTokens,
        messages,
        add_generation_prompt: options.addGenerationPrompt ?? true,
      });
    } catch (e) {
      throw new TokenizerError(
        `${this.file}: rendering chat_template failed: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
  }
}

/**
 * The chat template in a parsed tokenizer_config.json, or null when it has none. `chat_template` may be a
 * string or a list of `{name, template}` (the one named "default" is used).
 */
export function chatTemplateFromConfig(
  config: unknown,
  file: string,
  specialTokens: Readonly<Record<string, string>>,
): ChatTemplate | null {
  if (typeof config !== 'object' || config === null) return null;
  const raw = (config as { chat_template?: unknown }).chat_template;
  if (raw === undefined || raw === null) return null;
  if (typeof raw === 'string') return new ChatTemplate(raw, file, specialTokens);
  if (Array.isArray(raw)) {
    const named = raw.find(
      (t): t is { name: string; template: string } =>
        typeof t === 'object' && t !== null && t.name === 'default' && typeof t.template === 'string',
    );
    if (named) return new ChatTemplate(named.template, file, specialTokens);
    throw new TokenizerError(`${file}: chat_template is a list without a {"name": "default", "template": ...} entry`);
  }
  throw new TokenizerError(`${file}: chat_template must be a string or a list of {name, template}`);
}
