/**
 * The command model every workflow implements: typed options, commands and the
 * project (namespace) that groups them. A workflow is one folder `projects/<name>/`
 * whose `commands.ts` exports `project: ProjectSpec`; the CLI finds it by itself.
 */
import type { BackendName } from '../core/backend.js';
import type { Logger } from '../node/log.js';
import type { Progress } from '../node/progress.js';

export type OptionType = 'string' | 'number' | 'integer' | 'boolean' | 'path' | 'enum';

interface OptionBase {
  /** Kebab-case, given as `--name`; the key of the parsed value in `args`. */
  readonly name: string;
  readonly description: string;
  readonly required?: boolean;
  /** May be given several times; the value is then an array (empty when never given). */
  readonly repeatable?: boolean;
  /** How help shows the value, e.g. `dir` in `--model <dir>`; default: the type. */
  readonly valueName?: string;
}

export interface StringOption extends OptionBase {
  readonly type: 'string';
  readonly default?: string;
}

/** A file or folder; the parsed value is absolute (resolved against the working directory). */
export interface PathOption extends OptionBase {
  readonly type: 'path';
  readonly default?: string;
}

export interface NumberOption extends OptionBase {
  readonly type: 'number' | 'integer';
  readonly default?: number;
  readonly min?: number;
  readonly max?: number;
}

/** Given as `--name`, `--no-name` or `--name=true|false`; defaults to false. */
export interface BooleanOption extends OptionBase {
  readonly type: 'boolean';
  readonly default?: boolean;
}

export interface EnumOption extends OptionBase {
  readonly type: 'enum';
  readonly choices: readonly string[];
  readonly default?: string;
}

export type OptionSpec = StringOption | PathOption | NumberOption | BooleanOption | EnumOption;

export type OptionValue = string | number | boolean | readonly string[] | readonly number[] | readonly boolean[];

/** The value type one option parses to. */
type ValueOf<S> = S extends { type: 'boolean' }
  ? boolean
  : S extends { type: 'number' | 'integer' }
    ? number
    : S extends { type: 'enum'; choices: readonly (infer C)[] }
      ? C
      : string;

/** Options that always have a value: booleans, required ones, and ones with a default. */
type AlwaysSet<S> = S extends { type: 'boolean' } | { required: true } | { default: string | number | boolean }
  ? true
  : false;

/** Parsed arguments, typed from the option specs (declare them `as const` or through defineCommand). */
export type ArgsOf<O extends readonly OptionSpec[]> = {
  readonly [S in O[number] as S['name']]: S extends { repeatable: true }
    ? readonly ValueOf<S>[]
    : AlwaysSet<S> extends true
      ? ValueOf<S>
      : ValueOf<S> | undefined;
};

export interface CommandContext {
  /** True with `--json`: write one machine-readable result on stdout, nothing else there. */
  readonly json: boolean;
  /** Logs go to stderr (`--log-format`, `--log-level`), keeping stdout for results. */
  readonly log: Logger;
  /** A progress reporter on stderr matching the log format; silent at `--log-level error` or above. */
  progress(unit?: string): Progress;
  /**
   * Write the command's result: `value` as one JSON line with `--json`, else `human`
   * (or `value` itself when it is a string) as text.
   */
  output(value: unknown, human?: string): void;
  /** Raw text to stdout (streamed generation, tables). Avoid it under `--json`. */
  write(text: string): void;
  /** The backend ops run on (chosen by `--backend`, the config file, or auto). */
  readonly backend: BackendName;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Aborted on Ctrl-C. The core stops ops on its own (core/cancel.ts: the next op or read throws a
   * CancelledError, and the CLI exits 130); pass it to anything else that waits (downloads, servers).
   */
  readonly signal: AbortSignal;
  /** True when stderr is a terminal (progress bars may redraw). */
  readonly interactive: boolean;
}

export interface CommandSpec<O extends readonly OptionSpec[] = readonly OptionSpec[]> {
  /** Kebab-case; invoked as `namespace:name`. */
  readonly name: string;
  /** One line for listings. */
  readonly summary: string;
  /** Paragraphs for `namespace:name --help`. */
  readonly description?: string;
  readonly options: O;
  /** Full command lines, e.g. `efficientai-toolkit lora:train --model ./m`. */
  readonly examples?: readonly string[];
  /**
   * The command reads `--config FILE` itself (a file in its own format, e.g. mlx-lm's training YAML): it
   * declares an option named `config`, and the global config file is not loaded for it.
   */
  readonly ownsConfig?: boolean;
  /**
   * The option that words without `--` fill, joined by spaces (a string option), so that
   * `kb:search quantize 4 bit` reads as `kb:search --query "quantize 4 bit"`. Without it, a
   * stray word is a usage error.
   */
  readonly positional?: string;
  /** Resolves to the exit code (nothing = 0). Throw a UsageError for input the user can fix. */
  // biome-ignore lint/suspicious/noConfusingVoidType: an `async run() {}` returns Promise<void>, which must be accepted.
  run(args: ArgsOf<O>, ctx: CommandContext): Promise<number | void>;
}

export interface ProjectSpec {
  /** The namespace in `namespace:command`. */
  readonly namespace: string;
  /** Other names the namespace answers to (the seed projects' long names). */
  readonly aliases: readonly string[];
  readonly summary: string;
  readonly commands: readonly CommandSpec[];
  /**
   * Tests of this workflow outside test/projects/<namespace> (its models' and kernels' test files
   * or folders, relative to the toolkit root): `efficientai-toolkit test <namespace>` runs them too.
   */
  readonly tests?: readonly string[];
}

/** Declare a command with its args typed from its options (no `as const` needed). */
export function defineCommand<const O extends readonly OptionSpec[]>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}

/** Exit codes: 130 is the shell's code for a process stopped by Ctrl-C (128 + SIGINT). */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;
