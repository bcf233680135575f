/**
 * Configuration files (YAML, TOML, JSON) validated by a zod schema the caller supplies.
 *
 * Layers, lowest precedence first:
 *   1. `defaults` passed by the caller (plus the schema's own `.default()`s, applied by zod last)
 *   2. the file (`.yaml`/`.yml`, `.toml` or `.json`, chosen by extension)
 *   3. a profile from the file's top-level `profiles: { <name>: {...overrides} }` table, selected by the
 *      `profile` option or else `EAI_PROFILE` (`profiles` is reserved and never reaches the schema)
 *   4. environment variables (below)
 *   5. explicit `overrides` (command-line flags)
 * Objects merge key by key; arrays and scalars replace.
 *
 * Environment mapping (prefix `EAI_` by default): every leaf key of the schema has one variable,
 * `EAI_` + the path's keys joined by `__`, each key upper-cased with camelCase split by `_`:
 *   `seed` → `EAI_SEED`, `lora.rank` → `EAI_LORA__RANK`, `train.learningRate` → `EAI_TRAIN__LEARNING_RATE`,
 *   `train.learning_rate` → `EAI_TRAIN__LEARNING_RATE`.
 * Values are coerced to what the schema expects there: numbers (`3`, `1e-4`), booleans
 * (`true/false/1/0/yes/no/on/off`), `null` where nullable, lists as JSON (`["a","b"]`) or comma-separated
 * (`a,b`), objects as JSON. Variables without `__` that match no key are ignored (other tools' `EAI_*`
 * settings such as `EAI_MODELS_DIR` live there); a variable with `__` whose section exists but whose key does
 * not is an error, so typos are not silently ignored. `EAI_PROFILE` only selects the profile.
 * @module
 */
import type * as z from 'zod';
import { ConfigError, type ConfigTable, isPlainObject, kindOf, readConfigFile } from './config-files.js';
import { coerceString, defOf, describeSchema, envSegment, objectShape, schemaAt, unwrap } from './config-schema.js';
import type { Env } from './paths.js';
import { didYouMean } from './suggest.js';

export {
  ConfigError,
  type ConfigFormat,
  type ConfigTable,
  configFormatOf,
  parseConfigText,
  readConfigFile,
} from './config-files.js';
export { coerceString, describeSchema } from './config-schema.js';

/** Recursively optional version of `T`, for defaults and overrides. */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends Record<string, unknown>
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** Options for {@link loadConfig}. */
export interface LoadConfigOptions<S extends z.ZodType> {
  /** Validates (and types) the merged result. */
  schema: S;
  /** Config file; omit to configure from defaults, environment and overrides only. */
  file?: string;
  /** Lowest-precedence values. */
  defaults?: DeepPartial<z.input<S>>;
  /** Profile name; default `env.EAI_PROFILE` (ignored when there is no file). */
  profile?: string;
  /** Default `process.env`; pass `{}` to ignore the environment. */
  env?: Env;
  /** Default `EAI_`. */
  envPrefix?: string;
  /** Highest-precedence values, e.g. from command-line flags. */
  overrides?: DeepPartial<z.input<S>>;
  /** How errors refer to `overrides`. Default `command-line options`. */
  overridesSource?: string;
}

type Obj = ConfigTable;

// ---------------------------------------------------------------------------------------------------------------
// Environment and override coercion

/** One environment variable and the key path it sets. */
export interface EnvBinding {
  name: string;
  path: readonly string[];
}

/** Every environment variable `schema` listens to (see the module docs for the mapping), for help texts. */
export function envBindings(schema: z.ZodType, prefix = 'EAI_'): EnvBinding[] {
  const out: EnvBinding[] = [];
  const walk = (s: z.ZodType, path: string[]): void => {
    const shape = defOf(unwrap(s).schema).type === 'object' ? defOf(unwrap(s).schema).shape : undefined;
    if (shape && path.length < 16) {
      for (const [k, v] of Object.entries(shape)) walk(v, [...path, k]);
    } else if (path.length > 0) {
      out.push({ name: prefix + path.map(envSegment).join('__'), path });
    }
  };
  walk(schema, []);
  return out;
}

function setPath(target: Obj, path: readonly string[], value: unknown): void {
  let cur = target;
  for (const k of path.slice(0, -1)) {
    if (!isPlainObject(cur[k])) cur[k] = {};
    cur = cur[k] as Obj;
  }
  cur[path[path.length - 1]] = value;
}

function envLayer(schema: z.ZodType, env: Env, prefix: string): { layer: Obj; sources: Map<string, string> } {
  const bindings = envBindings(schema, prefix);
  const byName = new Map(bindings.map((b) => [b.name, b]));
  const sections = new Set(
    Object.entries(objectShape(schema) ?? {})
      .filter(([, v]) => objectShape(v) !== undefined)
      .map(([k]) => prefix + envSegment(k)),
  );
  const layer: Obj = {};
  const sources = new Map<string, string>();
  const problems: string[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined || !name.startsWith(prefix) || name === `${prefix}PROFILE`) continue;
    const b = byName.get(name);
    if (!b) {
      const section = name.split('__')[0];
      if (name.includes('__') && sections.has(section)) {
        problems.push(`${name}: no such setting${didYouMean(name, byName.keys())}`);
      }
      continue;
    }
    setPath(layer, b.path, coerceString(raw, schemaAt(schema, b.path)));
    sources.set(b.path.join('.'), `from environment variable ${name}`);
  }
  if (problems.length) throw configError(problems);
  return { layer, sources };
}

