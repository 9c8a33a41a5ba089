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
 * Development tooling only: nothing under shared/ or workers/<service>/ imports it, and no service runs Docker.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { constants } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';

const run = promisify(execFile);

type Kind = 'rabbitmq' | 'redis';

interface ServiceSpec {
  kind: Kind;
  label: string;
  envVar: 'AMQP_URL' | 'REDIS_URL';
  /** The services' own defaults (shared/config/config.ts), so "unset" means the same thing here as there. */
  defaultUrl: string;
  protocol: string;
  defaultPort: number;
  containerPort: number;
  /** Arguments after the image. Redis: no protected mode (connections arrive from Docker's proxy, not loopback), no disk. */
  command: string[];
  /** RabbitMQ takes 10-20 s to boot, a stand-in on a busy machine longer. */
  startupTimeoutMs: number;
  /** True once the service itself answers: Docker's port proxy accepts TCP before the process inside listens. */
  ready(host: string, port: number): Promise<boolean>;
}

const RABBITMQ: ServiceSpec = {
  kind: 'rabbitmq',
  label: 'RabbitMQ',
  envVar: 'AMQP_URL',
  defaultUrl: 'amqp://guest:guest@127.0.0.1:5672',
  protocol: 'amqp:',
  defaultPort: 5672,
  containerPort: 5672,
  command: [],
  startupTimeoutMs: 180_000,
  // The AMQP 0-9-1 protocol header; a broker answers with a Connection.Start method frame (frame type 1).
  ready: (host, port) => exchange(host, port, Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'), (reply) => reply[0] === 1),
};

const REDIS: ServiceSpec = {
  kind: 'redis',
  label: 'Redis',
  envVar: 'REDIS_URL',
  defaultUrl: 'redis://127.0.0.1:6379',
  protocol: 'redis:',
  defaultPort: 6379,
  containerPort: 6379,
  command: ['redis-server', '--protected-mode', 'no', '--save', '', '--appendonly', 'no'],
  startupTimeoutMs: 30_000,
  ready: (host, port) => exchange(host, port, Buffer.from('PING\r\n'), (reply) => reply.toString('latin1').startsWith('+PONG')),
};

/**
 * RabbitMQ's HTTP ports, published too when they are free on 127.0.0.1: the management UI for people, and the
 * Prometheus endpoint the observability suite scrapes (test/observability/prometheus-harness.ts).
 */
const RABBITMQ_EXTRA_PORTS = [15672, 15692];

/** A set-up failure the user can act on: printed as one line, no stack. */
export class LocalServicesError extends Error {}

export interface LocalServices {
  /** What the command needs on top of its environment: both URLs, and how to reach a container broker's rabbitmqctl. */
  env: Record<string, string>;
  /** Removes every container started here (idempotent). */
  stop(): Promise<void>;
  /** The same, synchronously: for process 'exit', where nothing asynchronous runs any more. */
  stopSync(): void;
}

/**
 * Makes sure AMQP_URL and REDIS_URL of `env` answer, starting a container for each local one that does not.
 * Prints one line per container started to `log`. `signal` aborts a start-up in progress (Ctrl-C while RabbitMQ boots).
 */
export async function ensureLocalServices(
  env: NodeJS.ProcessEnv,
  options: { log?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<LocalServices> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  /** Names of the containers started here, to remove. */
  const started: string[] = [];
  const result: LocalServices = {
    env: {},
    stop: async () => {
      const names = started.splice(0);
      if (names.length > 0) await run('docker', ['rm', '-f', ...names], { timeout: 60_000 }).catch(() => undefined);
    },
    stopSync: () => {
      const names = started.splice(0);
      if (names.length > 0) spawnSync('docker', ['rm', '-f', ...names], { stdio: 'ignore', timeout: 60_000 });
    },
  };
  // Under Sentinel, REDIS_URL's host is not where Redis is: nothing to probe.
  const specs = env['REDIS_SENTINELS']?.trim() ? [RABBITMQ] : [RABBITMQ, REDIS];
  try {
    await Promise.all(
      specs.map(async (spec) => {
        const url = env[spec.envVar]?.trim() || spec.defaultUrl;
        result.env[spec.envVar] = url;
        const target = localTarget(spec, url);
        if (!target || (await answers(target.host, target.port))) return;
        const name = await startContainer(spec, target, started, log, options.signal);
        // The suites make a vhost each through rabbitmqctl (test/helpers/broker.ts); the fleet ignores it.
        if (spec.kind === 'rabbitmq') result.env['WARREN_TEST_RABBITMQCTL'] = `docker exec ${name} rabbitmqctl`;
      }),
    );
  } catch (error) {
    await result.stop();
    throw error;
  }
  return result;
}

interface Target {
  host: string;
  port: number;
  /** The host address to publish the container's port on, so that this URL reaches it. */
  bind: string;
}

/**
 * host:port of a single-node URL of the expected scheme on this machine; undefined for anything a throwaway
 * container could not stand in for, which is then left to the services to report.
 */
function localTarget(spec: ServiceSpec, url: string): Target | undefined {
  // A node list is a cluster (docs/deploy.md), and amqps/rediss need certificates: not a laptop's throwaway broker.
  if (url.includes(',')) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined; // the service's config check names a malformed URL better
  }
  if (parsed.protocol !== spec.protocol) return undefined;
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = parsed.port ? Number(parsed.port) : spec.defaultPort;
  const bind = host === 'localhost' ? '127.0.0.1' : /^127\.\d+\.\d+\.\d+$/.test(host) ? host : host === '::1' ? '[::1]' : undefined;
  return bind === undefined ? undefined : { host, port, bind };
}

/** A TCP connect within a second: the issue's test for "something is there", whatever it is. */
function answers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Sends `request` and tells whether the first bytes back satisfy `accept`; false on silence, close or error. */
function exchange(host: string, port: number, request: Buffer, accept: (reply: Buffer) => boolean, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => socket.write(request));
    socket.once('data', (reply) => done(accept(reply)));
    socket.once('close', () => done(false));
    socket.once('error', () => done(false));
  });
}

