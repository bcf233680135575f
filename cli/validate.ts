/**
 * Checks a workflow's ProjectSpec when it is discovered, so an author's mistake
 * (a duplicate option, a default of the wrong type, a clash with a global option)
 * is reported with the file and the fix instead of surfacing as odd parsing later.
 */
import type { CommandSpec, OptionSpec, ProjectSpec } from './command.js';
import { BUILTIN_COMMANDS, GLOBAL_NAMES } from './globals.js';

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function checkOption(o: OptionSpec, where: string, ownsConfig = false): string[] {
  const problems: string[] = [];
  const at = `${where} option '${o.name}'`;
  if (typeof o.name !== 'string' || !KEBAB.test(o.name)) {
    problems.push(`${where}: option name '${String(o.name)}' must be kebab-case (e.g. batch-size)`);
    return problems;
  }
  if (GLOBAL_NAMES.includes(o.name) && !(ownsConfig && o.name === 'config')) {
    problems.push(`${at} clashes with the global option --${o.name}; rename it (or set ownsConfig for --config)`);
  }
  if (o.name.startsWith('no-')) problems.push(`${at}: names starting with 'no-' are reserved for negating booleans`);
  if (typeof o.description !== 'string' || o.description.length === 0) problems.push(`${at} needs a description`);
  const types = ['string', 'number', 'integer', 'boolean', 'path', 'enum'];
  if (!types.includes(o.type)) {
    problems.push(`${at}: unknown type '${String(o.type)}' (use ${types.join(', ')})`);
    return problems;
  }
  if (o.required && o.default !== undefined) problems.push(`${at} is required but has a default; drop one`);
  if (o.type === 'enum') {
    if (!Array.isArray(o.choices) || o.choices.length === 0)
      problems.push(`${at}: an enum needs a non-empty choices list`);
    else if (o.default !== undefined && !o.choices.includes(o.default)) {
      problems.push(`${at}: default '${o.default}' is not one of ${o.choices.join(', ')}`);
    }
  }
  if (o.default !== undefined) {
    const expected =
      o.type === 'boolean' ? 'boolean' : o.type === 'number' || o.type === 'integer' ? 'number' : 'string';
    if (typeof o.default !== expected)
      problems.push(`${at}: default ${JSON.stringify(o.default)} is not a ${expected}`);
    else if (o.type === 'integer' && !Number.isSafeInteger(o.default)) {
      problems.push(`${at}: default ${o.default} is not an integer`);
    }
  }
  return problems;
}

function checkCommand(c: CommandSpec, where: string): string[] {
  if (!isRecord(c)) return [`${where}: a command must be an object`];
  const problems: string[] = [];
  if (typeof c.name !== 'string' || !KEBAB.test(c.name)) {
    problems.push(`${where}: command name '${String(c.name)}' must be kebab-case`);
    return problems;
  }
  const at = `${where} command '${c.name}'`;
  if (typeof c.summary !== 'string' || c.summary.length === 0) problems.push(`${at} needs a summary`);
  if (typeof c.run !== 'function') problems.push(`${at} needs a run(args, ctx) function`);
  if (!Array.isArray(c.options)) {
    problems.push(`${at}: options must be an array (use [] for none)`);
    return problems;
  }
  const seen = new Set<string>();
  for (const o of c.options) {
    if (seen.has(o.name)) problems.push(`${at}: option '${o.name}' is declared twice`);
    seen.add(o.name);
    problems.push(...checkOption(o, at, c.ownsConfig === true));
  }
  if (c.positional !== undefined) {
    const target = c.options.find((o) => o.name === c.positional);
    if (target?.type !== 'string' || target.repeatable) {
      problems.push(`${at}: positional '${String(c.positional)}' must name one of its string options (not repeatable)`);
    }
  }
  return problems;
}

/**
 * Problems with one project's export, each a sentence naming the file. `folder` is
 * the project's folder name, which the namespace must equal (one folder, one namespace).
 */
export function validateProject(value: unknown, folder: string, file: string): string[] {
  if (!isRecord(value)) {
    return [`${file} must export 'project' (a ProjectSpec: namespace, aliases, summary, commands)`];
  }
  const p = value as Partial<ProjectSpec>;
  const problems: string[] = [];
  if (typeof p.namespace !== 'string' || !KEBAB.test(p.namespace)) {
    problems.push(`${file}: namespace '${String(p.namespace)}' must be kebab-case`);
  } else if (p.namespace !== folder) {
    problems.push(`${file}: namespace '${p.namespace}' differs from its folder '${folder}'; make them equal`);
  } else if ((BUILTIN_COMMANDS as readonly string[]).includes(p.namespace)) {
    problems.push(`${file}: namespace '${p.namespace}' is a built-in command; choose another name`);
  }
  if (!Array.isArray(p.aliases) || p.aliases.some((a) => typeof a !== 'string' || !KEBAB.test(a))) {
    problems.push(`${file}: aliases must be a list of kebab-case names ([] for none)`);
  }
  if (typeof p.summary !== 'string' || p.summary.length === 0) problems.push(`${file}: the project needs a summary`);
  if (
    p.tests !== undefined &&
    (!Array.isArray(p.tests) ||
      p.tests.some((t) => typeof t !== 'string' || !/^test\/[^.][^\0]*$/.test(t) || t.includes('..')))
  ) {
    problems.push(`${file}: tests must be a list of paths under test/ (e.g. test/models/llama.test.ts)`);
  }
  if (!Array.isArray(p.commands)) {
    problems.push(`${file}: commands must be an array ([] while there are none)`);
    return problems;
  }
  const names = new Set<string>();
  for (const c of p.commands) {
    if (isRecord(c) && typeof c.name === 'string') {
      if (names.has(c.name)) problems.push(`${file}: command '${c.name}' is declared twice`);
      names.add(c.name);
    }
    problems.push(...checkCommand(c, file));
  }
  return problems;
}
