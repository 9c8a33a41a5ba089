/**
 * Starting one throwaway container where nothing answered, and making sure it goes away again: `--rm` for a
 * container that stops, a detached reaper for a launcher killed with -9, and its last log lines when it never got up.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { chooseImage } from './container-image';
import { LocalServicesError } from './local-services-error';
import type { Target } from './local-target';
import { RABBITMQ_EXTRA_PORTS, type ServiceSpec } from './service-specs';
import { isFree } from './tcp-probes';

const run = promisify(execFile);

/**
 * Runs the service in a container published on `target`, records its name in `started` (for the caller to remove)
 * as soon as it exists, and resolves with that name once the service inside answers.
 */
export async function startContainer(
  spec: ServiceSpec,
  target: Target,
  started: string[],
  log: (line: string) => void,
  signal: AbortSignal | undefined,
): Promise<string> {
  const where = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  await requireDocker(spec, where);
  const image = await chooseImage(spec, where);
  signal?.throwIfAborted();
  const name = `warren-dev-${spec.kind}-${randomBytes(3).toString('hex')}`;
  const ports = ['-p', `${target.bind}:${target.port}:${spec.containerPort}`];
  if (spec.kind === 'rabbitmq')
    for (const extra of RABBITMQ_EXTRA_PORTS) if (await isFree(extra)) ports.push('-p', `127.0.0.1:${extra}:${extra}`);
  // --rm: a container that stops by any route (docker stop, its own crash) leaves nothing behind. The label names
  // the process that owns it, so anyone can tell whose a stray one was.
  const args = ['run', '-d', '--rm', '--name', name, '--label', `warren.dev.owner-pid=${process.pid}`, ...ports, image, ...spec.command];
  try {
    await run('docker', args, { timeout: 60_000 });
  } catch (error) {
    throw new LocalServicesError(
      `[warren] nothing answered at ${where}; starting ${spec.label} in a container failed: ${firstLine(error)}`,
    );
  }
  started.push(name);
  reap(name);
  log(`[warren] nothing answered at ${where}: started ${spec.label} in container ${name} (${image}); it stops when this command ends`);
  await awaitReady(spec, target, name, signal);
  return name;
}

async function requireDocker(spec: ServiceSpec, where: string): Promise<void> {
  try {
    await run('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 15_000 });
  } catch {
    throw new LocalServicesError(
      `[warren] nothing answered at ${where} and no Docker engine answers (\`docker version\` fails): start ${spec.label} there, or a Docker engine to run it in`,
    );
  }
}

/**
 * Polls until the service answers. Meanwhile `docker logs -f` keeps the container's last lines: with --rm a
 * container that dies takes its logs along, and they are the only clue to why.
 */
async function awaitReady(spec: ServiceSpec, target: Target, name: string, signal: AbortSignal | undefined): Promise<void> {
  const tail: string[] = [];
  let exited = false;
  const logs = spawn('docker', ['logs', '-f', name], { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => {
    tail.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 15));
  };
  logs.stdout.on('data', keep);
  logs.stderr.on('data', keep);
  logs.once('exit', () => (exited = true));
  const deadline = Date.now() + spec.startupTimeoutMs;
  try {
    for (;;) {
      signal?.throwIfAborted();
      if (await spec.ready(target.host, target.port)) return;
      if (exited || Date.now() > deadline) {
        const why = exited ? 'exited during start-up' : `did not answer within ${spec.startupTimeoutMs / 1000} s`;
        throw new LocalServicesError(`[warren] ${spec.label} in container ${name} ${why}; its last lines:\n${tail.join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    logs.kill();
  }
}

/**
 * A detached shell that outlives a kill -9 of this process and then removes the container; in its own process
 * group, so the Ctrl-C that stops the command does not stop it first. A normal stop has removed it already.
 */
function reap(name: string): void {
  const reaper = spawn(
    'sh',
    ['-c', 'while kill -0 "$0" 2>/dev/null; do sleep 1; done; exec docker rm -f "$1" >/dev/null 2>&1', String(process.pid), name],
    {
      detached: true,
      stdio: 'ignore',
    },
  );
  reaper.unref();
}

/** Docker's own complaint (its stderr's first line) is what the user needs, not execFile's wrapping of it. */
function firstLine(error: unknown): string {
  const e = error as { stderr?: string; message?: string };
  return (e.stderr?.trim() || e.message || String(error)).split('\n')[0]!;
}
