/** One measured run of the scaling scenario: orders on the exchange until every one is confirmed, and its CPU. */
import type { ChannelModel } from 'amqplib';
import type { BenchCluster } from '../lib/cluster';
import { placeOnExchange } from '../lib/drive';
import type { ProcessGroup } from '../lib/procs';
import type { Sink } from '../lib/raw';
import { steadyRate } from '../lib/stats';
import { snapshot, spent } from './scaling-cpu';

/** What one run measured: its rate, CPU per order by process, and CPU in % of one core. */
export interface Run {
  rate: number;
  cpu: Record<string, number>;
  /** CPU of every process accounted for, over the wall time of the run, in % of one core. */
  accountedPct: number;
  /** Busy CPU of the whole machine (other work on it included) over the run, in % of one core. */
  machinePct: number;
  /** CPU the same processes burn with no orders, in % of one core. */
  idlePct: number;
}

/** Places `count` orders on the exchange and waits until every one is confirmed; the rate is of confirmations. */
export async function measure(
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
