/** Runs the CLI in process (no spawn) and captures what it writes: the one helper every CLI test uses. */
import { tmpdir } from 'node:os';
import { type MainOptions, main } from '../../cli/main.js';

/** A stand-in for process.stdout/stderr that keeps the text. */
export class Sink {
  text = '';
  isTTY = false;
  columns = 100;
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** `main(argv)` with captured output; env defaults to empty and cwd to the temp dir. */
export async function runCli(
  argv: readonly string[],
  options: Omit<MainOptions, 'stdout' | 'stderr'> = {},
): Promise<CliRun> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await main(argv, { env: {}, cwd: tmpdir(), ...options, stdout, stderr });
  return { code, out: stdout.text, err: stderr.text };
}

/**
 * `[command, --flag, value, ...]` from `flags` in their order; `true` is a bare switch. Long flag lists read
 * better as an object than as an array with one argument a line.
 */
export function argvOf(command: string, flags: Readonly<Record<string, string | number | true>>): string[] {
  return [
    command,
    ...Object.entries(flags).flatMap(([flag, v]) => (v === true ? [`--${flag}`] : [`--${flag}`, `${v}`])),
  ];
}
