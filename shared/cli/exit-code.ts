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
