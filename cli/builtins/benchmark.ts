/**
 * `efficientai-toolkit benchmark <project> [options]`: one workflow's benchmark suite by the
 * workflow's name. Each name maps to the command that measures it; the command line after the
 * name is that command's, so --json, --out and the suite's own options work as they do there.
 */
import { UsageError } from '../../core/errors.js';
import type { CommandSpec, ProjectSpec } from '../command.js';
import type { Discovery } from '../discover.js';
import type { BuiltinHelp } from '../help.js';

/** Workflow (as users name it) → the command that runs its benchmark suite. */
export const BENCHMARK_SUITES: Readonly<Record<string, string>> = {
  'style-transfer': 'bench:style',
  ops: 'bench:ops',
  lora: 'lora:benchmark',
  compression: 'compression:benchmark',
};

export const benchmarkHelp: BuiltinHelp = {
  name: 'benchmark',
  summary: "Run a workflow's benchmark suite: style-transfer, ops, lora or compression",
  usage: "efficientai-toolkit benchmark <project> [that suite's options]",
  description:
    'A name for the suite each workflow is measured with: ' +
    Object.entries(BENCHMARK_SUITES)
      .map(([name, cmd]) => `${name} runs ${cmd}`)
      .join(', ') +
    ". Everything after the project name is the suite's own command line (--json, --out DIR, --history FILE, sizes, " +
    "backends); 'benchmark <project> --help' shows it. A suite whose workflow has not been built yet is a usage error " +
    'that says so. Seed project names (e.g. coreml-stable-diffusion-style-transfer) work too.',
  examples: [
    'efficientai-toolkit benchmark style-transfer --sizes 256 --json',
    'efficientai-toolkit benchmark ops --backends js,native --sizes 256,512 --out bench/out',
    'efficientai-toolkit benchmark ops --help',
  ],
};

/** The command a `benchmark <project>` line runs. @throws UsageError for an unknown or not-yet-built suite. */
export function resolveBenchmark(
  d: Discovery,
  word: string | undefined,
): { project: ProjectSpec; command: CommandSpec } {
  const names = Object.keys(BENCHMARK_SUITES);
  if (word === undefined || word.startsWith('-')) {
    throw new UsageError(`benchmark: name the suite to run: one of ${names.join(', ')}`);
  }
  const aliased = d.projects.find((p) => p.aliases.includes(word))?.namespace ?? word;
  const id = BENCHMARK_SUITES[aliased];
  if (id === undefined) throw new UsageError(`benchmark: unknown suite '${word}'; choose one of ${names.join(', ')}`);
  const [ns, name] = id.split(':');
  const project = d.projects.find((p) => p.namespace === ns);
  const command = project?.commands.find((c) => c.name === name);
  if (!project || !command) {
    const ready = names.filter((n) => {
      const [rns, rname] = BENCHMARK_SUITES[n].split(':');
      return d.projects.some((p) => p.namespace === rns && p.commands.some((c) => c.name === rname));
    });
    throw new UsageError(
      `benchmark ${aliased}: not yet available — the ${aliased} workflow has no benchmark command yet (it will run ${id}). ` +
        `Available now: ${ready.map((n) => `${n} (${BENCHMARK_SUITES[n]})`).join(', ') || 'none'}`,
    );
  }
  return { project, command };
}
