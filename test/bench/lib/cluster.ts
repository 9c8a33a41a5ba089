import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { docker, RABBITMQ_NODES, REDIS_NODES, STANDIN_IMAGES } from '../../cluster/cluster-project';
import { dockerCompose, REAL_IMAGES, requireDocker, writeEnvFile } from '../../docker/compose-project';
import { freePort } from '../../helpers/ports';
import { waitFor } from '../../helpers/wait';
import { connectRaw } from './raw';

const REPO = path.resolve(__dirname, '../../..');
export const SENTINEL_NODES = ['sentinel-1', 'sentinel-2', 'sentinel-3'] as const;
export const CLUSTER_NODES = [...RABBITMQ_NODES, ...REDIS_NODES, ...SENTINEL_NODES] as const;
const TICK_MS = 10;

const open = new Set<BenchCluster>();

/**
 * The broker and Redis half of deploy/cluster/docker-compose.cluster.yml (three RabbitMQ 4 nodes, a Redis master
 * with two replicas, three sentinels) under a project name (`warren-bench-scaling-*`) and env file of the bench's
 * own, with test/bench/compose.scaling.yml's overrides; the workers run on the host and reach the containers by
 * their bridge addresses. `destroy()` removes the containers, network and volumes (also on Ctrl-C: {@link destroyAllClusters}).
 */
export class BenchCluster {
  private readonly ips = new Map<string, string>();
  private readonly cgroups = new Map<string, string | undefined>();
  private readonly pids = new Map<string, number>();

  private constructor(
    readonly name: string,
    private readonly dir: string,
    private readonly files: readonly string[],
    readonly secrets: Record<'order' | 'inventory' | 'payment' | 'admin' | 'redis', string>,
  ) {}

