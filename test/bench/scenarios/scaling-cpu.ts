/**
 * Where the scaling runs' CPU goes: snapshots of this process, every worker process, each node's container and the
 * machine, and the CPU between two snapshots by what the table shows.
 */
import { performance } from 'node:perf_hooks';
import { SERVICE_NAMES, type ServiceName } from '../../../workers/registry';
import { RABBITMQ_NODES, REDIS_NODES } from '../../cluster/cluster-project';
import { processCpuMs } from '../lib/cpu';
import { machineCpuMs, SENTINEL_NODES, type BenchCluster } from '../lib/cluster';
import type { ProcessGroup } from '../lib/procs';

export interface Snapshot {
  at: number;
  /** CPU ms so far: this process, each worker process, each node's container. */
  cpu: Record<string, number>;
  machine: { busy: number; steal: number };
}

export async function snapshot(cluster: BenchCluster, group: ProcessGroup): Promise<Snapshot> {
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
export function spent(before: Snapshot, after: Snapshot): Record<string, number> {
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
export async function idleRates(cluster: BenchCluster, group: ProcessGroup, ms: number): Promise<Record<string, number>> {
  const before = await snapshot(cluster, group);
  await new Promise((r) => setTimeout(r, ms));
  const after = await snapshot(cluster, group);
  const wall = after.at - before.at;
  return Object.fromEntries(Object.entries(spent(before, after)).map(([k, v]) => [k, v / wall]));
}
