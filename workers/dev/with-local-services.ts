/**
 * `node dist/workers/dev/with-local-services.js <command> [args...]`: runs a command with a RabbitMQ and a Redis
 * to talk to, so that the README's `npm ci && npm run fleet` and `npm ci && npm test` work on a machine with Node and
 * a Docker engine and nothing else.
 *
 * For AMQP_URL and REDIS_URL (defaults as in shared/config/config.ts) it tries a TCP connect to host:port. What
 * answers is used as it is, never touched. What does not answer and points at this machine gets a throwaway container
 * on that very port (so the URL stays right), one line on stderr saying so, and is removed when the command ends:
 * normal exit, failure, Ctrl-C or SIGTERM, and even a kill -9 of this process (a detached reaper watches it). A URL
 * that points elsewhere is left alone: the services report a broker they cannot reach better than a guess would.
 *
 * This file is the command line: signals, the child, the exit status. The rest sits beside it, one concern a file:
 * ensure-local-services.ts decides per service, local-target.ts which URLs a container can stand in for,
 * service-specs.ts what each service is, stand-in-container.ts starts and reaps a container, container-image.ts picks
 * its image, tcp-probes.ts asks a port.
 *
 * Development tooling only: nothing under shared/ or workers/<service>/ imports it, and no service runs Docker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { ensureLocalServices, type LocalServices } from './ensure-local-services';
import { LocalServicesError } from './local-services-error';

// The launcher's library face, for anyone who wants the services without the command around them.
export { ensureLocalServices, type LocalServices } from './ensure-local-services';
export { LocalServicesError } from './local-services-error';

/** Runs the command with the services in place; exits with its status once the containers are gone. */
async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (!command) {
    process.stderr.write('usage: with-local-services <command> [args...]\n');
    process.exit(64);
  }
  let child: ChildProcess | undefined;
  const aborter = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  // A terminal's Ctrl-C reaches the command directly (same process group); a SIGTERM or a signal aimed at this
  // process alone is passed on. Either way this process stays until the command has ended, then cleans up.
  const onSignal = (signal: NodeJS.Signals) => {
    signalled ??= signal;
    if (child) child.kill(signal);
    else aborter.abort();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  // `kill <npm's pid>` ends npm's `sh -c` without passing the signal on, which would leave this process and the
  // command running, orphaned. Being re-parented is the sign: treat it as the SIGTERM that was meant.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && onSignal('SIGTERM'), 1000).unref();

  let services: LocalServices | undefined;
  let status: number;
  try {
    services = await ensureLocalServices(process.env, { signal: aborter.signal });
    const live = services;
    process.once('exit', () => live.stopSync());
    if (signalled) throw aborter.signal.reason;
    const spawned = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...services.env } });
    child = spawned;
    status = await new Promise<number>((resolve) => {
      spawned.once('error', (error) => {
        process.stderr.write(`[warren] could not run ${command}: ${error.message}\n`);
        resolve(127);
      });
      spawned.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
    });
  } catch (error) {
    if (signalled) status = 128 + constants.signals[signalled];
    else if (error instanceof LocalServicesError) {
      process.stderr.write(`${error.message}\n`);
      status = 69; // EX_UNAVAILABLE
    } else throw error;
  } finally {
    await services?.stop();
  }
  process.exit(status);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(70);
  });
}
