import type pino from 'pino';
import { ConfigError } from '../config/config';

// What every command-line tool of Warren shares: its input and output, its exit codes, and how it ends.

/** What a command-line tool reads and writes: its environment, standard output and error. */
export interface CliIo {
  env: Record<string, string | undefined>;
  out(text: string): void;
  err(text: string): void;
  /** Where the tool's own log lines (warnings only) go. @defaultValue standard error */
  logDestination?: pino.DestinationStream;
}

/** A tool's exit codes: done, failed, bad usage, bad configuration (sysexits' EX_CONFIG). */
export const EXIT = { ok: 0, failed: 1, usage: 2, config: 78 } as const;

/**
 * Runs a command-line tool's main and turns its result into the process's exit code: the code it returned, or 1
 * with a one-line message on stderr when it threw (never an unhandled rejection with a stack trace).
 */
export function exitWith(tool: string, main: Promise<number>): void {
  main.then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${tool}: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}

/**
 * Reads a tool's configuration through `load`: its value, or the configuration exit code after one line on stderr
 * naming the bad variable (as every Warren tool reports it). Anything but a ConfigError is a bug, and is thrown.
 */
export function loadToolConfig<T>(load: () => T, io: Pick<CliIo, 'err'>, prefix = ''): { config: T } | { exit: number } {
  try {
    return { config: load() };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(`${prefix}${error.message}\n`);
    return { exit: EXIT.config };
  }
}