async function startContainer(
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
 * docker-compose.yml's image for the service when it is here or can be pulled; else the stand-in that
 * test/docker/standin-images.sh builds for a machine without a registry (compose.standins.yml names the current
 * tag; any other local warren-standin tag of the service will do, newest first).
 */
async function chooseImage(spec: ServiceSpec, where: string): Promise<string> {
  const root = repoRoot();
  const composeImage = imageIn(path.join(root, 'docker-compose.yml'), spec.kind);
  if (composeImage && ((await hasImage(composeImage)) || (await pulled(composeImage)))) return composeImage;
  const standins = [
    imageIn(path.join(root, 'test/docker/compose.standins.yml'), spec.kind),
    ...(await localTags(`warren-standin/${spec.kind}`)),
  ];
  for (const image of standins) if (image && (await hasImage(image))) return image;
  throw new LocalServicesError(
    `[warren] nothing answered at ${where} and there is no ${spec.label} image to run` +
      `${composeImage ? ` (${composeImage} is not here and cannot be pulled)` : ''}: build the stand-in with \`bash test/docker/standin-images.sh ${spec.kind}\`, or start ${spec.label} there yourself`,
  );
}

/** The checkout this file belongs to: from workers/dev/ (tsx) or dist/workers/dev/ (built), the folder holding package.json. */
function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

function imageIn(file: string, service: Kind): string | undefined {
  try {
    const doc = parseYaml(readFileSync(file, 'utf8')) as { services?: Record<string, { image?: unknown }> } | null;
    const image = doc?.services?.[service]?.image;
    return typeof image === 'string' && !image.includes('$') ? image : undefined;
  } catch {
    return undefined;
  }
}

async function hasImage(image: string): Promise<boolean> {
  return run('docker', ['image', 'inspect', image], { timeout: 15_000 }).then(
    () => true,
    () => false,
  );
}

/** Quietly: one pull per machine, and with no registry it fails in well under a second. */
async function pulled(image: string): Promise<boolean> {
  return run('docker', ['pull', '--quiet', image], { timeout: 300_000 }).then(
    () => true,
    () => false,
  );
}

async function localTags(repository: string): Promise<string[]> {
  try {
    const { stdout } = await run('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', repository], { timeout: 15_000 });
    return stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.endsWith(':<none>'))
      .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  } catch {
    return [];
  }
}

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
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

function firstLine(error: unknown): string {
  const e = error as { stderr?: string; message?: string };
  return (e.stderr?.trim() || e.message || String(error)).split('\n')[0]!;
}

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
