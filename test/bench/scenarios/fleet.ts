import type { ChannelModel } from 'amqplib';
import { Redis } from 'ioredis';
import type { QueueType } from '../../../shared/config/config';
import { SERVICE_NAMES } from '../../../workers/registry';
import { cpuPerMessage, cpuSnapshot } from '../lib/cpu';
import { placeOnExchange, placeOverHttp, type Placed } from '../lib/drive';
import type { BenchOptions } from '../lib/options';
import { EXCHANGE, PRODUCTS } from '../lib/payload';
import { startPlainFleet, startRawPattern, startWarrenFleet, type ProcessGroup, type WarrenFleet } from '../lib/procs';
import { countRedisCommands, type CommandCount } from '../lib/redis-count';
import { benchConfig } from '../lib/warren';
import { warrenScripts } from '../peers/warren-scripts';
import { connectRaw, Sink } from '../lib/raw';
import type { Results } from '../lib/results';
import { openScope, type BenchScope } from '../lib/scope';
import { steadyRate } from '../lib/stats';
import { halfLoad } from './half-load';

/** A system under test: something that takes `order.placed` to `order.confirmed`. */
interface System {
  scope: BenchScope;
  raw: ChannelModel;
  sink: Sink;
  processes: ProcessGroup;
}

/**
 * The whole message pattern end to end: the raw version (three amqplib processes, Warren's bindings, outcomes
 * joined in memory: the ceiling), the plain same-work fleet (three amqplib + ioredis processes making the Redis
 * calls Warren's services make per order, with Warren's Lua: workers/plain-fleet.ts) and Warren's fleet (three
 * service processes), each in a vhost and key prefix of its own, all running for the whole scenario so that their
 * repetitions interleave. Once, after the measured part, the Redis commands per order of the plain fleet and of
 * Warren's are counted (MONITOR, client commands on the scope's keys), to show the Redis work is the same. Orders go straight onto the exchange (both) and through the HTTP API
 * (Warren); the rate is of `order.confirmed` arriving at a sink. Then latency and memory at half load.
 */
export async function benchFleet(results: Results, options: BenchOptions, queueType: QueueType): Promise<void> {
  const systems: System[] = [];
  try {
    const rawSystem = await openSystem('raw', queueType, systems, (scope) => startRawPattern(scope, queueType, true));
    const plainSystem = await openSystem('plain', queueType, systems, async (scope) => {
      await stock(scope);
      const config = await benchConfig(scope, queueType);
      const { sources } = await warrenScripts(scope.prefix, config.idempotencyRetentionMs, config.idempotencyLeaseMs);
      return startPlainFleet(scope, queueType, config, sources);
    });
    const warren = await openSystem('fleet', queueType, systems, async (scope) => {
      await stock(scope);
      return startWarrenFleet(scope, queueType);
    });
    const fleet = warren.processes as WarrenFleet;
    const { orders, reps, httpConcurrency } = options.fleet;

    const runRaw = () => measure(rawSystem, orders, () => placeOnExchange(rawSystem.raw, orders));
    const runPlain = () => measure(plainSystem, orders, () => placeOnExchange(plainSystem.raw, orders));
    const runExchange = () => measure(warren, orders, () => placeOnExchange(warren.raw, orders));
    const runHttp = () => measure(warren, orders, () => placeOverHttp(fleet.api, orders, httpConcurrency));
    // Warm-up: JIT, connection pools, Redis scripts, quorum queue leaders settled.
    await measure(rawSystem, 500, () => placeOnExchange(rawSystem.raw, 500));
    await measure(plainSystem, 500, () => placeOnExchange(plainSystem.raw, 500));
    await measure(warren, 500, () => placeOnExchange(warren.raw, 500));
    await measure(warren, 300, () => placeOverHttp(fleet.api, 300, httpConcurrency));

    const rawRuns: Run[] = [];
    const plainRuns: Run[] = [];
    const exchangeRuns: Run[] = [];
    const httpRuns: Run[] = [];
    for (let rep = 0; rep < reps; rep++) {
      rawRuns.push(await runRaw());
      plainRuns.push(await runPlain());
      exchangeRuns.push(await runExchange());
      httpRuns.push(await runHttp());
    }
    const g = `end to end (${queueType})`;
    const rawRow = results.row(
      `e2e.raw.${queueType}`,
      g,
      'raw pattern (3 amqplib processes, same bindings), orders on the exchange',
      'orders/s',
      rawRuns.map((r) => r.rate),
    );
    const plainRow = results.row(
      `e2e.plain.${queueType}`,
      g,
      'plain same work (3 amqplib + ioredis processes, Warren’s Redis calls and Lua), orders on the exchange',
      'orders/s',
      plainRuns.map((r) => r.rate),
    );
    const exRow = results.row(
      `e2e.warren.exchange.${queueType}`,
      g,
      'Warren fleet (3 processes), orders on the exchange',
      'orders/s',
      exchangeRuns.map((r) => r.rate),
    );
    const httpRow = results.row(
      `e2e.warren.http.${queueType}`,
      g,
      `Warren fleet, orders via HTTP API (${httpConcurrency} clients)`,
      'orders/s',
      httpRuns.map((r) => r.rate),
    );
    results.cpuCost(
      `cpu.e2e.raw.${queueType}`,
      `raw pattern, per order (${queueType})`,
      rawRuns.map((r) => r.cpu),
    );
    results.cpuCost(
      `cpu.e2e.plain.${queueType}`,
      `plain same-work fleet, per order (${queueType})`,
      plainRuns.map((r) => r.cpu),
    );
    results.cpuCost(
      `cpu.e2e.warren.exchange.${queueType}`,
      `Warren fleet, orders on the exchange, per order (${queueType})`,
      exchangeRuns.map((r) => r.cpu),
    );
    results.cpuCost(
      `cpu.e2e.warren.http.${queueType}`,
      `Warren fleet, orders via HTTP, per order (${queueType})`,
      httpRuns.map((r) => r.cpu),
    );
    const isDefault = queueType === options.defaultQueueType;
    results.ratio(
      `ratio.e2e.${queueType}`,
      `fleet end to end (exchange) / raw pattern (${queueType})`,
      exRow,
      rawRow,
      isDefault ? { kind: 'min', value: 0.6 } : undefined,
    );
    results.ratio(
      `ratio.e2e.plain.${queueType}`,
      `fleet end to end (exchange) / plain same-work fleet (${queueType})`,
      exRow,
      plainRow,
      isDefault ? { kind: 'min', value: 0.7 } : undefined,
    );
    results.ratio(`ratio.e2e.http.${queueType}`, `fleet end to end (HTTP API) / raw pattern (${queueType})`, httpRow, rawRow);
    // Unmeasured: MONITOR slows Redis. The same orders through each system, its client commands on its own keys.
    const counted = Math.min(orders, 500);
    const counts: [string, string, CommandCount][] = [
      ['plain', 'plain same-work fleet', await countOrders(plainSystem, counted)],
      ['warren', 'Warren fleet', await countOrders(warren, counted)],
    ];
    for (const [id, label, count] of counts)
      results.row(
        `redis.e2e.${id}.${queueType}`,
        `Redis commands per order (${queueType})`,
        `${label}, ${counted} orders on the exchange`,
        'cmds/order',
        [count.perUnit],
        Object.entries(count.byCommand)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
      );
    const retries = await retriesOf(fleet);
    results.check(
      `e2e.retries.${queueType}`,
      `no delayed retries during the end-to-end runs (${queueType})`,
      retries === 0,
      `${retries} deliveries took a retry tier`,
    );

    await halfLoad(results, options, queueType, fleet, warren, rawSystem, plainSystem, httpRow.summary.median);
  } finally {
    for (const s of systems.reverse()) {
      await s.processes.stop().catch(() => undefined);
      await s.sink.close();
      await s.raw.close().catch(() => undefined);
      await s.scope.close();
    }
  }
}