  /**
   * Brings the cluster up and waits until every RabbitMQ node takes AMQP connections and sees the other two, and
   * every sentinel names the master and both replicas. Needs a Docker engine and the stand-in images (or
   * WARREN_COMPOSE_REAL_IMAGES=1 and a registry): says so, and what to run, when either is missing.
   */
  static async up(log: (line: string) => void): Promise<BenchCluster> {
    await requireDocker();
    const missing: string[] = [];
    for (const image of REAL_IMAGES ? [] : STANDIN_IMAGES)
      if (!(await docker(['image', 'inspect', image]).catch(() => ''))) missing.push(image);
    if (missing.length > 0) throw new Error(`stand-in images missing (${missing.join(', ')}): run test/docker/standin-images.sh`);
    const secret = (who: string) => `${who}-${randomBytes(9).toString('base64url')}`;
    const secrets = {
      order: secret('order'),
      inventory: secret('inventory'),
      payment: secret('payment'),
      admin: secret('admin'),
      redis: secret('redis'),
    };
    const name = `warren-bench-scaling-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    const dir = mkdtempSync(path.join(tmpdir(), 'warren-bench-cluster-'));
    const env = {
      HOST_BIND: '127.0.0.1',
      RABBITMQ_MANAGEMENT_HOST_PORT: await freePort(),
      ORDER_HOST_PORT: await freePort(),
      RABBITMQ_ORDER_PASSWORD: secrets.order,
      RABBITMQ_INVENTORY_PASSWORD: secrets.inventory,
      RABBITMQ_PAYMENT_PASSWORD: secrets.payment,
      RABBITMQ_ADMIN_PASSWORD: secrets.admin,
      RABBITMQ_ERLANG_COOKIE: secret('cookie'),
      REDIS_PASSWORD: secrets.redis,
      ...(REAL_IMAGES ? {} : { NODE_IMAGE: 'warren-standin/node:24' }),
    };
    writeEnvFile(dir, env);
    const files = [
      'deploy/cluster/docker-compose.cluster.yml',
      'test/bench/compose.scaling.yml',
      ...(REAL_IMAGES ? [] : ['test/cluster/compose.standins.yml']),
    ];
    const cluster = new BenchCluster(name, dir, files, secrets);
    open.add(cluster);
    try {
      const started = Date.now();
      // Only the broker and Redis: the fleet's own services of the compose file are not started (nor built).
      // The nodes first (their healthcheck is off: `--wait` would refuse them), then Redis and the sentinels healthy.
      await cluster.compose(['up', '--detach', ...RABBITMQ_NODES], 360_000);
      await cluster.compose(['up', '--detach', '--wait', '--wait-timeout', '300', ...REDIS_NODES, ...SENTINEL_NODES], 360_000);
      for (const node of CLUSTER_NODES) cluster.ips.set(node, await cluster.inspectIp(node));
      for (const node of RABBITMQ_NODES) {
        await waitFor(
          `${node} to take AMQP connections`,
          async () => {
            const c = await connectRaw(cluster.amqpUrl('warren-admin', secrets.admin, node), `probe-${node}`);
            await c.close();
            return true;
          },
          300_000,
          2000,
        );
      }
      await waitFor(
        'three running RabbitMQ nodes',
        async () => {
          const status = JSON.parse(await cluster.exec('rabbitmq-1', 'rabbitmqctl', '-q', 'cluster_status', '--formatter', 'json')) as {
            running_nodes: string[];
          };
          return status.running_nodes.length === RABBITMQ_NODES.length;
        },
        180_000,
        3000,
      );
      const masterIp = cluster.ip('redis-1');
      for (const sentinel of SENTINEL_NODES) {
        await waitFor(
          `${sentinel} to name the master and two replicas`,
          async () => {
            const sentinelCli = (...args: string[]) => cluster.exec(sentinel, 'redis-cli', '-p', '26379', ...args);
            const master = (await sentinelCli('sentinel', 'get-master-addr-by-name', 'warren')).trim().split('\n')[0];
            const replicas = (await sentinelCli('sentinel', 'replicas', 'warren')).split('\n').filter((l) => l.trim() === 'ip').length;
            return master === masterIp && replicas === 2;
          },
          120_000,
          1000,
        );
      }
      log(`cluster ${name} up in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      return cluster;
    } catch (error) {
      const logs = await Promise.all(
        ['rabbitmq-1', 'sentinel-1'].map((n) => docker(['logs', '--tail', '15', cluster.container(n)]).catch((e: Error) => e.message)),
      );
      await cluster.destroy();
      throw new Error(`${(error as Error).message}\n${logs.join('\n')}`, { cause: error });
    }
  }

  compose(args: readonly string[], timeoutMs = 300_000): Promise<string> {
    const project = ['--project-name', this.name, '--env-file', path.join(this.dir, '.env')];
    return dockerCompose([...project, ...this.files.flatMap((file) => ['-f', path.join(REPO, file)])], args, timeoutMs);
  }

  container(service: string): string {
    return `${this.name}-${service}-1`;
  }

  exec(service: string, ...args: string[]): Promise<string> {
    return docker(['exec', this.container(service), ...args], 60_000);
  }

  /** A node's address on the project's bridge network. */
  ip(service: string): string {
    const ip = this.ips.get(service);
    if (!ip) throw new Error(`no address for ${service}`);
    return ip;
  }

  private async inspectIp(service: string): Promise<string> {
    return (await docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', this.container(service)])).trim();
  }

  /** One node's AMQP URL (vhost `warren`) for a user of the definitions. */
  amqpUrl(user: string, password: string, node: string): string {
    return `amqp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${this.ip(node)}:5672/warren`;
  }

  /** Every node's URL, comma-separated, starting at node `first` (0-based): how replicas spread their connections. */
  amqpUrlList(user: string, password: string, first: number): string {
    return RABBITMQ_NODES.map((_, i) => this.amqpUrl(user, password, RABBITMQ_NODES[(first + i) % RABBITMQ_NODES.length]!)).join(',');
  }

  get sentinels(): string {
    return SENTINEL_NODES.map((s) => `${this.ip(s)}:26379`).join(',');
  }

  /**
   * CPU time (ms) of every process a node's container has run, the broker or Redis and whatever it started (epmd,
   * healthchecks), from its cgroup's cpuacct counter; where no cgroup counter can be read, utime + stime from /proc
   * of the processes `docker top` lists now.
   */
  async cpuMs(service: string): Promise<number> {
    if (!this.cgroups.has(service)) {
      const pid = Number((await docker(['inspect', '-f', '{{.State.Pid}}', this.container(service)])).trim());
      this.pids.set(service, pid);
      this.cgroups.set(service, cgroupCounter(pid));
    }
    const counter = this.cgroups.get(service);
    if (counter) {
      const text = readFileSync(counter, 'utf8');
      if (counter.endsWith('cpuacct.usage')) return Number(text.trim()) / 1e6;
      return Number(/usage_usec (\d+)/.exec(text)?.[1] ?? Number.NaN) / 1000;
    }
    const pids = (await docker(['top', this.container(service), '-eo', 'pid'])).split('\n').slice(1).map(Number).filter(Boolean);
    return pids.map(procCpuMs).reduce((a, b) => a + b, 0);
  }

  async destroy(): Promise<void> {
    open.delete(this);
    await this.compose(['down', '--volumes', '--remove-orphans', '--timeout', '10']).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** On an interrupted run: every cluster still up is removed. */
export async function destroyAllClusters(): Promise<void> {
  await Promise.all([...open].map((c) => c.destroy().catch(() => undefined)));
}

/** The file that counts a process's cgroup's CPU time: cgroup v1 `cpuacct.usage` (ns) or v2 `cpu.stat` (µs). */
function cgroupCounter(pid: number): string | undefined {
  let lines: string[];
  try {
    lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const candidates: string[] = [];
  for (const line of lines) {
    const [, controllers, p] = line.split(':');
    if (p === undefined) continue;
    if (controllers === '') candidates.push(`/sys/fs/cgroup${p}/cpu.stat`);
    else if (controllers!.split(',').includes('cpuacct'))
      candidates.push(`/sys/fs/cgroup/cpuacct${p}/cpuacct.usage`, `/sys/fs/cgroup/cpu,cpuacct${p}/cpuacct.usage`);
  }
  return candidates.find((file) => {
    try {
      readFileSync(file);
      return true;
    } catch {
      return false;
    }
  });
}

function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** Busy CPU time of the whole machine in ms (every process, other users' work included), and steal, from /proc/stat. */
export function machineCpuMs(): { busy: number; steal: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]!;
    return { busy: busy * TICK_MS, steal: f[7]! * TICK_MS };
  } catch {
    return { busy: Number.NaN, steal: Number.NaN };
  }
}
