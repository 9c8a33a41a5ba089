/**
 * The workers of the scaling scenario as host processes (`node dist/workers/run.js <service>`), each pointed at the
 * cluster's nodes and Sentinel, and what their /metrics say about retries.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../helpers/ports';
import type { BenchCluster } from '../lib/cluster';
import { EXCHANGE } from '../lib/payload';
import { ProcessGroup, waitReady } from '../lib/procs';

const ROOT = path.resolve(__dirname, '../../..');
const RUN = path.join(ROOT, 'dist/workers/run.js');
/** The Redis key prefix of the scaling runs, apart from every other scenario's. */
export const PREFIX = 'bench-scaling:';

/** N replicas of each service as host processes, with each one's ops port (its /metrics). */
export interface Replicas extends ProcessGroup {
  ops: string[];
}

/** `n` replicas of each service; process k's AMQP_URL lists the nodes starting at node k mod 3, as a load balancer would spread them. */
export async function startReplicas(cluster: BenchCluster, n: number, firstIndex: number): Promise<Replicas> {
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

/** Deliveries the replicas sent to a retry tier (from each one's /metrics), and the metric lines that counted them. */
export async function retriesOf(group: Replicas): Promise<{ count: number; lines: string[] }> {
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
