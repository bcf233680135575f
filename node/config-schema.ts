/**
 * Reading zod v4 schemas: what a key expects, in words, and how to turn a string into it.
 * Reads `_zod.def`, the definition object zod v4 exposes for library authors; if an upgrade changes it, the
 * config tests fail rather than users getting vague messages.
 * @module
 */
import type * as z from 'zod';

/** @internal The parts of a zod v4 check definition read here. */
export interface CheckDef {
  check?: string;
  format?: string;
  value?: number | bigint;
  inclusive?: boolean;
  minimum?: number;
  maximum?: number;
  pattern?: RegExp;
}
/** @internal The parts of a zod v4 schema definition read here. */
export interface Def extends CheckDef {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  items?: z.ZodType[];
  options?: z.ZodType[];
  in?: z.ZodType;
  out?: z.ZodType;
  entries?: Record<string, string | number>;
  values?: unknown[];
  checks?: Array<{ _zod: { def: CheckDef } }>;
  getter?: () => z.ZodType;
}

/** @internal A schema's definition. */
export const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

/** Strip wrappers (optional, default, pipes, lazy) down to the schema that decides the value's shape. */
export function unwrap(s: z.ZodType): { schema: z.ZodType; nullable: boolean } {
  let cur = s;
  let nullable = false;
  for (let guard = 0; guard < 64; guard++) {
    const d = defOf(cur);
    if (d.type === 'nullable') nullable = true;
    if (WRAPPERS.has(d.type) && d.innerType) cur = d.innerType;
    else if (d.type === 'lazy' && d.getter) cur = d.getter();
    else if (d.type === 'pipe' && d.in && d.out) cur = defOf(d.in).type === 'transform' ? d.out : d.in;
    else break;
  }
  return { schema: cur, nullable };
}

/** Object keys the schema knows at this level, or `undefined` when any key is allowed or the shape is unknown. */
export function objectShape(s: z.ZodType): Record<string, z.ZodType> | undefined {
  const d = defOf(unwrap(s).schema);
  if (d.type !== 'object' || !d.shape) return undefined;
  if (d.catchall && defOf(d.catchall).type !== 'never') return undefined; // passthrough / looseObject / catchall
  return d.shape;
}

/** The schema describing the value at `path`, where it can be followed. */
export function schemaAt(root: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let cur: z.ZodType | undefined = root;
  for (const seg of path) {
    if (!cur) return undefined;
    const d = defOf(unwrap(cur).schema);
    if (d.type === 'object')
      cur = d.shape?.[String(seg)] ?? (d.catchall && defOf(d.catchall).type !== 'never' ? d.catchall : undefined);
    else if (d.type === 'array') cur = d.element;
    else if (d.type === 'tuple') cur = d.items?.[Number(seg)];
    else if (d.type === 'record') cur = d.valueType;
    else return undefined;
  }
  return cur;
}

const article = (w: string): string => (/^[aeiou]/i.test(w) ? `an ${w}` : `a ${w}`);
const fmtNum = (v: number | bigint | undefined): string => String(v);

function checksOf(d: Def): CheckDef[] {
  const own: CheckDef[] = d.check ? [d] : [];
  return [...own, ...(d.checks ?? []).map((c) => c._zod.def)];
}

/** Plain-words description of what a schema accepts, e.g. "a positive integer". */
export function describeSchema(s: z.ZodType): string {
  const { schema, nullable } = unwrap(s);
  const d = defOf(schema);
  const orNull = (t: string): string => (nullable ? `${t} or null` : t);
  switch (d.type) {
    case 'number':
    case 'bigint': {
      const checks = checksOf(d);
      const isInt =
        d.type === 'bigint' || checks.some((c) => c.check === 'number_format' && /int/.test(c.format ?? ''));
      const base = isInt ? 'integer' : 'number';
      const lo = checks.find((c) => c.check === 'greater_than');
      const hi = checks.find((c) => c.check === 'less_than');
      const loText = lo ? `${lo.inclusive ? '>=' : '>'} ${fmtNum(lo.value)}` : '';
      const hiText = hi ? `${hi.inclusive ? '<=' : '<'} ${fmtNum(hi.value)}` : '';
      if (lo && hi) return orNull(`${article(base)} ${loText} and ${hiText}`);
      if (lo && !hi) {
        const v = Number(lo.value);
        if ((v === 0 && !lo.inclusive) || (isInt && v === 1 && lo.inclusive)) return orNull(`a positive ${base}`);
        if (v === 0 && lo.inclusive) return orNull(`a non-negative ${base}`);
        return orNull(`${article(base)} ${loText}`);
      }
      if (hi) return orNull(`${article(base)} ${hiText}`);
      return orNull(article(base));
    }
    case 'string': {
      const min = checksOf(d).find((c) => c.check === 'min_length');
      if (min?.minimum === 1) return orNull('a non-empty string');
      if (min) return orNull(`a string of at least ${min.minimum} characters`);
      return orNull('a string');
    }
    case 'boolean':
      return orNull('true or false');
    case 'enum':
      return orNull(
        `one of ${Object.values(d.entries ?? {})
          .map((v) => JSON.stringify(v))
          .join(', ')}`,
      );
    case 'literal':
      return orNull((d.values ?? []).map((v) => JSON.stringify(v)).join(' or '));
    case 'array':
    case 'tuple':
      return orNull('a list');
    case 'object':
    case 'record':
      return orNull('a table');
    case 'union':
      return orNull((d.options ?? []).map(describeSchema).join(' or '));
    case 'null':
      return 'null';
    default:
      return orNull(`a valid ${d.type}`);
  }
}

/** `learningRate` / `learning_rate` → `LEARNING_RATE`: one segment of an environment variable name. */
export const envSegment = (key: string): string =>
  key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]/g, '_')
    .toUpperCase();

const NUMBER_RE = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/**
 * Turn a string (from an environment variable or `--set key=value`) into the type the schema expects there.
 * Values that do not convert stay strings, so validation reports them with the expected type.
 */
export function coerceString(raw: string, s: z.ZodType | undefined): unknown {
  if (!s) return raw;
  const { schema, nullable } = unwrap(s);
  const t = raw.trim();
  if (nullable && t === 'null') return null;
  const d = defOf(schema);
  switch (d.type) {
    case 'number':
      return NUMBER_RE.test(t) ? Number(t) : raw;
    case 'bigint':
      return /^[-+]?\d+$/.test(t) ? BigInt(t) : raw;
    case 'boolean': {
      const l = t.toLowerCase();
      return TRUE.has(l) ? true : FALSE.has(l) ? false : raw;
    }
    case 'literal': {
      for (const v of d.values ?? []) if (String(v) === t) return v;
      return raw;
    }
    case 'enum': {
      for (const v of Object.values(d.entries ?? {})) if (String(v) === t) return v;
      return raw;
    }
    case 'array':
    case 'tuple': {
      if (t.startsWith('[')) {
        try {
          return JSON.parse(t);
        } catch {
          return raw;
        }
      }
      if (t === '') return [];
      return t.split(',').map((part, i) => coerceString(part.trim(), d.type === 'array' ? d.element : d.items?.[i]));
    }
    case 'object':
    case 'record':
      try {
        return JSON.parse(t);
      } catch {
        return raw;
      }
    case 'union': {
      for (const opt of d.options ?? []) {
        const v = coerceString(raw, opt);
        if ((opt as z.ZodType).safeParse(v).success) return v;
      }
      return raw;
    }
    default:
      return raw;
  }
}
