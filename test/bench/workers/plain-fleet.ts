import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import type { QueueType } from '../../../shared/config/config';
import { planTopology } from '../../../shared/messaging/topology';
import { DEV_TOKEN_KEYRING } from '../../../shared/security/token-keys';
import { inventory } from '../../../workers/inventory/service';
import { order } from '../../../workers/order/service';
import { payment } from '../../../workers/payment/service';
import { PlainScripts, type ScriptSources } from '../peers/plain-calls';
import { consume, inventoryHandler, orderHandler, paymentHandler, type PlainContext } from '../peers/plain-consumer';

/**
 * One process of the plain same-work fleet: amqplib and ioredis only (peers/plain-consumer.ts), on queues named,
 * bound and declared as Warren's services declare theirs, making the Redis calls Warren's service of the same
 * name makes per order, with Warren's own Lua (handed over by the harness in PLAIN_SCRIPTS). Only the
 * declarations of Warren's services (queue names, bindings), its queue arguments and the development token key
 * are imported from Warren.
 */
type Role = 'inventory' | 'payment' | 'order';
const role = process.argv[2] as Role;
const env = (name: string) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`plain-fleet ${role}: ${name} is not set`);
  return value;
};
const DECLARATIONS = { inventory, payment, order } as const;

async function main(): Promise<void> {
  const exchange = env('EVENTS_EXCHANGE');
  const queueType = env('QUEUE_TYPE') as QueueType;
  const { name: queue, bindings } = DECLARATIONS[role].consumes[0];
  const connection = await amqplib.connect(env('AMQP_URL'), {
    noDelay: true,
    clientProperties: { connection_name: `bench-plain-${role}` },
  });
  const redis = new Redis(env('REDIS_URL'));
  const setup = await connection.createChannel();
  // The queue arguments Warren gives its own queues (quorum or classic, dead-lettering), so only the client differs.
  const options = planTopology({ exchange, queues: [{ name: queue, bindings: [] }], retryDelaysMs: [1000], queueType })[0]!.options;
  await setup.assertExchange(exchange, 'topic', { durable: true });
  await setup.assertQueue(queue, options);
  for (const key of bindings) await setup.bindQueue(queue, exchange, key);
  await setup.close();
  const ctx: PlainContext = {
    connection,
    scripts: new PlainScripts(redis, JSON.parse(env('PLAIN_SCRIPTS')) as ScriptSources),
    redis,
    exchange,
    prefix: env('REDIS_KEY_PREFIX'),
    retentionMs: Number(env('IDEMPOTENCY_RETENTION_MS')),
    leaseMs: Number(env('IDEMPOTENCY_LEASE_MS')),
    prefetch: Number(env('PREFETCH')),
  };
  let stopRole = async () => {};
  if (role === 'order') {
    const handler = orderHandler(ctx, {
      orderTimeoutMs: Number(env('ORDER_TIMEOUT_MS')),
      relayIntervalMs: Number(env('OUTBOX_RELAY_INTERVAL_MS')),
      relayGraceMs: Number(env('RELAY_GRACE_MS')),
    });
    await consume(ctx, queue, handler.handle);
    stopRole = handler.stop;
  } else {
    // Payment opens tokens with the key the harness seals them with (the fleet's development key).
    await consume(ctx, queue, role === 'inventory' ? inventoryHandler(ctx) : paymentHandler(ctx, queue, DEV_TOKEN_KEYRING.byKid));
  }
  process.send?.('ready');
  // The harness is gone (even killed outright): so is the reason to run.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () =>
    stopRole()
      .then(() => connection.close())
      .finally(() => {
        redis.disconnect();
        process.exit(0);
      })
      .catch(() => process.exit(1)),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`plain-fleet ${role}: ${(error as Error).message}\n`);
  process.exit(1);
});
