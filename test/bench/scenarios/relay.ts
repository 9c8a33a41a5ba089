import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ChannelModel } from 'amqplib';
import { Redis } from 'ioredis';
import type { QueueType, WarrenConfig } from '../../../shared/config/config';
import { planTopology, type Topology } from '../../../shared/messaging/topology';
import { declareTopology } from '../../../shared/messaging/topology-check';
import { inventory, INVENTORY_QUEUE } from '../../../workers/inventory/service';
import { startService } from '../../../workers/services';
import type { BenchOptions } from '../lib/options';
import { EXCHANGE, orderPlaced, PRODUCTS, rawMessage } from '../lib/payload';
import { connectRaw, publishPipelined, Sink } from '../lib/raw';
import type { Results } from '../lib/results';
import { profiled } from '../lib/profiler';
import { openScope, type BenchScope } from '../lib/scope';
import { cpuPerMessage, cpuSnapshot } from '../lib/cpu';
import { steadyRate } from '../lib/stats';
import { benchConfig, devNull } from '../lib/warren';
import { plainInventory, rascalInventory, type PeerSetup } from '../peers/inventory-peers';
import { warrenScripts } from '../peers/warren-scripts';

const CONSUME_QUEUE = 'bench.consume';
export const RELAY_QUEUE = 'bench.relay.in';
export const OUTCOMES = ['inventory.reserved', 'inventory.rejected'];

/**
 * Consumers on a pre-loaded queue of `OrderPlaced`: raw consume-and-ack, the raw relay (consume, publish one
 * event with confirm, then ack: the broker's ceiling), the two peers a user would pick instead of Warren (plain
 * amqplib + ioredis doing the same work, and Rascal doing it: peers/inventory-peers.ts) and Warren's inventory
 * worker with everything on (decode and validation, the Lua reservation, the outcome publish with confirm,
 * metrics, logging, timeout). All read queues declared exactly like Warren's inventory queue (the peers and
 * Warren read that very queue), so only the client differs; repetitions of all five are interleaved.
 */
