/**
 * The unified CLI: `efficientai-toolkit namespace:command [options]`, plus the built-in
 * `info`, `doctor`, `help` and `--version`. Exit codes: 0 success, 1 failure, 2 usage error.
 * `main` is side-effect free and injectable (streams, env, projects folder, runtime) for
 * tests; `runCli` wires it to the process for the bin shim.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendName } from '../core/backend.js';
import { UsageError } from '../core/errors.js';
import { createLogger, type Logger, type LogStream, safeJson } from '../node/log.js';
import { type Env, repoRoot } from '../node/paths.js';
import { createProgress } from '../node/progress.js';
import { extractOptions, parseOptions } from './args.js';
import { demoHelp, formatDemo, runDemo } from './builtins/demo.js';
import { defaultDoctorDeps, doctorHelp, formatDoctor, runDoctor } from './builtins/doctor.js';
import { collectInfo, formatInfo, infoHelp } from './builtins/info.js';
import {
  type ArgsOf,
  type CommandContext,
  type CommandSpec,
  EXIT,
  type OptionSpec,
  type ProjectSpec,
} from './command.js';
import { type CliConfig, loadCliConfig } from './config.js';
import { type Discovery, discoverProjects } from './discover.js';
import { BACKEND_CHOICES, GLOBAL_NAMES, GLOBAL_OPTIONS, type LOG_FORMATS, type LOG_LEVELS } from './globals.js';
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
  readonly signal?: AbortSignal;
}

const helpHelp: BuiltinHelp = {
  name: 'help',
  summary: 'Show help for everything, a namespace or a command',
  usage: `${BIN} help [namespace | namespace:command | info | doctor]`,
  examples: [`${BIN} help`, `${BIN} help lora`, `${BIN} help lora:train`],
};
const BUILTINS: readonly BuiltinHelp[] = [infoHelp, doctorHelp, demoHelp, helpHelp];

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
  backend?: string,
): Promise<number> {
  parseOptions(rest, [], { context: name, cwd: s.cwd, otherNames: GLOBAL_NAMES });
  const rt = backend ? await useBackend(s, backend) : await s.runtime();
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

function reportError(s: Session, err: unknown): number {
  const usage = isUsageError(err);
  const e = err instanceof Error ? err : new Error(String(err));
  const debug = s.log.level === 'debug';
  // Core errors keep their class name (ShapeError: ...); plain errors just say what went wrong.
  const named = !usage && e.name !== 'Error' ? `${e.name}: ${e.message}` : e.message;
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
    const target = resolveOrExplain(s, discovery, word);
    if (g.help === true || target.kind === 'namespace') {
      write(s, s.json ? safeJson(helpJson(discovery)) : helpFor(s, discovery, target));
      return EXIT.ok;
    }

    const config = loadCliConfig({
      file: g.config as string | undefined,
      profile: g.profile as string | undefined,
      env,
      projects: discovery.projects,
    });
    s.log = createLogger({ stream: stderr, env, level: level ?? config.logLevel, format: format ?? config.logFormat });
    const backend = (g.backend as string | undefined) ?? config.backend;
    if (backend !== undefined) checkBackendName(backend);
    const rt = await s.runtime();
    rt.setWarningHandler((m) => s.log.warn(m));
    rt.setStrictBackend(g['strict-backend'] === true);

    if (target.kind === 'builtin') return await runBuiltin(s, target.name, rest.slice(1), discovery, backend);
    if (target.kind === 'command')
      return await runCommand(s, target.project, target.command, rest.slice(1), config, backend ?? 'auto');
    return EXIT.ok;
  } catch (err) {
    return reportError(s, err);
  }
}

/** Entry point for the bin shim: process argv and streams, Ctrl-C aborts the command once, twice exits 130. */
export async function runCli(): Promise<void> {
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\nstopping (press Ctrl-C again to exit now)\n');
    controller.abort(new Error('interrupted by Ctrl-C'));
  };
  process.on('SIGINT', onSigint);
  const code = await main(process.argv.slice(2), { signal: controller.signal });
  process.off('SIGINT', onSigint);
  process.exitCode = code;
  // A backend may hold handles (a GPU device, worker threads) that keep the loop alive; do not hang on them.
  setTimeout(() => process.exit(code), 500).unref();
}
