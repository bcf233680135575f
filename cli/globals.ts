/** Options every invocation accepts, wherever they stand on the command line. */
import type { OptionSpec } from './command.js';

export const BACKEND_CHOICES = ['js', 'wasm', 'webgpu', 'native', 'auto'] as const;
/** What every command and built-in runs on when neither --backend nor the config file names one. */
export const DEFAULT_BACKEND = 'auto';
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export const LOG_FORMATS = ['human', 'json'] as const;

export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'backend',
    type: 'string',
    valueName: BACKEND_CHOICES.join('|'),
    description: 'Backend every command runs on (default auto: the fastest available here, see `info`)',
  },
  {
    name: 'strict-backend',
    type: 'boolean',
    description:
      'Fail instead of falling back: an op the backend cannot run with its own kernel (or an input on another backend) is an error',
  },
  { name: 'json', type: 'boolean', description: 'Write one machine-readable JSON result on stdout' },
  { name: 'log-format', type: 'enum', choices: LOG_FORMATS, description: 'Log lines on stderr as text or JSON' },
  {
    name: 'log-level',
    type: 'enum',
    choices: LOG_LEVELS,
    description: 'Least severe log level shown; debug adds stack traces',
  },
  {
    name: 'config',
    type: 'path',
    valueName: 'file',
    description:
      'Option values from a .yaml, .toml or .json file: backend, log-level, log-format at the top, ' +
      'command options under <namespace>.<command>.<option>; EAI_<NAMESPACE>__<COMMAND>__<OPTION> variables work too',
  },
  {
    name: 'profile',
    type: 'string',
    valueName: 'name',
    description: "Apply the config file's profiles.<name> table on top of it (default: EAI_PROFILE)",
  },
  { name: 'help', type: 'boolean', description: 'Show help (also -h)' },
  { name: 'version', type: 'boolean', description: 'Print the toolkit version' },
];

export const GLOBAL_NAMES: readonly string[] = GLOBAL_OPTIONS.map((o) => o.name);

/** Names a workflow may not use: the built-in commands. */
export const BUILTIN_COMMANDS = ['info', 'doctor', 'demo', 'test', 'benchmark', 'help'] as const;
