/**
 * The unified CLI: `efficientai-toolkit namespace:command [options]`, plus the built-in
 * `info`, `doctor`, `help` and `--version`. Exit codes: 0 success, 1 failure, 2 usage error.
 * `main` is side-effect free and injectable (streams, env, projects folder, runtime) for
 * tests; `runCli` wires it to the process for the bin shim.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendName } from '../core/backend.js';
import type { Interrupter } from '../core/cancel.js';
import { CancelledError, UsageError } from '../core/errors.js';
import { sigintInterrupter } from '../node/interrupt.js';
import { createLogger, type Logger, type LogStream, safeJson } from '../node/log.js';
import { type Env, repoRoot } from '../node/paths.js';
import { createProgress } from '../node/progress.js';
import { extractOptions, parseOptions } from './args.js';
import { benchmarkHelp, resolveBenchmark } from './builtins/benchmark.js';
import { demoHelp, formatDemo, runDemo } from './builtins/demo.js';
import { defaultDoctorDeps, doctorHelp, formatDoctor, runDoctor } from './builtins/doctor.js';
import { collectInfo, formatInfo, infoHelp } from './builtins/info.js';
import {
  checkNotNested,
  formatTestSummary,
  resolveTestTarget,
  runVitest,
  summarizeReport,
  TEST_OPTIONS,
  testHelp,
} from './builtins/test.js';
import {
  type ArgsOf,
  type CommandContext,
  type CommandSpec,
  EXIT,
  type OptionSpec,
  type ProjectSpec,
} from './command.js';
import type { CliConfig } from './config.js';
import { type Discovery, discoverProjects } from './discover.js';
import {
  BACKEND_CHOICES,
  DEFAULT_BACKEND,
  GLOBAL_NAMES,
  GLOBAL_OPTIONS,
  type LOG_FORMATS,
  type LOG_LEVELS,
} from './globals.js';
import {
  BIN,
  type BuiltinHelp,
  formatBuiltin,
  formatCommand,
  formatNamespace,
  formatOverview,
  type HelpStyle,
} from './help.js';
import { loadRuntime, type Runtime } from './runtime.js';
import { formatSuggestions, suggest } from './suggest.js';

export interface OutStream extends LogStream {
  columns?: number;
}

export interface MainOptions {
  readonly stdout?: OutStream;
  readonly stderr?: OutStream;
  readonly cwd?: string;
  readonly env?: Env;
  /** Where workflows are discovered; default `projects/` beside the running CLI. */
  readonly projectsDir?: string;
  readonly runtime?: () => Promise<Runtime>;
  /** Aborted to cancel the command (Ctrl-C); the core's ops stop once it is (core/cancel.ts). */
  readonly signal?: AbortSignal;
  /** Makes a synchronous stretch of the core's work stoppable (runCli passes one that answers Ctrl-C). */
  readonly interrupter?: Interrupter;
}

const helpHelp: BuiltinHelp = {
  name: 'help',
  summary: 'Show help for everything, a namespace or a command',
  usage: `${BIN} help [namespace | namespace:command | built-in command]`,
  examples: [`${BIN} help`, `${BIN} help lora`, `${BIN} help lora:train`],
};
/** The built-in commands as help shows them (the knowledge base indexes them too). */
export const BUILTINS: readonly BuiltinHelp[] = [infoHelp, doctorHelp, demoHelp, testHelp, benchmarkHelp, helpHelp];

export function toolkitVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8'));
    const v = (pkg as { version?: unknown }).version;
    return typeof v === 'string' ? v : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** A resolved `namespace:command` (or namespace alone, for its help). */
type Target =
  | { kind: 'overview' }
  | { kind: 'builtin'; name: string }
  | { kind: 'namespace'; project: ProjectSpec }
  | { kind: 'command'; project: ProjectSpec; command: CommandSpec };

function findProject(d: Discovery, name: string): ProjectSpec | undefined {
  return d.projects.find((p) => p.namespace === name || p.aliases.includes(name));
}

/** Namespace and alias names with what they stand for, e.g. `lora-finetuning-mlx (alias of lora)`. */
function labelNames(d: Discovery, names: readonly string[]): string[] {
  return names.map((n) => {
    const p = d.projects.find((x) => x.aliases.includes(n));
    return p ? `${n} (alias of ${p.namespace})` : n;
  });
}

