/**
 * Option values from a config file (`--config`, `--profile`) and `EAI_*` variables,
 * validated by a schema built from the discovered commands, so a typo in a file
 * is reported with its key path and a suggestion. Layout (YAML shown; TOML/JSON alike):
 *
 *   backend: wasm            # global settings: backend, log-level, log-format
 *   lora:                    # <namespace>:
 *     train:                 #   <command>:
 *       steps: 100           #     <option name as on the command line>: value
 *   profiles:
 *     quick: { lora: { train: { steps: 5 } } }
 *
 * Environment: EAI_BACKEND, EAI_LORA__TRAIN__STEPS, EAI_PROFILE (see node/config.ts).
 * Precedence: command line > environment > profile > file > option defaults.
 */
import { dirname } from 'node:path';
import * as z from 'zod';
import { loadConfig } from '../node/config.js';
import type { Env } from '../node/paths.js';
import type { OptionSpec, ProjectSpec } from './command.js';
import { BACKEND_CHOICES, LOG_FORMATS, LOG_LEVELS } from './globals.js';

export interface CliConfig {
  readonly backend?: string;
  readonly logLevel?: (typeof LOG_LEVELS)[number];
  readonly logFormat?: (typeof LOG_FORMATS)[number];
  /** Values for one command's options, keyed by option name. */
  values(namespace: string, command: string): Readonly<Record<string, unknown>>;
  /** How messages name where the values came from. */
  readonly source: string;
  /** Folder relative paths in the file resolve against. */
  readonly base?: string;
}

function optionSchema(o: OptionSpec): z.ZodType {
  let s: z.ZodType;
  switch (o.type) {
    case 'string':
      s = z.string();
      break;
    case 'path':
      s = z.string().min(1);
      break;
    case 'boolean':
      s = z.boolean();
      break;
    case 'enum':
      s = z.enum(o.choices as [string, ...string[]]);
      break;
    case 'number':
    case 'integer': {
      let n = o.type === 'integer' ? z.number().int() : z.number();
      if (o.min !== undefined) n = n.min(o.min);
      if (o.max !== undefined) n = n.max(o.max);
      s = n;
      break;
    }
  }
  return (o.repeatable ? z.array(s) : s).optional();
}

/** The schema of a config file for these projects. Unknown keys are errors (with suggestions). */
export function configSchema(projects: readonly ProjectSpec[]): z.ZodType {
  const shape: Record<string, z.ZodType> = {
    backend: z.enum(BACKEND_CHOICES).optional(),
    'log-level': z.enum(LOG_LEVELS).optional(),
    'log-format': z.enum(LOG_FORMATS).optional(),
  };
  for (const p of projects) {
    const commands: Record<string, z.ZodType> = {};
    for (const c of p.commands) {
      commands[c.name] = z.object(Object.fromEntries(c.options.map((o) => [o.name, optionSchema(o)]))).optional();
    }
    shape[p.namespace] = z.object(commands).optional();
  }
  return z.object(shape);
}

type Loaded = Record<string, unknown>;

export function loadCliConfig(opts: {
  readonly file?: string;
  readonly profile?: string;
  readonly env: Env;
  readonly projects: readonly ProjectSpec[];
}): CliConfig {
  const data = loadConfig({
    schema: configSchema(opts.projects),
    file: opts.file,
    profile: opts.profile,
    env: opts.env,
  }) as Loaded;
  const section = (v: unknown): Record<string, unknown> =>
    typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  return {
    backend: data.backend as string | undefined,
    logLevel: data['log-level'] as CliConfig['logLevel'],
    logFormat: data['log-format'] as CliConfig['logFormat'],
    values: (namespace, command) => section(section(data[namespace])[command]),
    source: opts.file ? `config ${opts.file}` : 'EAI_* environment',
    base: opts.file ? dirname(opts.file) : undefined,
  };
}