export async function benchRelay(results: Results, options: BenchOptions, queueType: QueueType): Promise<void> {
  const scope = await openScope(`relay-${queueType}`);
  const raw = await connectRaw(scope.url, 'relay');
  try {
    const config = await benchConfig(scope, queueType);
    const topology = await prepare(raw, scope, config);
    const sink = await Sink.open(raw, EXCHANGE, OUTCOMES);
    const queueOptions = planTopology(topology).find((d) => d.name === INVENTORY_QUEUE)!.options;
    const setup = await raw.createChannel();
    await setup.assertQueue(CONSUME_QUEUE, queueOptions);
    await setup.assertQueue(RELAY_QUEUE, queueOptions);
    const { reps } = options.relay;
    // Warren's own Lua, taken from its stores, checked against the plain peers' KEYS/ARGV before anything runs.
    const peers: PeerSetup = {
      scope,
      config,
      sources: (await warrenScripts(scope.prefix, config.idempotencyRetentionMs, config.idempotencyLeaseMs)).sources,
    };
    const consumeRates: number[] = [];
    const relayRates: number[] = [];
    const warrenRates: number[] = [];
    const plainRates: number[] = [];
    const rascalRates: number[] = [];
    const relayCpu: Record<string, number>[] = [];
    const warrenCpu: Record<string, number>[] = [];
    const plainCpu: Record<string, number>[] = [];
    const rascalCpu: Record<string, number>[] = [];
    for (let rep = -1; rep < reps; rep++) {
      // rep −1 is the warm-up (a third of the count): JIT, connections, Redis scripts loaded; not recorded.
      const n = rep < 0 ? Math.ceil(options.relay.count / 3) : options.relay.count;
      const c = await rawConsumeAndAck(
        raw,
        rep < 0 ? Math.ceil(options.consume.count / 3) : options.consume.count,
        options.consume.prefetch,
      );
      const r = await rawRelay(raw, sink, n, options.relay.prefetch);
      const p = await peer(raw, sink, n, () => plainInventory(peers, sink, n));
      const rc = await peer(raw, sink, n, () => rascalInventory(peers, sink, n));
      const w = await inventoryWorker(raw, sink, config, n);
      if (rep >= 0) {
        consumeRates.push(c);
        relayRates.push(r.rate);
        warrenRates.push(w.rate);
        plainRates.push(p.rate);
        rascalRates.push(rc.rate);
        relayCpu.push(r.cpu);
        warrenCpu.push(w.cpu);
        plainCpu.push(p.cpu);
        rascalCpu.push(rc.cpu);
      }
    }
    const g = `consume (${queueType})`;
    results.row(`consume.raw.${queueType}`, g, `raw consume-and-ack, prefetch ${options.consume.prefetch}`, 'msg/s', consumeRates);
    const relayRow = results.row(
      `relay.raw.${queueType}`,
      g,
      `raw relay: consume, publish with confirm, ack (prefetch ${options.relay.prefetch})`,
      'msg/s',
      relayRates,
    );
    const warrenRow = results.row(
      `relay.warren.${queueType}`,
      g,
      `Warren inventory worker, everything on (PREFETCH ${config.prefetch})`,
      'msg/s',
      warrenRates,
    );
    const plainRow = results.row(
      `relay.plain.${queueType}`,
      g,
      `plain same work: amqplib + ioredis, Warren's reservation script, confirmed publish, ack (prefetch ${config.prefetch})`,
      'msg/s',
      plainRates,
    );
    const rascalRow = results.row(
      `relay.rascal.${queueType}`,
      g,
      `Rascal subscription + confirmed publication, the same ioredis script (prefetch ${config.prefetch})`,
      'msg/s',
      rascalRates,
    );
    results.cpuCost(`cpu.relay.raw.${queueType}`, `raw relay (${queueType})`, relayCpu);
    results.cpuCost(`cpu.relay.plain.${queueType}`, `plain same-work inventory (${queueType})`, plainCpu);
    results.cpuCost(`cpu.relay.rascal.${queueType}`, `Rascal inventory (${queueType})`, rascalCpu);
    results.cpuCost(`cpu.relay.warren.${queueType}`, `Warren inventory worker (${queueType})`, warrenCpu);
    const isDefault = queueType === options.defaultQueueType;
    results.ratio(
      `ratio.inventory.plain.${queueType}`,
      `inventory worker / plain same work (${queueType})`,
      warrenRow,
      plainRow,
      isDefault ? { kind: 'min', value: 0.7 } : undefined,
    );
    results.ratio(
      `ratio.inventory.rascal.${queueType}`,
      `inventory worker / Rascal (${queueType})`,
      warrenRow,
      rascalRow,
      isDefault ? { kind: 'min', value: 2 } : undefined,
    );
    results.ratio(
      `ratio.inventory.${queueType}`,
      `inventory worker / raw relay (${queueType})`,
      warrenRow,
      relayRow,
      queueType === options.defaultQueueType ? { kind: 'min', value: 0.7 } : undefined,
    );
  } finally {
    await raw.close().catch(() => undefined);
    await scope.close();
  }
}

/** Declares the inventory service's topology and gives every product far more stock than a run can take. */
export async function prepare(raw: ChannelModel, scope: BenchScope, config: WarrenConfig): Promise<Topology> {
  const topology: Topology = {
    exchange: EXCHANGE,
    queues: inventory.consumes,
    retryDelaysMs: config.retryDelaysMs,
    queueType: config.queueType,
  };
  const ch = await raw.createChannel();
  await declareTopology(ch, topology);
  await ch.close();
  const redis = new Redis(scope.redisUrl);
  try {
    for (const p of PRODUCTS) await redis.hset(`${scope.prefix}stock:${p}`, 'available', 1_000_000_000, 'reserved', 0);
  } finally {
    redis.disconnect();
  }
  return topology;
}