function allNamespaceNames(d: Discovery): string[] {
  return d.projects.flatMap((p) => [p.namespace, ...p.aliases]);
}

/** Resolve the first word of the command line; throws a UsageError with suggestions. */
export function resolveTarget(d: Discovery, word: string): Target {
  if (BUILTINS.some((b) => b.name === word)) return { kind: 'builtin', name: word };
  const colon = word.indexOf(':');
  if (colon < 0) {
    const project = findProject(d, word);
    if (project) return { kind: 'namespace', project };
    const sameCommand = d.projects.flatMap((p) =>
      p.commands.filter((c) => c.name === word).map((c) => `${p.namespace}:${c.name}`),
    );
    const close = [
      ...sameCommand,
      ...labelNames(d, suggest(word, [...BUILTINS.map((b) => b.name), ...allNamespaceNames(d)])),
    ];
    throw new UsageError(`unknown command '${word}'.${formatSuggestions(close)} Run '${BIN} --help' for the list.`);
  }
  const ns = word.slice(0, colon);
  const name = word.slice(colon + 1);
  const project = findProject(d, ns);
  if (!project) {
    const close = labelNames(d, suggest(ns, allNamespaceNames(d)));
    throw new UsageError(
      `unknown namespace '${ns}' in '${word}'.${formatSuggestions(close)} Run '${BIN} --help' for the list.`,
    );
  }
  if (name === '') return { kind: 'namespace', project };
  const command = project.commands.find((c) => c.name === name);
  if (command) return { kind: 'command', project, command };
  if (project.commands.length === 0) {
    throw new UsageError(`unknown command '${name}': the ${project.namespace} namespace has no commands yet.`);
  }
  const close = suggest(
    name,
    project.commands.map((c) => c.name),
  ).map((c) => `${project.namespace}:${c}`);
  const elsewhere = d.projects
    .filter((p) => p !== project && p.commands.some((c) => c.name === name))
    .map((p) => `${p.namespace}:${name}`);
  throw new UsageError(
    `unknown command '${name}' in namespace ${project.namespace}.${formatSuggestions([...close, ...elsewhere])} Run '${BIN} ${project.namespace} --help' for its commands.`,
  );
}

function isUsageError(err: unknown): err is Error {
  return (
    err instanceof UsageError || (err instanceof Error && (err.name === 'UsageError' || err.name === 'ConfigError'))
  );
}

/** Validate `--backend` before the core loads, so a typo is a usage error naming every choice. */
function checkBackendName(name: string): void {
  if (!(BACKEND_CHOICES as readonly string[]).includes(name)) {
    throw new UsageError(
      `--backend: unknown backend '${name}'; choose one of ${BACKEND_CHOICES.join(', ')}.${formatSuggestions(suggest(name, BACKEND_CHOICES))} Run '${BIN} info' to see which are available here.`,
    );
  }
}

interface Session {
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  readonly cwd: string;
  readonly env: Env;
  json: boolean;
  log: Logger;
  readonly style: HelpStyle;
  readonly runtime: () => Promise<Runtime>;
  readonly signal: AbortSignal;
  readonly interrupter: Interrupter | undefined;
}