/**
 * Turn `key.path=value` pairs (e.g. repeated `--set` flags) into an overrides object, values coerced per schema.
 * @throws ConfigError for a malformed pair or a key the schema does not have.
 */
export function parseOverrides(pairs: readonly string[], schema: z.ZodType): Obj {
  const out: Obj = {};
  const problems: string[] = [];
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      problems.push(`"${pair}": expected key=value, e.g. lora.rank=8`);
      continue;
    }
    const path = pair.slice(0, eq).trim().split('.');
    const unknown = unknownAt(schema, path);
    if (unknown) {
      problems.push(unknown);
      continue;
    }
    setPath(out, path, coerceString(pair.slice(eq + 1), schemaAt(schema, path)));
  }
  if (problems.length) throw configError(problems);
  return out;
}

function unknownAt(schema: z.ZodType, path: readonly string[]): string | undefined {
  let cur: z.ZodType | undefined = schema;
  for (let i = 0; i < path.length; i++) {
    if (!cur) return undefined;
    const shape = objectShape(cur);
    if (!shape) return undefined;
    if (!Object.hasOwn(shape, path[i])) {
      return `${path.slice(0, i + 1).join('.')}: unknown key${didYouMean(path[i], Object.keys(shape))}`;
    }
    cur = shape[path[i]];
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Merging, unknown keys, validation

/** Merge `layer` into `target`, recording which source set each key (for error messages). */
function mergeLayer(target: Obj, layer: Obj, source: string, sources: Map<string, string>, path: string[] = []): void {
  for (const [k, v] of Object.entries(layer)) {
    if (v === undefined) continue;
    const p = [...path, k];
    if (Object.hasOwn(target, k) && isPlainObject(v) && isPlainObject(target[k])) {
      mergeLayer(target[k] as Obj, v, source, sources, p);
      continue;
    }
    const key = p.join('.');
    for (const s of [...sources.keys()]) if (s.startsWith(`${key}.`)) sources.delete(s);
    sources.set(key, source);
    defineOwn(target, k, isPlainObject(v) ? structuredCloneObj(v) : v);
  }
}

// Plain assignment of a "__proto__" key (possible in YAML/JSON input) would replace the object's prototype and
// let inherited values slip past validation; defining an own property keeps it visible as an unknown key.
function defineOwn(target: Obj, k: string, v: unknown): void {
  Object.defineProperty(target, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function structuredCloneObj(v: Obj): Obj {
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) defineOwn(out, k, isPlainObject(x) ? structuredCloneObj(x) : x);
  return out;
}

function sourceOf(sources: Map<string, string>, path: readonly PropertyKey[]): string | undefined {
  for (let n = path.length; n > 0; n--) {
    const s = sources.get(path.slice(0, n).map(String).join('.'));
    if (s) return s;
  }
  return undefined;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${String(seg)}` : String(seg);
  return out || '(top level)';
}

function unknownKeys(
  schema: z.ZodType,
  data: unknown,
  sources: Map<string, string>,
  path: PropertyKey[] = [],
): string[] {
  const { schema: s } = unwrap(schema);
  const d = defOf(s);
  const out: string[] = [];
  if (d.type === 'object' && isPlainObject(data)) {
    const shape = objectShape(s);
    for (const [k, v] of Object.entries(data)) {
      const p = [...path, k];
      if (shape && !Object.hasOwn(shape, k)) {
        const where = sourceOf(sources, p);
        out.push(`${formatPath(p)}: unknown key${where ? ` ${where}` : ''}${didYouMean(k, Object.keys(shape))}`);
      } else {
        const child = shape?.[k] ?? schemaAt(s, [k]);
        if (child) out.push(...unknownKeys(child, v, sources, p));
      }
    }
  } else if ((d.type === 'array' && d.element) || d.type === 'tuple') {
    if (Array.isArray(data)) {
      data.forEach((v, i) => {
        const child = d.type === 'array' ? d.element : d.items?.[i];
        if (child) out.push(...unknownKeys(child, v, sources, [...path, i]));
      });
    }
  } else if (d.type === 'record' && d.valueType && isPlainObject(data)) {
    for (const [k, v] of Object.entries(data)) out.push(...unknownKeys(d.valueType, v, sources, [...path, k]));
  }
  return out;
}

function render(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v === null) return String(v);
  return kindOf(v);
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let cur = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

interface IssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
}

function describeIssue(
  issue: IssueLike,
  schema: z.ZodType,
  data: unknown,
  sources: Map<string, string>,
  hint: (path: readonly PropertyKey[]) => string,
): string {
  const where = formatPath(issue.path);
  const value = valueAt(data, issue.path);
  const src = sourceOf(sources, issue.path);
  const sub = schemaAt(schema, issue.path);
  if (value === undefined && issue.code === 'invalid_type') {
    return `${where}: required${sub ? ` (${describeSchema(sub)})` : ''} but not set; ${hint(issue.path)}`;
  }
  const got = `got ${render(value)}${src ? ` ${src}` : ''}`;
  const typed = ['invalid_type', 'too_small', 'too_big', 'invalid_value', 'invalid_union'];
  if (sub && typed.includes(issue.code)) {
    const kind = defOf(unwrap(sub).schema).type;
    // Size limits on strings and lists read better in zod's own words ("expected array to have >=2 items").
    const sizeIssue = issue.code === 'too_small' || issue.code === 'too_big';
    if (!sizeIssue || kind === 'number' || kind === 'bigint')
      return `${where}: expected ${describeSchema(sub)}, ${got}`;
  }
  const msg = issue.message.replace(/^Invalid input: /, '');
  return `${where}: ${msg.charAt(0).toLowerCase()}${msg.slice(1)}, ${got}`;
}

function configError(problems: string[]): ConfigError {
  const message =
    problems.length === 1
      ? problems[0]
      : `${problems.length} problems in the configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
  return new ConfigError(message, problems);
}

/**
 * Load, merge and validate configuration (layers and environment mapping in the module docs).
 * @example
 * const Schema = z.object({ lora: z.object({ rank: z.number().int().positive().default(8) }).default({ rank: 8 }) });
 * const cfg = loadConfig({ schema: Schema, file: 'config.yaml', overrides: { lora: { rank: 4 } } });
 * @throws ConfigError naming the file or variable, the key path and the problem, e.g.
 *   `lora.rank: expected a positive integer, got -3 in config.yaml`.
 */
export function loadConfig<S extends z.ZodType>(options: LoadConfigOptions<S>): z.output<S> {
  const { schema, file } = options;
  const env = options.env ?? process.env;
  const prefix = options.envPrefix ?? 'EAI_';
  const merged: Obj = {};
  const sources = new Map<string, string>();

  if (options.defaults) mergeLayer(merged, options.defaults as Obj, 'from defaults', sources);

  if (file !== undefined) {
    const data = readConfigFile(file);
    const profiles = data.profiles;
    delete data.profiles;
    mergeLayer(merged, data, `in ${file}`, sources);
    const fromEnv = options.profile === undefined;
    const name = options.profile ?? env[`${prefix}PROFILE`];
    if (name) {
      const table = isPlainObject(profiles) ? profiles : {};
      const selected = table[name];
      const by = fromEnv ? ` (selected by ${prefix}PROFILE)` : '';
      if (!Object.hasOwn(table, name)) {
        const names = Object.keys(table);
        throw new ConfigError(
          `profile "${name}"${by} not found in ${file}${didYouMean(name, names)}; ` +
            (names.length ? `profiles there: ${names.join(', ')}` : 'it has no profiles: section'),
        );
      }
      if (!isPlainObject(selected)) {
        throw new ConfigError(`profiles.${name}: expected a table of overrides, got ${kindOf(selected)} in ${file}`);
      }
      mergeLayer(merged, selected, `in ${file} (profile "${name}")`, sources);
    }
  } else if (options.profile !== undefined) {
    throw new ConfigError(`profile "${options.profile}" was requested but no config file was given`);
  }

  const fromEnv = envLayer(schema, env, prefix);
  mergeLayer(merged, fromEnv.layer, 'env', sources);
  for (const [k, v] of fromEnv.sources) sources.set(k, v);

  if (options.overrides) {
    mergeLayer(merged, options.overrides as Obj, `from ${options.overridesSource ?? 'command-line options'}`, sources);
  }

  const problems = unknownKeys(schema, merged, sources);
  const result = schema.safeParse(merged);
  if (!result.success) {
    const hint = (path: readonly PropertyKey[]): string => {
      const names = path.every((p) => typeof p === 'string')
        ? prefix + path.map((p) => envSegment(String(p))).join('__')
        : '';
      return `set it${file ? ` in ${file}` : ' in a config file'}${names ? ` or with ${names}` : ''}`;
    };
    for (const issue of result.error.issues as unknown as IssueLike[]) {
      if (issue.code === 'unrecognized_keys') {
        // Usually already reported with a suggestion; objects the walk cannot reach (inside unions) are not.
        for (const k of issue.keys ?? []) {
          const p = [...issue.path, k];
          const where = formatPath(p);
          if (!problems.some((x) => x.startsWith(`${where}:`))) {
            const src = sourceOf(sources, p);
            problems.push(`${where}: unknown key${src ? ` ${src}` : ''}`);
          }
        }
        continue;
      }
      problems.push(describeIssue(issue, schema, merged, sources, hint));
    }
  }
  if (problems.length) throw configError(problems);
  return (result as { data: z.output<S> }).data;
}