/** Publishes `count` OrderPlaced events to a queue (by name) or to the exchange as `order.placed`. */
export async function preload(raw: ChannelModel, count: number, queue?: string): Promise<void> {
  const ch = await raw.createConfirmChannel();
  await publishPipelined(ch, count, 300, (i) =>
    queue ? rawMessage(orderPlaced(i), queue, '') : rawMessage(orderPlaced(i), 'order.placed'),
  );
  await ch.close();
}

async function rawConsumeAndAck(raw: ChannelModel, count: number, prefetch: number): Promise<number> {
  await preload(raw, count, CONSUME_QUEUE);
  const ch = await raw.createChannel();
  await ch.prefetch(prefetch);
  const arrivals: number[] = [];
  await new Promise<void>((resolve, reject) => {
    ch.consume(CONSUME_QUEUE, (m) => {
      if (!m) return;
      ch.ack(m);
      arrivals.push(performance.now());
      if (arrivals.length === count) resolve();
    }).catch(reject);
  });
  await ch.close();
  return steadyRate(arrivals);
}

/** The least a relay can do: parse, build the outcome, publish it with confirm, ack on the confirm. */
export async function rawRelay(raw: ChannelModel, sink: Sink, count: number, prefetch: number): Promise<Measured> {
  await preload(raw, count, RELAY_QUEUE);
  sink.reset();
  const before = cpuSnapshot();
  const consume = await raw.createChannel();
  const publish = await raw.createConfirmChannel();
  await consume.prefetch(prefetch);
  const { consumerTag } = await consume.consume(RELAY_QUEUE, (m) => {
    if (!m) return;
    const placed = JSON.parse(m.content.toString('utf8')) as { eventId: string; orderId: string; correlationId: string; items: unknown };
    const outcome = {
      eventType: 'InventoryReserved',
      version: 1,
      eventId: randomUUID(),
      orderId: placed.orderId,
      items: placed.items,
      correlationId: placed.correlationId,
      causationId: placed.eventId,
      timestamp: new Date().toISOString(),
    };
    const out = rawMessage(outcome, 'inventory.reserved');
    publish.publish(out.exchange, out.routingKey, out.content, out.options, (err) => (err ? consume.nack(m) : consume.ack(m)));
  });
  await sink.waitFor(count, 120_000);
  const cpu = cpuPerMessage(before, cpuSnapshot(), count);
  await consume.cancel(consumerTag);
  await Promise.all([consume.close(), publish.close()]);
  return { rate: steadyRate(sink.arrivals), cpu };
}

/** A peer on Warren's inventory queue, already holding `count` orders; every one must come out reserved. */
async function peer(raw: ChannelModel, sink: Sink, count: number, run: () => Promise<Measured>): Promise<Measured> {
  await preload(raw, count);
  sink.reset();
  const measured = await run();
  if ((sink.byRoutingKey.get('inventory.reserved') ?? 0) !== count)
    throw new Error(`inventory peer: ${JSON.stringify([...sink.byRoutingKey])} for ${count} orders`);
  return measured;
}

/** Warren's inventory service, in this process, started on a queue already holding `count` orders. */
export async function inventoryWorker(raw: ChannelModel, sink: Sink, config: WarrenConfig, count: number): Promise<Measured> {
  await preload(raw, count);
  sink.reset();
  const before = cpuSnapshot();
  const runtime = await startService('inventory', config, { logDestination: devNull() });
  let cpu: Record<string, number>;
  try {
    await profiled('inventory-worker', () => sink.waitFor(count, 120_000));
    cpu = cpuPerMessage(before, cpuSnapshot(), count);
  } finally {
    await runtime.stop();
  }
  if ((sink.byRoutingKey.get('inventory.reserved') ?? 0) !== count)
    throw new Error(`inventory: ${JSON.stringify([...sink.byRoutingKey])} for ${count} orders`);
  return { rate: steadyRate(sink.arrivals), cpu };
}

export interface Measured {
  rate: number;
  /** CPU microseconds per message: this process (client), broker, Redis. */
  cpu: Record<string, number>;
}
