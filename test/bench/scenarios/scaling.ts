import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ChannelModel } from 'amqplib';
import { Redis } from 'ioredis';
import type { QueueType } from '../../../shared/config/config';
import { SERVICE_NAMES, type ServiceName } from '../../../workers/registry';
import { freePort } from '../../helpers/ports';
import { processCpuMs } from '../lib/cpu';
import { BenchCluster, machineCpuMs, SENTINEL_NODES } from '../lib/cluster';
import { placeOnExchange } from '../lib/drive';
import type { BenchOptions } from '../lib/options';
import { EXCHANGE, PRODUCTS } from '../lib/payload';
import { ProcessGroup, waitReady } from '../lib/procs';
import { connectRaw, Sink } from '../lib/raw';
import type { Results } from '../lib/results';
import { steadyRate } from '../lib/stats';
import { RABBITMQ_NODES, REDIS_NODES } from '../../cluster/cluster-project';

const ROOT = path.resolve(__dirname, '../../..');
const RUN = path.join(ROOT, 'dist/workers/run.js');
const PREFIX = 'bench-scaling:';
export const SCALING_GROUP = 'scaling on the cluster (3 RabbitMQ nodes, quorum queues of 3; Redis master + 2 replicas under Sentinel)';

/** N replicas of each service as host processes, with each one's ops port (its /metrics). */
interface Replicas extends ProcessGroup {
  ops: string[];
}

interface Run {
  rate: number;
  cpu: Record<string, number>;
  /** CPU of every process accounted for, over the wall time of the run, in % of one core. */
  accountedPct: number;
  /** Busy CPU of the whole machine (other work on it included) over the run, in % of one core. */
  machinePct: number;
  /** CPU the same processes burn with no orders, in % of one core. */
  idlePct: number;
}

/**
 * Throughput of the fleet with 1, 2 and 3 replicas of each worker against deploy/cluster's three RabbitMQ nodes and
 * Redis under Sentinel (containers; the workers as host processes, `node dist/workers/run.js <service>`, with
 * AMQP_URL listing all three nodes and REDIS_SENTINELS). Orders go straight onto the exchange, `order.confirmed` is
 * counted at a sink; the replica counts take turns within each repetition (the order rotates), each started fresh
 * and warmed up. CPU per order is read for this process, the workers, each node's container and the sentinels.
 */
export async function benchScaling(results: Results, options: BenchOptions, queueType: QueueType): Promise<void> {
  if (queueType !== 'quorum') throw new Error('the cluster runs quorum queues only');
  const log = (line: string) => process.stderr.write(`\n  [scaling] ${line}\n`);
  const { orders, warmup, reps, replicas } = options.scaling;
  const cluster = await BenchCluster.up(log);
  let raw: ChannelModel | undefined;
  let sink: Sink | undefined;
  try {
    await stock(cluster);
    const runs = new Map<number, Run[]>(replicas.map((n) => [n, []]));
    let processIndex = 0;
    let retries = 0;
    const retryLines: string[] = [];
    for (let rep = 0; rep < reps; rep++) {
      // Rotate which replica count goes first, so that a slow stretch of the machine does not always hit the same one.
      const order = replicas.map((_, i) => replicas[(i + rep) % replicas.length]!);
      for (const n of order) {
        const group = await startReplicas(cluster, n, processIndex);
        processIndex += n * SERVICE_NAMES.length;
        try {
          // The services declare the exchange and their queues; the driver and the sink come after the first start.
          if (!raw) {
            raw = await connectRaw(cluster.amqpUrlList('warren-admin', cluster.secrets.admin, 0).split(',')[0]!, 'scaling');
            sink = await Sink.open(raw, EXCHANGE, ['order.confirmed', 'order.cancelled']);
            log(`queue leaders: ${await leaders(cluster)}`);
          }
          await measure(cluster, group, raw, sink!, warmup);
          const idle = await idleRates(cluster, group, options.scaling.idleMs);
          const run = await measure(cluster, group, raw, sink!, orders, idle);
          runs.get(n)!.push(run);
          const r = await retriesOf(group);
          retries += r.count;
          retryLines.push(...r.lines);
          log(
            `rep ${rep + 1}, ${n} replica(s): ${Math.round(run.rate)} orders/s, ${run.cpu['total']} µs CPU an order, ${Math.round(run.accountedPct)} % of a core accounted, machine ${Math.round(run.machinePct)} %`,
          );
        } finally {
          await group.stop();
        }
      }
    }
    const rows = new Map<number, ReturnType<Results['row']>>();
    for (const n of replicas) {
      const r = runs.get(n)!;
      rows.set(
        n,
        results.row(
          `scaling.rate.${n}`,
          SCALING_GROUP,
          `${n} replica${n > 1 ? 's' : ''} of each worker (${n * SERVICE_NAMES.length} processes), orders on the exchange`,
          'orders/s',
          r.map((x) => x.rate),
        ),
      );
      results.cpuCost(
        `cpu.scaling.${n}`,
        `fleet on the cluster, ${n} replica${n > 1 ? 's' : ''} of each worker, per order`,
        r.map((x) => x.cpu),
      );
      results.row(
        `scaling.accounted.${n}`,
        SCALING_GROUP,
        `${n} replica(s): CPU of the client, workers, nodes and sentinels over the run`,
        '% of a core',
        r.map((x) => x.accountedPct),
      );
      results.row(
        `scaling.idle.${n}`,
        SCALING_GROUP,
        `${n} replica(s): CPU of the same processes with no orders`,
        '% of a core',
        r.map((x) => x.idlePct),
      );
      results.row(
        `scaling.machine.${n}`,
        SCALING_GROUP,
        `${n} replica(s): busy CPU of the whole machine over the run (other work included)`,
        '% of a core',
        r.map((x) => x.machinePct),
      );
    }
    for (const n of replicas.filter((x) => x !== replicas[0]))
      results.ratio(
        `ratio.scaling.${n}`,
        `cluster: ${n} replicas / ${replicas[0]} replica of each worker (orders/s)`,
        rows.get(n)!,
        rows.get(replicas[0]!)!,
      );
    results.check(
      'scaling.retries',
      'no delayed retries during the scaling runs',
      retries === 0,
      `${retries} deliveries took a retry tier${retries ? ` (${retryLines.join('; ')})` : ''}`,
    );
  } finally {
    await sink?.close();
    await raw?.close().catch(() => undefined);
    await cluster.destroy();
  }
}

