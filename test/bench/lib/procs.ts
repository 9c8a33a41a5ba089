import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { QueueType, WarrenConfig } from '../../../shared/config/config';
import { SERVICE_DECLARATIONS, SERVICE_NAMES, settingsOf, type ServiceName } from '../../../workers/registry';
import { fleetPorts, startOrder } from '../../helpers/fleet-ports';
import type { ScriptSources } from '../peers/plain-calls';
import { EXCHANGE } from './payload';
import { Inspector } from './inspect';
import type { BenchScope } from './scope';

const ROOT = path.resolve(__dirname, '../../..');
const RUN = path.join(ROOT, 'dist/workers/run.js');
const RAW_PATTERN = path.join(__dirname, '../workers/raw-pattern.ts');
const PLAIN_FLEET = path.join(__dirname, '../workers/plain-fleet.ts');

/** A child process's environment for one scope: this process's, plus the scope's broker, Redis and key prefix. */
export function scopeEnv(scope: BenchScope, queueType: QueueType): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AMQP_URL: scope.url,
    REDIS_URL: scope.redisUrl,
    REDIS_KEY_PREFIX: scope.prefix,
    EVENTS_EXCHANGE: EXCHANGE,
    QUEUE_TYPE: queueType,
  };
}

/** Resident set size of a process in MB, from /proc (NaN once it is gone). */
export function rssMb(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

const live = new Set<ChildProcess>();
// However the harness ends (an error, Ctrl-C, process.exit), no child outlives it: a service left running would
// keep reconnecting to a deleted vhost for ever.
process.on('exit', () => {
  for (const child of live) if (child.exitCode === null) child.kill('SIGTERM');
});

/** Ends every child still running (SIGTERM, SIGKILL after 10 s): first thing on an interrupted run. */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...live].map((child) => stopChild(child)));
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => (clearTimeout(timer), resolve()));
    child.kill('SIGTERM');
  });
}

const INSPECTOR_CHATTER = /^(Debugger (listening|attached|ending)|For help, see: )/;

/** A group of child processes that `stop()` ends with SIGTERM (SIGKILL after 10 s). */
export class ProcessGroup {
  readonly children = new Map<string, ChildProcess>();

  pids(): Record<string, number> {
    return Object.fromEntries([...this.children].map(([name, c]) => [name, c.pid!]));
  }

  add(name: string, child: ChildProcess): ChildProcess {
    this.children.set(name, child);
    live.add(child);
    child.stderr?.on('data', (chunk: Buffer) => {
      // The inspector's own chatter (a service started with --inspect) is not the service's to report.
      const text = chunk
        .toString('utf8')
        .split('\n')
        .filter((line) => line && !INSPECTOR_CHATTER.test(line))
        .join('\n');
      if (text) process.stderr.write(`[${name}] ${text}\n`);
    });
    child.once('exit', () => {
      this.children.delete(name);
      live.delete(child);
    });
    return child;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.children.values()].map((child) => stopChild(child)));
  }
}

export interface WarrenFleet extends ProcessGroup {
  api: string;
  ops: Record<ServiceName, string>;
  /** Each service's inspector, when started with `inspect` (the soak's full-GC probes). */
  inspectors: Partial<Record<ServiceName, Inspector>>;
}

/**
 * Warren's fleet as `npm run fleet` runs it: each service its own process (`node dist/workers/run.js`), with
 * production defaults except the scope's vhost, key prefix and free ports; logs go to /dev/null.
 */
export async function startWarrenFleet(
  scope: BenchScope,
  queueType: QueueType,
  env: Record<string, string> = {},
  inspect = false,
): Promise<WarrenFleet> {
  if (!existsSync(RUN)) throw new Error(`${RUN} is missing: run \`npm run build\` first (npm run bench does)`);
  const ports = await fleetPorts(SERVICE_DECLARATIONS);
  const group = new ProcessGroup() as WarrenFleet;
  group.inspectors = {};
  group.api = ports.api;
  group.ops = ports.ops;
  const childEnv = { ...scopeEnv(scope, queueType), ...ports.env, ...env };
  try {
    // Consumers first, so that the order service's first publish finds their queues bound.
    for (const name of startOrder(SERVICE_NAMES)) {
      const profile = process.env['BENCH_PROFILE_DIR']
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE_DIR']}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`]
        : [];
      // Port 0: the inspector takes a free port on the loopback interface and names it on stderr.
      const inspector = inspect ? ['--inspect=127.0.0.1:0'] : [];
      const child = spawn(process.execPath, [...profile, ...inspector, RUN, name], { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
      const attached = inspect ? Inspector.attach(child) : undefined;
      group.add(name, child);
      if (attached) group.inspectors[name] = await attached;
      await waitReady(`${group.ops[name]}/readyz`, name);
    }
  } catch (error) {
    await group.stop();
    throw error;
  }
  return group;
}

/** The raw pattern's three processes (see workers/raw-pattern.ts), each reporting ready over IPC. */
export async function startRawPattern(scope: BenchScope, queueType: QueueType, mirror: boolean): Promise<ProcessGroup> {
  const env = { ...process.env, AMQP_URL: scope.url, EVENTS_EXCHANGE: EXCHANGE, QUEUE_TYPE: queueType, RAW_MIRROR: mirror ? '1' : '0' };
  return startTsxGroup(RAW_PATTERN, 'raw', env);
}

/**
 * The plain same-work fleet's three processes (see workers/plain-fleet.ts): Warren's settings that shape the work
 * (prefetch, retention, lease, order timeout, relay interval and grace) from `config`, Warren's Lua in `sources`.
 */
export async function startPlainFleet(
  scope: BenchScope,
  queueType: QueueType,
  config: WarrenConfig,
  sources: ScriptSources,
): Promise<ProcessGroup> {
  const env = {
    ...scopeEnv(scope, queueType),
    PLAIN_SCRIPTS: JSON.stringify(sources),
    PREFETCH: String(config.prefetch),
    IDEMPOTENCY_RETENTION_MS: String(config.idempotencyRetentionMs),
    IDEMPOTENCY_LEASE_MS: String(config.idempotencyLeaseMs),
    ORDER_TIMEOUT_MS: String(settingsOf(config, 'order').ORDER_TIMEOUT_MS),
    OUTBOX_RELAY_INTERVAL_MS: String(settingsOf(config, 'order').OUTBOX_RELAY_INTERVAL_MS),
    // Warren's relay leaves an entry younger than a publish timeout and a second to the publish that wrote it.
    RELAY_GRACE_MS: String(config.publishTimeoutMs + 1000),
  };
  return startTsxGroup(PLAIN_FLEET, 'plain', env);
}

/** A worker file's three roles as processes run by tsx, consumers first, each reporting ready over IPC. */
async function startTsxGroup(file: string, what: string, env: NodeJS.ProcessEnv): Promise<ProcessGroup> {
  const group = new ProcessGroup();
  try {
    for (const role of ['inventory', 'payment', 'order']) {
      const child = group.add(
        role,
        spawn(process.execPath, ['--import', 'tsx', file, role], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] }),
      );
      await new Promise<void>((resolve, reject) => {
        const failed = (code: number | null) => reject(new Error(`${what} ${role} exited with ${code}`));
        child.once('exit', failed);
        child.once('message', () => {
          child.off('exit', failed);
          resolve();
        });
      });
    }
  } catch (error) {
    await group.stop();
    throw error;
  }
  return group;
}

export async function waitReady(url: string, name: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} not ready after ${timeoutMs} ms`);
}
