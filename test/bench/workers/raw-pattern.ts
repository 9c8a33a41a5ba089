import { randomUUID } from 'node:crypto';
import amqplib, { type ConsumeMessage } from 'amqplib';
import type { QueueType } from '../../../shared/config/config';
import { planTopology } from '../../../shared/messaging/topology';

/**
 * One process of the raw version of Warren's message pattern, in plain amqplib: `inventory` and `payment` each
 * answer `order.placed` with their outcome; `order` joins both outcomes in memory and publishes
 * `order.confirmed`. Every publish is confirmed before the delivery that caused it is acked. With
 * RAW_MIRROR=1 the queues carry Warren's bindings too (order also takes `order.placed`, inventory also
 * `order.confirmed`), so the broker moves the same deliveries as for Warren's fleet.
 */
type Role = 'inventory' | 'payment' | 'order';

const role = process.argv[2] as Role;
const url = process.env['AMQP_URL']!;
const exchange = process.env['EVENTS_EXCHANGE']!;
const queueType = (process.env['QUEUE_TYPE'] ?? 'quorum') as QueueType;
const prefetch = Number(process.env['RAW_PREFETCH'] ?? 200);
const mirror = process.env['RAW_MIRROR'] === '1';

const BINDINGS: Record<Role, string[]> = {
  inventory: mirror ? ['order.placed', 'order.cancelled', 'order.confirmed'] : ['order.placed'],
  payment: mirror ? ['order.placed', 'order.cancelled'] : ['order.placed'],
  order: mirror ? ['order.placed', 'inventory.reserved', 'payment.captured'] : ['inventory.reserved', 'payment.captured'],
};
const OUTCOME: Record<Role, { eventType: string; routingKey: string }> = {
  inventory: { eventType: 'InventoryReserved', routingKey: 'inventory.reserved' },
  payment: { eventType: 'PaymentCaptured', routingKey: 'payment.captured' },
  order: { eventType: 'OrderConfirmed', routingKey: 'order.confirmed' },
};

async function main(): Promise<void> {
  const connection = await amqplib.connect(url, { noDelay: true, clientProperties: { connection_name: `bench-raw-${role}` } });
  const consume = await connection.createChannel();
  const publish = await connection.createConfirmChannel();
  const queue = `raw.${role}`;
  // The same queue arguments as Warren's own queues, so that only the client differs.
  const options = planTopology({ exchange, queues: [{ name: queue, bindings: [] }], retryDelaysMs: [1000], queueType })[0]!.options;
  await consume.assertExchange(exchange, 'topic', { durable: true });
  await consume.assertQueue(queue, options);
  for (const key of BINDINGS[role]) await consume.bindQueue(queue, exchange, key);
  await consume.prefetch(prefetch);
  const seen = new Map<string, number>();

  const answer = (m: ConsumeMessage, cause: { eventId: string; orderId: string; correlationId: string }) => {
    const { eventType, routingKey } = OUTCOME[role];
    const event = {
      eventType,
      version: 1,
      eventId: randomUUID(),
      orderId: cause.orderId,
      correlationId: cause.correlationId,
      causationId: cause.eventId,
      timestamp: new Date().toISOString(),
    };
    publish.publish(
      exchange,
      routingKey,
      Buffer.from(JSON.stringify(event)),
      {
        persistent: true,
        mandatory: true,
        contentType: 'application/json',
        messageId: event.eventId,
        type: eventType,
        correlationId: event.correlationId,
        timestamp: Math.floor(Date.now() / 1000),
      },
      (err) => (err ? consume.nack(m) : consume.ack(m)),
    );
  };

  await consume.consume(queue, (m) => {
    if (!m) return;
    const event = JSON.parse(m.content.toString('utf8')) as { eventType: string; eventId: string; orderId: string; correlationId: string };
    if (role !== 'order') {
      if (event.eventType === 'OrderPlaced') answer(m, event);
      else consume.ack(m);
      return;
    }
    if (event.eventType === 'OrderPlaced') return consume.ack(m);
    const outcomes = (seen.get(event.orderId) ?? 0) + 1;
    if (outcomes < 2) {
      seen.set(event.orderId, outcomes);
      consume.ack(m);
    } else {
      seen.delete(event.orderId);
      answer(m, event);
    }
  });
  process.send?.('ready');
  // The harness is gone (even killed outright): so is the reason to run.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () =>
    connection
      .close()
      .finally(() => process.exit(0))
      .catch(() => process.exit(1)),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`raw-pattern ${role}: ${(error as Error).message}\n`);
  process.exit(1);
});