/** `n` replicas of each service; process k's AMQP_URL lists the nodes starting at node k mod 3, as a load balancer would spread them. */
async function startReplicas(cluster: BenchCluster, n: number, firstIndex: number): Promise<Replicas> {
  if (!existsSync(RUN)) throw new Error(`${RUN} is missing: run \`npm run build\` first (npm run bench does)`);
  const group = new ProcessGroup() as Replicas;
  group.ops = [];
  let k = firstIndex;
  try {
    for (let replica = 1; replica <= n; replica++) {
      // Consumers first, so that the order service's first publish finds their queues bound.
      for (const name of ['inventory', 'payment', 'order'] as const) {
        const ops = await freePort();
        const env: Record<string, string | undefined> = {
          ...process.env,
          AMQP_URL: cluster.amqpUrlList(`warren-${name}`, cluster.secrets[name], k++),
          // Under Sentinel REDIS_URL gives only the password; the host is not used.
          REDIS_URL: `redis://:${encodeURIComponent(cluster.secrets.redis)}@127.0.0.1:6379`,
          REDIS_SENTINELS: cluster.sentinels,
          REDIS_SENTINEL_NAME: 'warren',
          REDIS_KEY_PREFIX: PREFIX,
          EVENTS_EXCHANGE: EXCHANGE,
          QUEUE_TYPE: 'quorum',
          ORDER_HTTP_PORT: String(await freePort()),
          [`${name.toUpperCase()}_OPS_PORT`]: String(ops),
        };
        group.add(`${name}-${replica}`, spawn(process.execPath, [RUN, name], { env, stdio: ['ignore', 'ignore', 'pipe'] }));
        group.ops.push(`http://127.0.0.1:${ops}`);
        await waitReady(`http://127.0.0.1:${ops}/readyz`, `${name}-${replica}`, 60_000);
      }
    }
  } catch (error) {
    await group.stop();
    throw error;
  }
  return group;
}

interface Snapshot {
  at: number;
  /** CPU ms so far: this process, each worker process, each node's container. */
  cpu: Record<string, number>;
  machine: { busy: number; steal: number };
}

async function snapshot(cluster: BenchCluster, group: ProcessGroup): Promise<Snapshot> {
  const nodes = await Promise.all(
    [...RABBITMQ_NODES, ...REDIS_NODES, ...SENTINEL_NODES].map(async (node) => [node, await cluster.cpuMs(node)] as const),
  );
  const { user, system } = process.cpuUsage();
  return {
    at: performance.now(),
    cpu: {
      client: (user + system) / 1000,
      ...Object.fromEntries(nodes),
      ...Object.fromEntries(Object.entries(group.pids()).map(([name, pid]) => [name, processCpuMs(pid)])),
    },
    machine: machineCpuMs(),
  };
}