async function openSystem(
  name: string,
  queueType: QueueType,
  systems: System[],
  start: (scope: BenchScope) => Promise<ProcessGroup>,
): Promise<System> {
  const scope = await openScope(`${name}-${queueType}`);
  const raw = await connectRaw(scope.url, name);
  const ch = await raw.createChannel();
  await ch.assertExchange(EXCHANGE, 'topic', { durable: true });
  await ch.close();
  const sink = await Sink.open(raw, EXCHANGE, ['order.confirmed', 'order.cancelled']);
  const system: System = { scope, raw, sink, processes: undefined as unknown as ProcessGroup };
  systems.push(system);
  system.processes = await start(scope);
  return system;
}

interface Run {
  rate: number;
  cpu: Record<string, number>;
}

/** Places `count` orders and waits for every one of them to be confirmed; the rate is of confirmations. */
async function measure(system: System, count: number, place: () => Promise<Placed>): Promise<Run> {
  system.sink.reset();
  const before = cpuSnapshot(system.processes.pids());
  const placed = await place();
  await system.sink.waitFor(count, 180_000);
  const cpu = cpuPerMessage(before, cpuSnapshot(system.processes.pids()), count);
  const confirmed = system.sink.byRoutingKey.get('order.confirmed') ?? 0;
  const missing = [...placed.keys()].filter((id) => !system.sink.byCorrelation.has(id)).length;
  if (confirmed !== count || missing > 0)
    throw new Error(`${confirmed} of ${count} orders confirmed (${missing} never ended): ${JSON.stringify([...system.sink.byRoutingKey])}`);
  return { rate: steadyRate(system.sink.arrivals), cpu };
}

/** Client commands on the system's keys per order, while `count` orders go through it (see lib/redis-count.ts). */
async function countOrders(system: System, count: number): Promise<CommandCount> {
  return countRedisCommands(system.scope.redisUrl, system.scope.prefix, count, async () => {
    await measure(system, count, () => placeOnExchange(system.raw, count));
  });
}

export async function stock(scope: BenchScope): Promise<void> {
  const redis = new Redis(scope.redisUrl);
  try {
    for (const p of PRODUCTS) await redis.hset(`${scope.prefix}stock:${p}`, 'available', 1_000_000_000, 'reserved', 0);
  } finally {
    redis.disconnect();
  }
}

/** Deliveries the fleet sent to a retry tier (from each service's /metrics). */
async function retriesOf(fleet: WarrenFleet): Promise<number> {
  let total = 0;
  for (const name of SERVICE_NAMES) {
    const text = await fetch(`${fleet.ops[name]}/metrics`).then((r) => r.text());
    for (const line of text.split('\n')) {
      if (line.startsWith('warren_messages_consumed_total{') && line.includes('outcome="retry"')) total += Number(line.split(' ').pop());
    }
  }
  return total;
}
