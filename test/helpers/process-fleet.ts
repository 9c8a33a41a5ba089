import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { SERVICE_DECLARATIONS, SERVICE_NAMES, type ServiceName } from '../../workers/registry';
import { http } from './api';
import { createVhost, deleteVhost, REDIS_URL, uniqueName } from './broker';
import { deleteKeys } from './fleet';
import { fleetPorts, startOrder, type FleetPorts } from './fleet-ports';
import { waitFor } from './wait';

const ROOT = path.resolve(__dirname, '../..');
const RUN = path.join(ROOT, 'dist/workers/run.js');

/** How a fleet's processes run, beyond their environment (every field optional: the chaos tests use none). */
export interface ProcessFleetOptions {
  /** Node.js options before the script, e.g. `--inspect=127.0.0.1:0` (the soak's full-GC probes). */
  nodeArgs?: readonly string[];
  /** Called with each process as it starts, before it is ready: e.g. to read its inspector's address from stderr. */
  onSpawn?: (name: ServiceName, child: ChildProcess) => void;
  /** Where each line a service writes goes instead of `output` (a long run would keep millions of lines). */
  onOutput?: (name: ServiceName, line: string) => void;
}

/**
 * The services as real processes (`node dist/workers/run.js <name>`, what a container runs), so that chaos tests
 * can kill -9 them. Each fleet has its own vhost, key prefix and ports.
 */
export class ProcessFleet {
  readonly env: Record<string, string>;
  readonly urls: { api: string; ops: Record<ServiceName, string> };
  readonly output: string[] = [];
  private readonly children = new Map<ServiceName, ChildProcess>();
  readonly exits: { name: ServiceName; code: number | null; signal: string | null }[] = [];

  private constructor(
    readonly vhost: string,
    env: Record<string, string>,
    ports: FleetPorts<ServiceName>,
    private readonly options: ProcessFleetOptions = {},
  ) {
    this.env = env;
    this.urls = { api: ports.api, ops: ports.ops };
  }

  static async start(overrides: Record<string, string> = {}, options: ProcessFleetOptions = {}): Promise<ProcessFleet> {
    const { vhost, url } = await createVhost('warren-chaos');
    const ports = await fleetPorts(SERVICE_DECLARATIONS);
    const env = {
      AMQP_URL: url,
      REDIS_URL,
      REDIS_KEY_PREFIX: `${uniqueName('chaos')}:`,
      ...ports.env,
      LOG_LEVEL: 'info',
      RETRY_DELAYS_MS: '200,500,1000,2000',
      OUTBOX_RELAY_INTERVAL_MS: '200',
      PUBLISH_TIMEOUT_MS: '5000',
      SHUTDOWN_TIMEOUT_MS: '5000',
      // Explicitly open (no token, totals unchecked) even if the shell running the tests sets NODE_ENV=production.
      AUTH_MODE: 'off',
      PRICE_LIST: 'off',
      ...overrides,
    };
    const fleet = new ProcessFleet(vhost, env, ports, options);
    for (const name of startOrder(SERVICE_NAMES)) await fleet.spawn(name);
    return fleet;
  }

  /** Starts (or restarts) one service and waits until it is ready. */
  async spawn(name: ServiceName, extraEnv: Record<string, string> = {}): Promise<void> {
    const child = spawn(process.execPath, [...(this.options.nodeArgs ?? []), RUN, name], {
      env: { ...process.env, ...this.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.set(name, child);
    this.options.onSpawn?.(name, child);
    const onOutput = this.options.onOutput;
    if (onOutput) {
      // Whole lines only: a pipe hands over chunks that may end in the middle of one.
      for (const stream of [child.stdout!, child.stderr!]) {
        let partial = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          const lines = (partial + chunk).split('\n');
          partial = lines.pop()!;
          for (const line of lines) if (line) onOutput(name, line);
        });
        stream.on('end', () => partial && onOutput(name, partial));
      }
    } else {
      const collect = (chunk: Buffer) => this.output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      child.stdout!.on('data', collect);
      child.stderr!.on('data', collect);
    }
    child.on('exit', (code, signal) => {
      this.exits.push({ name, code, signal });
      if (this.children.get(name) === child) this.children.delete(name);
    });
    await waitFor(
      `${name} ready`,
      async () => (await http('GET', `${this.urls.ops[name]}/readyz`)).status === 200 || undefined,
      30_000,
      100,
    );
  }

  /** kill -9: no drain, no goodbye; unacked deliveries go back to the broker. */
  async kill(name: ServiceName): Promise<void> {
    const child = this.children.get(name);
    if (!child) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM: drains, then exits. Resolves with the exit code. */
  async terminate(name: ServiceName): Promise<number | null> {
    const child = this.children.get(name);
    if (!child) return null;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    return exited;
  }

  isRunning(name: ServiceName): boolean {
    return this.children.has(name);
  }

  /** The running process's id (undefined while the service is down). */
  pid(name: ServiceName): number | undefined {
    return this.children.get(name)?.pid;
  }

  async stop(): Promise<void> {
    await Promise.all(SERVICE_NAMES.map((n) => this.terminate(n)));
    const redis = new Redis(this.env['REDIS_URL']!);
    await deleteKeys(redis, this.env['REDIS_KEY_PREFIX']!);
    await redis.quit();
    await deleteVhost(this.vhost);
  }
}
