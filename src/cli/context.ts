// What every command receives: where to write, the global flags, colors and a progress sink.
// Commands never touch process.* directly, so the whole CLI runs in-process in tests.
import type pc from 'picocolors';
import type { ProgressSink } from '../progress.js';

export interface CliIO {
  stdout: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface GlobalOptions {
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  color: boolean;
  config?: string;
  set: Record<string, string>;
}

export type Colors = ReturnType<typeof pc.createColors>;

export interface CliContext {
  io: CliIO;
  options: GlobalOptions;
  colors: Colors;
  progress: ProgressSink;
  /** Prints a line of human output (suppressed by --quiet, never mixed into --json output). */
  say(line: string): void;
  /** Prints the command's result: JSON with --json, otherwise the given text. */
  result(value: unknown, text: () => string): void;
}

/** Colors are on only for a TTY, without NO_COLOR, and unless --no-color was given. */
export function wantsColor(io: CliIO, flag: boolean): boolean {
  if (!flag) return false;
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '') return false;
  if (io.env.FORCE_COLOR !== undefined && io.env.FORCE_COLOR !== '0') return true;
  return io.stdout.isTTY === true;
}
