/** Help text: the overview, one namespace, one command. Plain text, aligned, wrapped to the terminal. */
import { valueHint } from './args.js';
import type { CommandSpec, OptionSpec, ProjectSpec } from './command.js';
import type { Discovery } from './discover.js';
import { GLOBAL_OPTIONS } from './globals.js';

export const BIN = 'efficientai-toolkit';

/** A built-in command as help shows it. */
export interface BuiltinHelp {
  readonly name: string;
  readonly summary: string;
  readonly description?: string;
  readonly usage?: string;
  /** Its own options, besides the global ones. */
  readonly options?: readonly OptionSpec[];
  readonly examples?: readonly string[];
}

export interface HelpStyle {
  /** Columns to wrap at. */
  readonly width: number;
}

const DEFAULT_STYLE: HelpStyle = { width: 100 };

/** Word-wrap `text` so that `indent + line` fits `width`; keeps blank-line paragraphs. */
export function wrap(text: string, width: number, indent: number, firstIndent = indent): string {
  const room = Math.max(20, width - indent);
  const out: string[] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    const lines: string[] = [];
    let line = '';
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      if (line.length > 0 && line.length + 1 + word.length > room) {
        lines.push(line);
        line = word;
      } else {
        line = line.length > 0 ? `${line} ${word}` : word;
      }
    }
    if (line.length > 0) lines.push(line);
    out.push(lines.map((l) => ' '.repeat(indent) + l).join('\n'));
  }
  const joined = out.join('\n\n');
  return ' '.repeat(firstIndent) + joined.slice(indent);
}

/** Two columns: left cells padded to a common width (capped), right cells wrapped beside them. */
function table(rows: readonly (readonly [string, string])[], style: HelpStyle, indent = 2): string {
  const cap = 34;
  const leftWidth = Math.min(cap, Math.max(0, ...rows.map(([l]) => l.length)));
  const rightIndent = indent + leftWidth + 2;
  return rows
    .map(([left, right]) => {
      const head = ' '.repeat(indent) + left;
      if (right.length === 0) return head;
      if (left.length > leftWidth) return `${head}\n${wrap(right, style.width, rightIndent)}`;
      return head.padEnd(rightIndent) + wrap(right, style.width, rightIndent, 0);
    })
    .join('\n');
}

/** A flag that is on by default shows its `--no-` form; other flags are plain `--name`. */
function optionLeft(o: OptionSpec): string {
  if (o.type === 'boolean') return o.default === true ? `--[no-]${o.name}` : `--${o.name}`;
  return `--${o.name} <${valueHint(o)}>`;
}

function optionRight(o: OptionSpec): string {
  const notes: string[] = [];
  if (o.type !== 'enum' && o.type !== 'boolean' && o.valueName === undefined) notes.push(o.type);
  if (o.required) notes.push('required');
  if (o.default !== undefined && !(o.type === 'boolean' && o.default === false))
    notes.push(`default: ${String(o.default)}`);
  if (o.repeatable) notes.push('repeatable');
  return `${o.description}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
}

export function formatOptions(options: readonly OptionSpec[], style: HelpStyle = DEFAULT_STYLE): string {
  return table(
    options.map((o) => [optionLeft(o), optionRight(o)] as const),
    style,
  );
}

function namesOf(p: ProjectSpec): string {
  return p.aliases.length > 0 ? `${p.namespace} (alias: ${p.aliases.join(', ')})` : p.namespace;
}

function commandRows(p: ProjectSpec): [string, string][] {
  if (p.commands.length === 0) return [['(no commands yet)', '']];
  return p.commands.map((c) => [`${p.namespace}:${c.name}`, c.summary]);
}

export function formatOverview(
  discovery: Discovery,
  builtins: readonly BuiltinHelp[],
  version: string,
  style: HelpStyle = DEFAULT_STYLE,
): string {
  const parts: string[] = [
    `${BIN} ${version}: a portable ML runtime for LoRA fine-tuning, model compression and style transfer`,
    `Usage:\n  ${BIN} <namespace>:<command> [options]\n  ${BIN} <${builtins.map((b) => b.name).join('|')}> [options]`,
  ];
  const ns: string[] = [];
  for (const p of discovery.projects) {
    ns.push(`  ${namesOf(p)}\n${wrap(p.summary, style.width, 4)}\n${table(commandRows(p), style, 4)}`);
  }
  parts.push(`Namespaces:\n${ns.length > 0 ? ns.join('\n\n') : '  (none found)'}`);
  parts.push(
    `Built-in commands:\n${table(
      builtins.map((b) => [b.name, b.summary] as const),
      style,
    )}`,
  );
  parts.push(`Global options:\n${formatOptions(GLOBAL_OPTIONS, style)}`);
  parts.push(
    `Run '${BIN} <namespace>:<command> --help' for a command's options, '${BIN} <namespace> --help' for a namespace.`,
  );
  return `${parts.join('\n\n')}\n`;
}

export function formatNamespace(p: ProjectSpec, style: HelpStyle = DEFAULT_STYLE): string {
  const parts = [
    `${namesOf(p)}: ${p.summary}`,
    `Usage:\n  ${BIN} ${p.namespace}:<command> [options]`,
    p.commands.length === 0
      ? `Commands:\n  no commands yet: the ${p.namespace} workflow has none implemented in this version.`
      : `Commands:\n${table(commandRows(p), style)}`,
  ];
  if (p.commands.length > 0) parts.push(`Run '${BIN} ${p.namespace}:<command> --help' for a command's options.`);
  return `${parts.join('\n\n')}\n`;
}

function commandText(
  title: string,
  usage: string,
  summary: string,
  description: string | undefined,
  options: readonly OptionSpec[],
  examples: readonly string[] | undefined,
  style: HelpStyle,
): string {
  const parts = [`Usage:\n  ${usage}`, wrap(`${title}: ${summary}`, style.width, 0)];
  if (description) parts.push(wrap(description, style.width, 0));
  parts.push(
    options.length > 0 ? `Options:\n${formatOptions(options, style)}` : 'Options:\n  (none besides the global options)',
  );
  parts.push(`Global options:\n${formatOptions(GLOBAL_OPTIONS, style)}`);
  if (examples && examples.length > 0) parts.push(`Examples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
  return `${parts.join('\n\n')}\n`;
}

export function formatCommand(p: ProjectSpec, c: CommandSpec, style: HelpStyle = DEFAULT_STYLE): string {
  const id = `${p.namespace}:${c.name}`;
  const required = c.options
    .filter((o) => o.required && o.name !== c.positional)
    .map((o) => ` --${o.name} <${valueHint(o)}>`)
    .join('');
  const words = c.options.find((o) => o.name === c.positional);
  const positional = words ? (words.required ? ` <${valueHint(words)}…>` : ` [${valueHint(words)}…]`) : '';
  const usage = `${BIN} ${id}${positional}${required} [options]`;
  return commandText(id, usage, c.summary, c.description, c.options, c.examples, style);
}

export function formatBuiltin(b: BuiltinHelp, style: HelpStyle = DEFAULT_STYLE): string {
  return commandText(
    b.name,
    b.usage ?? `${BIN} ${b.name} [options]`,
    b.summary,
    b.description,
    b.options ?? [],
    b.examples,
    style,
  );
}
