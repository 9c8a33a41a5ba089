/** What the scaling scenario does on the cluster itself: stock the products in Redis, and read the queue leaders. */
import { Redis } from 'ioredis';
import { SENTINEL_NODES, type BenchCluster } from '../lib/cluster';
import { PRODUCTS } from '../lib/payload';
import { PREFIX } from './scaling-replicas';

/** Every product in stock, far beyond what a run orders. */
export async function stock(cluster: BenchCluster): Promise<void> {
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

/** Which node leads each consumer queue (the Raft leader takes its deliveries and acks). */
export async function leaders(cluster: BenchCluster): Promise<string> {
  const rows = JSON.parse(
    await cluster.exec('rabbitmq-1', 'rabbitmqctl', '-q', 'list_queues', '-p', 'warren', 'name', 'leader', '--formatter', 'json'),
  ) as { name: string; leader: string }[];
  return rows
    .filter((r) => /^warren\.(order|inventory|payment)$/.test(r.name))
    .map((r) => `${r.name} on ${r.leader.replace('rabbit@', '')}`)
    .join(', ');
}
