import amqplib, { type ChannelModel } from 'amqplib';
import { Redis } from 'ioredis';
import { BrokerAsPromised, withDefaultConfig, type BrokerConfig } from 'rascal';
import type { WarrenConfig } from '../../../shared/config/config';
import { INVENTORY_QUEUE } from '../../../workers/inventory/service';
import { cpuPerMessage, cpuSnapshot } from '../lib/cpu';
import { EXCHANGE } from '../lib/payload';
import { profiled } from '../lib/profiler';
import type { Sink } from '../lib/raw';
import type { BenchScope } from '../lib/scope';
import { steadyRate } from '../lib/stats';
import { calls, mergeLines, PlainScripts, type Line, type ScriptSources } from './plain-calls';
import { consume, inventoryHandler, outcome, properties, type PlainContext } from './plain-consumer';

/**
 * The two peers a user would pick instead of Warren's inventory worker, each in this process (so the `client` CPU
 * compares with Warren's worker, which runs here too), each on Warren's inventory queue already holding `count`
 * `OrderPlaced`, with Warren's default prefetch, each running Warren's reservation script on the same keys, each
 * publishing the outcome to the events exchange with a confirm before it acks. The caller preloads the queue and
 * resets the sink.
 */

export interface PeerRun {
  rate: number;
  cpu: Record<string, number>;
}

export interface PeerSetup {
  scope: BenchScope;
  config: WarrenConfig;
  sources: ScriptSources;
}

/** Plain amqplib + ioredis (peers/plain-consumer.ts): JSON.parse, no schema validation, the script, confirmed publish, ack. */
export async function plainInventory(setup: PeerSetup, sink: Sink, count: number): Promise<PeerRun> {
  const { scope, config, sources } = setup;
  const before = cpuSnapshot();
  const connection: ChannelModel = await amqplib.connect(scope.url, {
    noDelay: true,
    clientProperties: { connection_name: 'bench-plain-inventory' },
  });
  const redis = new Redis(scope.redisUrl);
  let cpu: Record<string, number>;
  try {
    const ctx: PlainContext = {
      connection,
      scripts: new PlainScripts(redis, sources),
      redis,
      exchange: EXCHANGE,
      prefix: scope.prefix,
      retentionMs: config.idempotencyRetentionMs,
      leaseMs: config.idempotencyLeaseMs,
      prefetch: config.prefetch,
    };
    const consumer = await consume(ctx, INVENTORY_QUEUE, inventoryHandler(ctx));
    await profiled('plain-inventory', () => sink.waitFor(count, 120_000));
    cpu = cpuPerMessage(before, cpuSnapshot(), count);
    await consumer.stop();
  } finally {
    await connection.close().catch(() => undefined);
    redis.disconnect();
  }
  return { rate: steadyRate(sink.arrivals), cpu };
}

interface PlacedContent {
  eventType: string;
  eventId: string;
  orderId: string;
  correlationId: string;
  items: Line[];
}

/**
 * Rascal, as its README has a user write it: a broker for the scope's vhost that checks (does not assert) the
 * exchange and Warren's queue, a subscription with Warren's prefetch, a confirm channel pool as large, a confirmed publication to the events
 * exchange. The handler runs the same ioredis script, `broker.publish`es the outcome and waits for its `success`
 * (the confirm), then `ackOrNack()`; an error nacks through `ackOrNack(err)`. Rascal decodes the JSON content.
 */
export async function rascalInventory(setup: PeerSetup, sink: Sink, count: number): Promise<PeerRun> {
  const { scope, config, sources } = setup;
  const before = cpuSnapshot();
  const redis = new Redis(scope.redisUrl);
  const scripts = new PlainScripts(redis, sources);
  const rascalConfig: BrokerConfig = {
    vhosts: {
      [scope.vhost]: {
        connection: { url: scope.url },
        // Rascal holds a pooled confirm channel until that publish's confirm, and its pool defaults to 5: five
        // outcomes in flight, whatever the prefetch (400–1,500 msg/s here). A Rascal user after throughput sizes
        // the pool to the prefetch window; the strongest Rascal is the fair peer.
        publicationChannelPools: { confirmPool: { max: config.prefetch } },
        exchanges: { [EXCHANGE]: { assert: false, check: true } },
        queues: { [INVENTORY_QUEUE]: { assert: false, check: true } },
        publications: { outcomes: { exchange: EXCHANGE, confirm: true } },
        subscriptions: { placed: { queue: INVENTORY_QUEUE, prefetch: config.prefetch } },
      },
    },
  };
  const broker = await BrokerAsPromised.create(withDefaultConfig(rascalConfig));
  const failures: Error[] = [];
  broker.on('error', (err: Error) => {
    failures.push(err);
  });
  let cpu: Record<string, number>;
  try {
    const publishConfirmed = async (routingKey: string, event: Record<string, unknown> & { eventId: string }) => {
      const { persistent: _p, mandatory: _m, contentType: _c, ...options } = properties(event);
      const publication = await broker.publish('outcomes', event, { routingKey, options });
      await new Promise<void>((resolve, reject) => publication.on('success', () => resolve()).on('error', reject));
    };
    const handle = async (placed: PlacedContent) => {
      const [status, productId] = (await scripts.run(
        'reserve',
        calls.reserve(scope.prefix, config.idempotencyRetentionMs, placed.orderId, mergeLines(placed.items)),
      )) as [string, string, number];
      if (status === 'RESERVED')
        await publishConfirmed(
          'inventory.reserved',
          outcome('InventoryReserved', { orderId: placed.orderId, items: placed.items }, placed),
        );
      else if (status === 'REJECTED')
        await publishConfirmed(
          'inventory.rejected',
          outcome('InventoryRejected', { orderId: placed.orderId, reason: 'OUT_OF_STOCK', productId }, placed),
        );
      else if (status === 'CONFLICT') throw new Error(`OrderPlaced for ${placed.orderId} has other lines than the first one seen`);
    };
    const subscription = await broker.subscribe('placed');
    subscription.on('error', (err: Error) => {
      failures.push(err);
    });
    subscription.on('message', (_message, content: PlacedContent, ackOrNack) => {
      handle(content).then(
        () => ackOrNack(),
        (err: Error) => ackOrNack(err),
      );
    });
    await profiled('rascal-inventory', () => sink.waitFor(count, 120_000));
    cpu = cpuPerMessage(before, cpuSnapshot(), count);
    await subscription.cancel();
  } finally {
    await broker.shutdown().catch(() => undefined);
    redis.disconnect();
  }
  if (failures.length > 0) throw new Error(`rascal: ${failures.map((e) => e.message).join('; ')}`);
  return { rate: steadyRate(sink.arrivals), cpu };
}
