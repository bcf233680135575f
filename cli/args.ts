/**
 * Option parsing against typed specs: `--name value`, `--name=value`, `--no-name`,
 * repeatable options, typed coercion with messages that name the option and the value,
 * did-you-mean for unknown options, and required options enforced after defaults.
 */
import { resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { OptionSpec, OptionValue } from './command.js';
import { formatSuggestions, suggest } from './suggest.js';

export type ParsedValues = Record<string, OptionValue | undefined>;

export interface ParseOptions {
  /** Names the command in messages, e.g. `lora:train`. */
  readonly context: string;
  /** Where relative paths resolve. */
  readonly cwd: string;
  /** Values from a config file, keyed by option name; command-line values win. */
  readonly defaults?: Readonly<Record<string, unknown>>;
  /** Names the config file in messages, e.g. `eai.toml [lora.train]`. */
  readonly defaultsSource?: string;
  /** Where relative paths from the config file resolve (its folder); default `cwd`. */
  readonly defaultsBase?: string;
  /** Option names accepted elsewhere (the global options), offered in did-you-mean. */
  readonly otherNames?: readonly string[];
  /** The option bare words fill, joined by spaces (CommandSpec.positional); else they are usage errors. */
  readonly positional?: string;
}

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function describeType(spec: OptionSpec): string {
  switch (spec.type) {
    case 'integer':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'path':
      return 'a path';
    case 'string':
      return 'a string';
    case 'enum':
      return `one of ${spec.choices.join(', ')}`;
  }
}

function show(raw: unknown): string {
  return typeof raw === 'string' ? `'${raw}'` : (JSON.stringify(raw) ?? String(raw));
}

/** One value, from the command line (a string) or a config file (any JSON-ish value). */
export function coerceValue(spec: OptionSpec, raw: unknown, where: string, cwd: string): string | number | boolean {
  const fail = (extra = ''): never => {
    throw new UsageError(`${where}: expected ${describeType(spec)}, got ${show(raw)}${extra}`);
  };
  switch (spec.type) {
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      if (typeof raw !== 'string') return fail();
      const lower = raw.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lower)) return true;
      if (['false', '0', 'no', 'off'].includes(lower)) return false;
      return fail();
    }
    case 'number':
    case 'integer': {
      let n: number;
      if (typeof raw === 'number') n = raw;
      else if (typeof raw === 'string' && NUMBER_RE.test(raw.trim())) n = Number(raw);
      else return fail();
      if (!Number.isFinite(n)) return fail();
      if (spec.type === 'integer' && !Number.isSafeInteger(n)) return fail();
      if (spec.min !== undefined && n < spec.min) {
        throw new UsageError(`${where}: ${n} is below the minimum ${spec.min}`);
      }
      if (spec.max !== undefined && n > spec.max) {
        throw new UsageError(`${where}: ${n} is above the maximum ${spec.max}`);
      }
      return n;
    }
    case 'enum': {
      if (typeof raw !== 'string') return fail();
      if (spec.choices.includes(raw)) return raw;
      return fail(`.${formatSuggestions(suggest(raw, spec.choices))}`);
    }
    case 'path': {
      if (typeof raw !== 'string' || raw.length === 0) return fail();
      return resolve(cwd, raw);
    }
    case 'string': {
      if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
      if (typeof raw !== 'string') return fail();
      return raw;
    }
  }
}

/** `--name`, `--name=value` or `--no-name` split into its parts; undefined for a non-option. */
export function splitOptionToken(token: string): { name: string; inline?: string } | undefined {
  if (!token.startsWith('--') || token === '--') return undefined;
  const body = token.slice(2);
  const eq = body.indexOf('=');
  return eq < 0 ? { name: body } : { name: body.slice(0, eq), inline: body.slice(eq + 1) };
}

