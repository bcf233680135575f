/**
 * Reading configuration files: format by extension, parse errors as `file:line:col: problem`.
 * @module
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { parseDocument } from 'yaml';
import { UsageError } from '../core/errors.js';

/** A bad configuration: the message names the file or variable, the key path and the problem. */
export class ConfigError extends UsageError {
  override name = 'ConfigError';
  constructor(
    message: string,
    /** Every problem found, one line each (the message holds them all). */
    readonly problems: readonly string[] = [message],
  ) {
    super(message);
  }
}

/** Supported file formats. */
export type ConfigFormat = 'yaml' | 'toml' | 'json';

/** A parsed table of settings. */
export type ConfigTable = Record<string, unknown>;
type Obj = ConfigTable;

/** The format for `file` by its extension. @throws ConfigError for other extensions. */
export function configFormatOf(file: string): ConfigFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.toml') return 'toml';
  if (ext === '.json') return 'json';
  throw new ConfigError(`${file}: unknown config format "${ext || '(no extension)'}"; use .yaml, .yml, .toml or .json`);
}

/** A table of settings as parsers produce it (plain object, possibly null-prototype). */
export function isPlainObject(v: unknown): v is Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** What kind of value `v` is, in words for messages ("a list", "a string", …). */
export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (isPlainObject(v)) return 'a table';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number' || typeof v === 'bigint') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  return typeof v;
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, col: offset - start + 1 };
}

/** Locate the first JSON syntax error, since V8's messages often omit the position. */
function jsonSyntaxError(text: string): { offset: number; message: string } {
  let i = 0;
  const fail = (message: string): never => {
    throw { offset: i, message };
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const unexpected = (): never =>
    fail(i >= text.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(text[i])}`);
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a "quoted" key');
        str();
        ws();
        if (text[i] !== ':') fail("expected ':' after the key");
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(`expected ',' or '}'${i >= text.length ? ' before the end of input' : ''}`);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(`expected ',' or ']'${i >= text.length ? ' before the end of input' : ''}`);
      }
    }
    if (c === '"') {
      str();
      return;
    }
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (m) {
      i += m[0].length;
      return;
    }
    unexpected();
  };
  const str = (): void => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail('control character in a string (use \\n, \\t)');
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail('bad \\u escape');
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? '')) fail('bad escape');
      }
      i++;
    }
    if (i >= text.length) fail('unterminated string');
    i++;
  };
  try {
    value();
    ws();
    if (i < text.length) unexpected();
  } catch (e) {
    if (e && typeof e === 'object' && 'offset' in e) return e as { offset: number; message: string };
    throw e;
  }
  return { offset: 0, message: 'invalid JSON' };
}

/**
 * Parse config text. `file` is only used in messages.
 * @returns the top-level table (`{}` for an empty document).
 * @throws ConfigError `file:line:col: problem` for syntax errors, or when the top level is not a table.
 */
export function parseConfigText(text: string, format: ConfigFormat, file: string): Obj {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let data: unknown;
  if (format === 'json') {
    try {
      data = src.trim() === '' ? {} : JSON.parse(src);
    } catch {
      const { offset, message } = jsonSyntaxError(src);
      const { line, col } = lineCol(src, offset);
      throw new ConfigError(`${file}:${line}:${col}: ${message}`);
    }
  } else if (format === 'yaml') {
    const doc = parseDocument(src, { uniqueKeys: true });
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0] ?? lineCol(src, err.pos[0]);
      const msg = err.message.split(/ at line \d+, column \d+/)[0];
      throw new ConfigError(`${file}:${pos.line}:${pos.col}: ${msg}`);
    }
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } else {
    try {
      data = parseToml(src);
    } catch (e) {
      const te = e as { line?: number; column?: number; message?: string };
      const msg = (te.message ?? String(e)).split('\n')[0].replace(/^Invalid TOML document: /, '');
      throw new ConfigError(te.line !== undefined ? `${file}:${te.line}:${te.column ?? 1}: ${msg}` : `${file}: ${msg}`);
    }
  }
  if (!isPlainObject(data)) {
    throw new ConfigError(`${file}: the top level must be a table of settings, got ${kindOf(data)}`);
  }
  return data;
}

/** Read and parse a config file, format chosen by extension. @throws ConfigError */
export function readConfigFile(file: string): Obj {
  const format = configFormatOf(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw new ConfigError(`config file not found: ${file}`);
    throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  return parseConfigText(text, format, file);
}
