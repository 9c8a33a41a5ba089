import assert from 'node:assert/strict';
import type { MessageFields, MessageProperties, XDeath } from 'amqplib';
import type { AnyEvent } from '../../../shared/events/catalog';
import type { HandlerMap } from '../../../shared/messaging/context';
import { Consumer, type ConsumerOptions } from '../../../shared/messaging/consumer';
import { Publisher } from '../../../shared/messaging/publisher';
import type { Topology } from '../../../shared/messaging/topology';
import type { FakeChannel, Published } from './fake-channel';
import { FakeConnectionManager } from './fake-connection-manager';
import { quietLog, testMetrics } from './fixtures';

export const TIERS = [10, 20];
const topology: Topology = {
  exchange: 'test.events',
  queues: [{ name: 'q', bindings: ['payment.#'] }],
  retryDelaysMs: TIERS,
  queueType: 'quorum',
};
/** Every fake channel a test started, checked by {@link assertBrokersSawNoViolation} after it. */
const brokers: FakeChannel[] = [];

/**
 * A Consumer of queue `q` (prefetch 4, retry tiers {@link TIERS}) and the Publisher of its copies, each on a fake
 * broker channel: `broker` is the consumer's, `copies` the publisher's.
 */
export async function startConsumer(handlers: HandlerMap, options: Partial<ConsumerOptions> & { confirmTimeoutMs?: number } = {}) {
  const amqp = new FakeConnectionManager();
  const metrics = testMetrics();
  const { confirmTimeoutMs = 2000, ...consumerOptions } = options;
  const publisher = new Publisher(amqp.manager, {
    exchange: 'test.events',
    topology,
    timeoutMs: confirmTimeoutMs,
    bufferLimit: 100,
    bufferBytes: 1 << 20,
    appId: 'test',
    log: quietLog,
    metrics,
  });
  const consumer = new Consumer(amqp.manager, {
    queue: 'q',
    topology,
    prefetch: 4,
    handlers,
    middleware: [],
    publisher,
    service: 'payment',
    log: quietLog,
    metrics,
    ...consumerOptions,
  });
  await Promise.all([publisher.ready(), consumer.ready()]);
  const broker = amqp.channel('consumer:q');
  const copies = amqp.channel('publisher');
  brokers.push(broker, copies);
  /** A delivery from the events exchange, or from `from` (e.g. {@link FROM_RETRY_TIER}, whose x-warren-* headers count). */
  const deliver = (
    content: Buffer,
    props: Partial<MessageProperties> = {},
    from: Partial<Pick<MessageFields, 'exchange' | 'routingKey'>> = {},
  ) => broker.deliver('q', content, props, { routingKey: 'payment.declined', ...from });
  /** The broker hands a retry copy back to `q` once its tier's TTL passed, adding its own death headers. */
  const returnFromTier = (copy: Published) => {
    const delayMs = Number(copy.routingKey.replace('retry.', ''));
    const headers = { ...copy.options.headers, 'x-death': [xDeath(delayMs)], 'x-first-death-reason': 'expired' };
    return broker.deliver('q', copy.content, { ...copy.options, headers }, { exchange: 'q.failures', routingKey: 'return' });
  };
  return { consumer, broker, copies, metrics, deliver, returnFromTier, wrapper: amqp.wrappers.get('consumer:q')!, amqp };
}

/** Where the consumer's own copies come back from: only there are its x-warren-* headers believed. */
export const FROM_RETRY_TIER = { exchange: 'q.failures', routingKey: 'return' };

export function assertBrokersSawNoViolation(): void {
  for (const broker of brokers.splice(0)) assert.deepEqual(broker.violations, [], 'no delivery is settled twice');
}

/** The death record the broker adds when a retry tier's TTL expires. */
export const xDeath = (delayMs: number): XDeath => ({
  count: 1,
  reason: 'expired',
  queue: `q.retry.${delayMs}`,
  time: { '!': 'timestamp', value: 1_767_225_600 },
  exchange: 'q.failures',
  'routing-keys': [`retry.${delayMs}`],
});

/** The properties Publisher.publishEvent gives an event. */
export const eventProps = (event: AnyEvent): Partial<MessageProperties> => ({
  messageId: event.eventId,
  correlationId: event.correlationId,
  type: event.eventType,
  contentType: 'application/json',
});

export const headersOf = (copy: Published | undefined): Record<string, unknown> => (copy?.options.headers ?? {}) as Record<string, unknown>;