function write(s: Session, text: string): void {
  s.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

async function useBackend(s: Session, name: string): Promise<Runtime> {
  checkBackendName(name);
  const rt = await s.runtime();
  const available = await rt.availableBackendNames();
  if (name !== 'auto' && !(available as readonly string[]).includes(name)) {
    const why = (await rt.backendAvailability())[name as BackendName].reason;
    throw new BackendUnavailable(
      `backend '${name}' is unavailable: ${why}. Available here: ${available.join(', ')}. Run '${BIN} doctor' for how to enable it.`,
    );
  }
  await rt.setBackend(name);
  return rt;
}

/** A backend named correctly but not usable on this machine: a failure (1), not a usage error. */
class BackendUnavailable extends Error {
  override name = 'BackendError';
}

async function runBuiltin(
  s: Session,
  name: string,
  rest: readonly string[],
  discovery: Discovery,
  backend: string,
): Promise<number> {
  if (name === 'test') return runTests(s, rest, discovery);
  parseOptions(rest, [], { context: name, cwd: s.cwd, otherNames: GLOBAL_NAMES });
  const rt = await useBackend(s, backend);
  if (name === 'demo') {
    const report = await runDemo(await import('../index.js'));
    write(s, s.json ? safeJson(report) : formatDemo(report));
    return EXIT.ok;
  }
  if (name === 'info') {
    const report = await collectInfo(rt, toolkitVersion());
    write(s, s.json ? safeJson(report) : formatInfo(report, s.style.width));
    return EXIT.ok;
  }
  const deps = defaultDoctorDeps(
    rt,
    repoRoot(),
    { names: discovery.projects.map((p) => p.namespace), problems: discovery.problems },
    s.env,
  );
  const report = await runDoctor(deps);
  write(s, s.json ? safeJson(report) : formatDoctor(report));
  return report.ok ? EXIT.ok : EXIT.failure;
}

/** `test [--all | <namespace>] [--list]`: vitest in a child process, then the summary as the result. */
async function runTests(s: Session, tokens: readonly string[], d: Discovery): Promise<number> {
  const args = parseOptions(tokens, TEST_OPTIONS, {
    context: 'test',
    cwd: s.cwd,
    otherNames: GLOBAL_NAMES,
    positional: 'namespace',
  });
  checkNotNested(s.env);
  const root = repoRoot();
  const target = resolveTestTarget(d, root, {
    all: args.all === true,
    namespace: args.namespace as string | undefined,
  });
  for (const m of target.missing) s.log.warn(`test: ${target.target} declares tests in ${m}, which does not exist`);
  if (args.list === true) {
    write(s, s.json ? safeJson(target) : target.paths.join('\n') || 'every test file (test/**/*.test.ts)');
    return EXIT.ok;
  }
  const report = await runVitest({ root, paths: target.paths, env: s.env, output: s.stderr, signal: s.signal });
  if (s.signal.aborted) return 130;
  const summary = summarizeReport(report, root, target);
  write(s, s.json ? safeJson(summary) : formatTestSummary(summary));
  return summary.success ? EXIT.ok : EXIT.failure;
}

function helpFor(s: Session, d: Discovery, target: Target): string {
  switch (target.kind) {
    case 'overview':
      return formatOverview(d, BUILTINS, toolkitVersion(), s.style);
    case 'builtin':
      return formatBuiltin(BUILTINS.find((b) => b.name === target.name)!, s.style);
    case 'namespace':
      return formatNamespace(target.project, s.style);
    case 'command':
      return formatCommand(target.project, target.command, s.style);
  }
}

/** `--help --json`: the command tree as data, for completion scripts and tooling. */
function helpJson(d: Discovery): unknown {
  return {
    version: toolkitVersion(),
    builtins: BUILTINS.map((b) => ({ name: b.name, summary: b.summary })),
    globalOptions: GLOBAL_OPTIONS,
    namespaces: d.projects.map((p) => ({
      namespace: p.namespace,
      aliases: p.aliases,
      summary: p.summary,
      commands: p.commands.map((c) => ({
        name: c.name,
        summary: c.summary,
        options: c.options,
        examples: c.examples ?? [],
      })),
    })),
  };
}

function reportProblems(s: Session, d: Discovery): void {
  for (const p of d.problems) s.log.warn(`workflow '${p.folder}' not loaded: ${p.message}`);
}

/** An unknown name may be a workflow that failed to load: say why before the usage error. */
function resolveOrExplain(s: Session, d: Discovery, word: string): Target {
  try {
    return resolveTarget(d, word);
  } catch (err) {
    reportProblems(s, d);
    throw err;
  }
}

async function runCommand(
  s: Session,
  project: ProjectSpec,
  command: CommandSpec,
  tokens: readonly string[],
  config: CliConfig,
  backend: string,
): Promise<number> {
  const id = `${project.namespace}:${command.name}`;
  const args = parseOptions(tokens, command.options, {
    context: id,
    cwd: s.cwd,
    defaults: config.values(project.namespace, command.name),
    defaultsSource: config.source,
    defaultsBase: config.base,
    otherNames: GLOBAL_NAMES,
    positional: command.positional,
  });
  const rt = await useBackend(s, backend);
  const quiet = s.log.level === 'error' || s.log.level === 'silent';
  const ctx: CommandContext = {
    json: s.json,
    log: s.log,
    progress: (unit) => createProgress({ stream: s.stderr, format: s.log.format, unit, quiet }),
    output: (value, human) => {
      if (s.json) write(s, safeJson(value));
      else write(s, human ?? (typeof value === 'string' ? value : JSON.stringify(value, null, 2)));
    },
    write: (text) => s.stdout.write(text),
    backend: rt.getBackendName(),
    cwd: s.cwd,
    env: s.env,
    signal: s.signal,
    interactive: s.stderr.isTTY === true,
  };
  const code = await command.run(args as ArgsOf<readonly OptionSpec[]>, ctx);
  if (code === undefined) return EXIT.ok;
  return Number.isInteger(code) && code >= 0 && code <= 255 ? code : EXIT.failure;
}

const JS_ERRORS = new Set(['EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError']);

/** Ctrl-C (the core's CancelledError) or an AbortError from anything given the command's signal. */
function isCancelled(s: Session, err: unknown): boolean {
  return err instanceof Error && (err.name === 'CancelledError' || (err.name === 'AbortError' && s.signal.aborted));
}

function reportError(s: Session, err: unknown): number {
  if (isCancelled(s, err)) {
    // An AbortError's own message ("This operation was aborted") says less than the core's CancelledError.
    const message = (err as Error).name === 'CancelledError' ? (err as Error).message : 'cancelled';
    if (s.log.format === 'json') s.log.error(message, { error: 'CancelledError', exitCode: EXIT.interrupted });
    else s.log.error(message);
    return EXIT.interrupted;
  }
  const usage = isUsageError(err);
  const e = err instanceof Error ? err : new Error(String(err));
  const debug = s.log.level === 'debug';
  // The toolkit's errors say what went wrong in their message; their class names (AtomicWriteError,
  // ShapeError) mean nothing to a user. JavaScript's own (TypeError, RangeError) point at a bug: keep those.
  const named = JS_ERRORS.has(e.name) ? `${e.name}: ${e.message}` : e.message;
  const hint = !usage && !debug ? ' (run with --log-level debug for the stack trace)' : '';
  if (s.log.format === 'json') {
    s.log.error(e.message, {
      error: e.name,
      exitCode: usage ? EXIT.usage : EXIT.failure,
      ...(debug ? { stack: e.stack } : {}),
    });
  } else {
    s.log.error(named + hint);
    if (debug && e.stack && !usage) s.stderr.write(`${e.stack}\n`);
  }
  return usage ? EXIT.usage : EXIT.failure;
}

/** Run one command line (argv without `node` and the script). Resolves to the exit code; never throws. */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const s: Session = {
    stdout,
    stderr,
    cwd,
    env,
    json: false,
    log: createLogger({ stream: stderr, env }),
    style: { width: Math.min(120, stdout.columns ?? 100) },
    runtime: options.runtime ?? loadRuntime,
    signal: options.signal ?? new AbortController().signal,
    interrupter: options.interrupter,
  };
  try {
    const dashDash = argv.indexOf('--');
    const normalized = argv.map((a, i) => (a === '-h' && (dashDash < 0 || i < dashDash) ? '--help' : a));
    const { values: g, rest } = extractOptions(normalized, GLOBAL_OPTIONS, BIN, cwd);
    s.json = g.json === true;
    const level = g['log-level'] as (typeof LOG_LEVELS)[number] | undefined;
    const format = g['log-format'] as (typeof LOG_FORMATS)[number] | undefined;
    s.log = createLogger({ stream: stderr, env, level, format });

    if (g.version === true) {
      write(s, s.json ? safeJson({ version: toolkitVersion() }) : toolkitVersion());
      return EXIT.ok;
    }
    const discovery = await discoverProjects(options.projectsDir);
    const word = rest[0];
    if (word === undefined || word === 'help') {
      const topic = word === 'help' ? rest[1] : undefined;
      if (word === 'help' && rest.length > 2)
        throw new UsageError(`help: expected one topic, got ${rest.slice(1).join(' ')}`);
      const target: Target = topic === undefined ? { kind: 'overview' } : resolveOrExplain(s, discovery, topic);
      if (target.kind === 'overview') reportProblems(s, discovery);
      write(s, s.json ? safeJson(helpJson(discovery)) : helpFor(s, discovery, target));
      return EXIT.ok;
    }
    if (word.startsWith('-')) {
      const name = word.replace(/^-+/, '').split('=')[0];
      const close = suggest(name, GLOBAL_NAMES).map((n) => `--${n}`);
      throw new UsageError(
        `unknown option ${word} before the command.${formatSuggestions(close)} Usage: ${BIN} <namespace>:<command> [options]`,
      );
    }
    let target = resolveOrExplain(s, discovery, word);
    let tokens = rest.slice(1);
    // `benchmark <project> …` is that project's suite command: its help, its options, its run.
    if (target.kind === 'builtin' && target.name === 'benchmark' && !(g.help === true && rest.length === 1)) {
      target = { kind: 'command', ...resolveBenchmark(discovery, rest[1]) };
      tokens = rest.slice(2);
    }
    if (g.help === true || target.kind === 'namespace') {
      write(s, s.json ? safeJson(helpJson(discovery)) : helpFor(s, discovery, target));
      return EXIT.ok;
    }

    // A command that owns --config (its own file format) gets the path as its option instead.
    const ownsConfig = target.kind === 'command' && target.command.ownsConfig === true;
    // Loaded here, not at the top: its parsers (YAML, TOML, zod) are not needed for help.
    const { loadCliConfig } = await import('./config.js');
    const config = loadCliConfig({
      file: ownsConfig ? undefined : (g.config as string | undefined),
      profile: g.profile as string | undefined,
      env,
      projects: discovery.projects,
    });
    s.log = createLogger({ stream: stderr, env, level: level ?? config.logLevel, format: format ?? config.logFormat });
    // One rule for every command and built-in: --backend, else the config file's, else auto.
    const backend = (g.backend as string | undefined) ?? config.backend ?? DEFAULT_BACKEND;
    checkBackendName(backend);
    if (target.kind === 'overview') return EXIT.ok;
    const rt = await s.runtime();
    rt.setWarningHandler((m) => s.log.warn(m));
    // The core's work is cancelled through the command's signal; restored afterwards for in-process callers.
    const signal = rt.setAbortSignal(s.signal);
    const interrupter = rt.setInterrupter(s.interrupter);
    rt.setStrictBackend(g['strict-backend'] === true);
    try {
      const code =
        target.kind === 'builtin'
          ? await runBuiltin(s, target.name, tokens, discovery, backend)
          : await runCommand(
              s,
              target.project,
              target.command,
              ownsConfig && g.config !== undefined ? [...tokens, '--config', g.config as string] : tokens,
              config,
              backend,
            );
      // A command that stopped early on Ctrl-C and returned what it had still ends as interrupted.
      return s.signal.aborted && code === EXIT.ok ? EXIT.interrupted : code;
    } finally {
      rt.setAbortSignal(signal);
      rt.setInterrupter(interrupter);
      rt.setStrictBackend(false);
    }
  } catch (err) {
    return reportError(s, err);
  }
}

/** Entry point for the bin shim: process argv and streams; Ctrl-C cancels the command (exit 130), a second one exits at once. */
export async function runCli(): Promise<void> {
  const controller = new AbortController();
  const interrupt = (): Error => {
    if (!controller.signal.aborted) controller.abort(new CancelledError('interrupted (Ctrl-C)'));
    return controller.signal.reason as Error;
  };
  // Between tasks a handler sees Ctrl-C; during a synchronous stretch of ops the interrupter does.
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    process.stderr.write('\nstopping (press Ctrl-C again to exit now)\n');
    interrupt();
  };
  process.on('SIGINT', onSigint);
  const code = await main(process.argv.slice(2), {
    signal: controller.signal,
    interrupter: sigintInterrupter(interrupt),
  });
  process.off('SIGINT', onSigint);
  process.exitCode = code;
  // A backend may hold handles (a GPU device, worker threads) that keep the loop alive; do not hang on them.
  setTimeout(() => process.exit(code), 500).unref();
}