/** CPU ms between two snapshots by what the table shows: client, each service (replicas summed), the nodes by kind, total. */
function spent(before: Snapshot, after: Snapshot): Record<string, number> {
  const d = (match: (name: string) => boolean) =>
    Object.keys(after.cpu)
      .filter(match)
      .reduce((sum, k) => sum + after.cpu[k]! - (before.cpu[k] ?? Number.NaN), 0);
  const out: Record<string, number> = {
    client: d((k) => k === 'client'),
    ...Object.fromEntries(SERVICE_NAMES.map((s: ServiceName) => [s, d((k) => k.startsWith(`${s}-`))])),
    rabbitmq: d((k) => k.startsWith('rabbitmq-')),
    ...Object.fromEntries(RABBITMQ_NODES.map((node) => [node, d((k) => k === node)])),
    redis: d((k) => k.startsWith('redis-')),
    // The master (redis-1: no failover here) runs every script on one thread; the replicas apply what it sends.
    ...Object.fromEntries(REDIS_NODES.map((node) => [node, d((k) => k === node)])),
    sentinels: d((k) => k.startsWith('sentinel-')),
  };
  out['workers'] = SERVICE_NAMES.reduce((sum, s) => sum + out[s]!, 0);
  out['total'] = out['client']! + out['workers']! + out['rabbitmq']! + out['redis']! + out['sentinels']!;
  return out;
}

/**
 * What the same processes burn with no orders (timers, the outbox relay's poll, Raft and Sentinel heartbeats, the
 * management plugin's stats, Redis healthchecks), in ms of CPU per ms: subtracted from a run to get the cost that
 * grows with orders.
 */
async function idleRates(cluster: BenchCluster, group: ProcessGroup, ms: number): Promise<Record<string, number>> {
  const before = await snapshot(cluster, group);
  await new Promise((r) => setTimeout(r, ms));
  const after = await snapshot(cluster, group);
  const wall = after.at - before.at;
  return Object.fromEntries(Object.entries(spent(before, after)).map(([k, v]) => [k, v / wall]));
}

/** Places `count` orders on the exchange and waits until every one is confirmed; the rate is of confirmations. */
async function measure(
  cluster: BenchCluster,
  group: ProcessGroup,
  raw: ChannelModel,
  sink: Sink,
  count: number,
  idle?: Record<string, number>,
): Promise<Run> {
  sink.reset();
  const before = await snapshot(cluster, group);
  const placed = await placeOnExchange(raw, count);
  await sink.waitFor(count, 300_000);
  const after = await snapshot(cluster, group);
  const confirmed = sink.byRoutingKey.get('order.confirmed') ?? 0;
  const missing = [...placed.keys()].filter((id) => !sink.byCorrelation.has(id)).length;
  if (confirmed !== count || missing > 0)
    throw new Error(`${confirmed} of ${count} orders confirmed (${missing} never ended): ${JSON.stringify([...sink.byRoutingKey])}`);
  const per = (ms: number) => Math.round((ms * 1000) / count);
  const wall = after.at - before.at;
  const cpu = spent(before, after);
  const idleMs = (idle?.['total'] ?? Number.NaN) * wall;
  return {
    rate: steadyRate(sink.arrivals),
    cpu: {
      ...Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, per(v)])),
      // The part of `total` these processes would have burnt in the same time with no orders, and the rest.
      idle: per(idleMs),
      marginal: per(cpu['total']! - idleMs),
      steal: per(after.machine.steal - before.machine.steal),
    },
    accountedPct: (cpu['total']! / wall) * 100,
    machinePct: ((after.machine.busy - before.machine.busy) / wall) * 100,
    idlePct: (idle?.['total'] ?? Number.NaN) * 100,
  };
}

async function stock(cluster: BenchCluster): Promise<void> {
  const redis = new Redis({
    sentinels: SENTINEL_NODES.map((s) => ({ host: cluster.ip(s), port: 26379 })),
    name: 'warren',
    password: cluster.secrets.redis,
    sentinelPassword: cluster.secrets.redis,
  });
  try {
    for (const p of PRODUCTS) await redis.hset(`${PREFIX}stock:${p}`, 'available', 1_000_000_000, 'reserved', 0);
  } finally {
    redis.disconnect();
  }
}

/** Deliveries the replicas sent to a retry tier (from each one's /metrics), and the metric lines that counted them. */
async function retriesOf(group: Replicas): Promise<{ count: number; lines: string[] }> {
  const out = { count: 0, lines: [] as string[] };
  for (const ops of group.ops) {
    const text = await fetch(`${ops}/metrics`).then((r) => r.text());
    for (const line of text.split('\n'))
      if (line.startsWith('warren_messages_consumed_total{') && line.includes('outcome="retry"') && Number(line.split(' ').pop()) > 0) {
        out.count += Number(line.split(' ').pop());
        out.lines.push(line);
      }
  }
  return out;
}

/** Which node leads each consumer queue (the Raft leader takes its deliveries and acks). */
async function leaders(cluster: BenchCluster): Promise<string> {
  const rows = JSON.parse(
    await cluster.exec('rabbitmq-1', 'rabbitmqctl', '-q', 'list_queues', '-p', 'warren', 'name', 'leader', '--formatter', 'json'),
  ) as { name: string; leader: string }[];
  return rows
    .filter((r) => /^warren\.(order|inventory|payment)$/.test(r.name))
    .map((r) => `${r.name} on ${r.leader.replace('rabbit@', '')}`)
    .join(', ');
}