/** The option a token names: `--name` or, for booleans, `--no-name`. */
function lookup(
  specs: ReadonlyMap<string, OptionSpec>,
  name: string,
): { spec: OptionSpec; negated: boolean } | undefined {
  const direct = specs.get(name);
  if (direct) return { spec: direct, negated: false };
  if (name.startsWith('no-')) {
    const positive = specs.get(name.slice(3));
    if (positive?.type === 'boolean') return { spec: positive, negated: true };
  }
  return undefined;
}

/** Whether the token after `--name` is its value: a leading `--` means the value was forgotten. */
function takesNext(spec: OptionSpec, next: string | undefined): next is string {
  if (next === undefined) return false;
  if (next.startsWith('--')) return false;
  if (next.startsWith('-') && next.length > 1) {
    // Negative numbers are values; other single-dash tokens are mistyped options.
    return (spec.type === 'number' || spec.type === 'integer') && NUMBER_RE.test(next);
  }
  return true;
}

interface Consumed {
  spec: OptionSpec;
  raw: string | boolean;
  /** Tokens used, 1 or 2. */
  width: number;
}

function consumeOption(
  token: string,
  next: string | undefined,
  found: { spec: OptionSpec; negated: boolean },
  where: string,
): Consumed {
  const { spec, negated } = found;
  const { inline } = splitOptionToken(token)!;
  if (negated) {
    if (inline !== undefined) throw new UsageError(`${where}: --no-${spec.name} takes no value (got '${inline}')`);
    return { spec, raw: false, width: 1 };
  }
  if (inline !== undefined) return { spec, raw: inline, width: 1 };
  if (spec.type === 'boolean') return { spec, raw: true, width: 1 };
  if (!takesNext(spec, next)) {
    throw new UsageError(`${where}: --${spec.name} needs a value (${describeType(spec)})`);
  }
  return { spec, raw: next, width: 2 };
}

function indexSpecs(specs: readonly OptionSpec[]): Map<string, OptionSpec> {
  return new Map(specs.map((s) => [s.name, s]));
}

function store(
  values: ParsedValues,
  seen: Map<string, string>,
  spec: OptionSpec,
  value: string | number | boolean,
  token: string,
  context: string,
): void {
  if (spec.repeatable) {
    const list = (values[spec.name] as (string | number | boolean)[] | undefined) ?? [];
    list.push(value);
    values[spec.name] = list as OptionValue;
    return;
  }
  const earlier = seen.get(spec.name);
  if (earlier !== undefined) {
    throw new UsageError(
      `${context}: --${spec.name} was given twice ('${earlier}' and '${token}'); it takes one value`,
    );
  }
  seen.set(spec.name, token);
  values[spec.name] = value;
}

/**
 * Pull the options named in `specs` out of `argv` wherever they stand (before `--`),
 * leaving every other token in order. Used for the global options.
 */
export function extractOptions(
  argv: readonly string[],
  specs: readonly OptionSpec[],
  context: string,
  cwd: string,
): { values: ParsedValues; rest: string[] } {
  const byName = indexSpecs(specs);
  const values: ParsedValues = {};
  const seen = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const split = splitOptionToken(token);
    const found = split && lookup(byName, split.name);
    if (!found) {
      rest.push(token);
      continue;
    }
    const c = consumeOption(token, argv[i + 1], found, context);
    const where = `--${c.spec.name}`;
    store(values, seen, c.spec, coerceValue(c.spec, c.raw, where, cwd), String(c.raw), context);
    i += c.width - 1;
  }
  return { values, rest };
}

