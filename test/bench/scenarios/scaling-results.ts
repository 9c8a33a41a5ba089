/** The scaling scenario's rows in the results: rates, CPU per order, CPU in % of a core, ratios, and the retries check. */
import { SERVICE_NAMES } from '../../../workers/registry';
import type { Results } from '../lib/results';
import type { Run } from './scaling-measure';

export const SCALING_GROUP = 'scaling on the cluster (3 RabbitMQ nodes, quorum queues of 3; Redis master + 2 replicas under Sentinel)';

/** Records every replica count's runs, each count against the first, and whether any delivery took a retry tier. */
export function recordScaling(
  results: Results,
  replicas: readonly number[],
  runs: Map<number, Run[]>,
  { retries, retryLines }: { retries: number; retryLines: string[] },
): void {
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
}
