import type { ChannelModel } from 'amqplib';
import type { QueueType } from '../../../shared/config/config';
import { SERVICE_NAMES } from '../../../workers/registry';
import { BenchCluster } from '../lib/cluster';
import type { BenchOptions } from '../lib/options';
import { EXCHANGE } from '../lib/payload';
import { connectRaw, Sink } from '../lib/raw';
import type { Results } from '../lib/results';
import { leaders, stock } from './scaling-cluster';
import { idleRates } from './scaling-cpu';
import { measure, type Run } from './scaling-measure';
import { retriesOf, startReplicas } from './scaling-replicas';
import { recordScaling } from './scaling-results';

export { SCALING_GROUP } from './scaling-results';

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
    recordScaling(results, replicas, runs, { retries, retryLines });
  } finally {
    await sink?.close();
    await raw?.close().catch(() => undefined);
    await cluster.destroy();
  }
}