/** Parse a command's options strictly: unknown options and stray arguments are usage errors. */
export function parseOptions(
  tokens: readonly string[],
  specs: readonly OptionSpec[],
  opts: ParseOptions,
): ParsedValues {
  const byName = indexSpecs(specs);
  const values: ParsedValues = {};
  const seen = new Map<string, string>();
  const positional = opts.positional === undefined ? undefined : byName.get(opts.positional);
  const words: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const split = splitOptionToken(token);
    if (!split) {
      if (positional && token === '--') {
        words.push(...tokens.slice(i + 1));
        break;
      }
      if (positional && !token.startsWith('-')) {
        words.push(token);
        continue;
      }
      if (token === '--') {
        const extra = tokens.slice(i + 1);
        if (extra.length === 0) continue;
        throw new UsageError(
          `${opts.context}: unexpected argument${extra.length > 1 ? 's' : ''} ${extra.map((t) => `'${t}'`).join(' ')}`,
        );
      }
      const hint = token.startsWith('-')
        ? ' (options take two dashes, e.g. --name value)'
        : ' (this command takes only --options)';
      throw new UsageError(`${opts.context}: unexpected argument '${token}'${hint}`);
    }
    const found = lookup(byName, split.name);
    if (!found) throw unknownOption(split.name, specs, opts);
    const c = consumeOption(token, tokens[i + 1], found, opts.context);
    store(values, seen, c.spec, coerceValue(c.spec, c.raw, `--${c.spec.name}`, opts.cwd), String(c.raw), opts.context);
    i += c.width - 1;
  }
  if (positional && words.length > 0) {
    if (values[positional.name] !== undefined) {
      throw new UsageError(
        `${opts.context}: give the ${positional.name} either as bare words or with --${positional.name}, not both`,
      );
    }
    values[positional.name] = coerceValue(positional, words.join(' '), `--${positional.name}`, opts.cwd);
  }
  return finish(values, specs, opts);
}

function unknownOption(name: string, specs: readonly OptionSpec[], opts: ParseOptions): UsageError {
  const known = [
    ...specs.flatMap((s) => (s.type === 'boolean' ? [s.name, `no-${s.name}`] : [s.name])),
    ...(opts.otherNames ?? []),
  ];
  const close = suggest(name, known).map((n) => `--${n}`);
  return new UsageError(
    `${opts.context}: unknown option --${name}.${formatSuggestions(close)} Run '${opts.context} --help' for the options.`,
  );
}

/** Fill config values and defaults, then enforce required options. */
function finish(values: ParsedValues, specs: readonly OptionSpec[], opts: ParseOptions): ParsedValues {
  const source = opts.defaultsSource ?? 'config';
  const fromConfig = new Map<string, unknown>();
  for (const [key, value] of Object.entries(opts.defaults ?? {})) {
    if (!specs.some((s) => s.name === key)) {
      const close = suggest(
        key,
        specs.map((s) => s.name),
      );
      throw new UsageError(`${source}: '${key}' is not an option of ${opts.context}.${formatSuggestions(close)}`);
    }
    fromConfig.set(key, value);
  }
  for (const spec of specs) {
    if (values[spec.name] !== undefined) continue;
    const configured = fromConfig.get(spec.name);
    if (configured !== undefined) {
      const where = `${source}: ${spec.name}`;
      const base = opts.defaultsBase ?? opts.cwd;
      values[spec.name] = spec.repeatable
        ? ((Array.isArray(configured) ? configured : [configured]).map((v) =>
            coerceValue(spec, v, where, base),
          ) as OptionValue)
        : coerceValue(spec, configured, where, base);
      continue;
    }
    if (spec.required) {
      throw new UsageError(`${opts.context}: missing required option --${spec.name} <${valueHint(spec)}>`);
    }
    if (spec.repeatable)
      values[spec.name] = spec.default === undefined ? [] : ([coerceDefault(spec, opts.cwd)] as OptionValue);
    else if (spec.default !== undefined) values[spec.name] = coerceDefault(spec, opts.cwd);
    else if (spec.type === 'boolean') values[spec.name] = false;
  }
  return values;
}

/** `<integer>`, `<js|wasm>`: how help and messages show an option's value. */
export function valueHint(spec: OptionSpec): string {
  if (spec.valueName) return spec.valueName;
  return spec.type === 'enum' ? spec.choices.join('|') : spec.type;
}

function coerceDefault(spec: OptionSpec, cwd: string): string | number | boolean {
  return coerceValue(spec, spec.default, `default of --${spec.name}`, cwd);
}
