/**
 * The plain peer's consume loop, as a user who knows amqplib would write it: each delivery `JSON.parse`d and trusted
 * (no schema validation, no upcasting: the checks Warren makes are the user's to skip), handed to a handler, acked
 * once the handler resolves; outcomes published on a confirm channel, shaped as Warren's catalog shapes them. One ack
 * per delivery, no metrics, no logging, no tracing, no handler timeout, no retry tiers. Nothing here imports Warren.
 */
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import type { Redis } from 'ioredis';
import type { Line, PlainScripts } from './plain-calls';

export interface PlainContext {
  connection: ChannelModel;
  scripts: PlainScripts;
  redis: Redis;
  exchange: string;
  prefix: string;
  retentionMs: number;
  leaseMs: number;
  prefetch: number;
}

/** A delivery as the plain peer reads it: whatever the JSON says, trusted. */
export interface Incoming {
  eventType: string;
  eventId: string;
  orderId: string;
  correlationId: string;
  customerId?: string;
  items?: Line[];
  totalAmount?: number;
  currency?: string;
  sealedPaymentToken?: string;
  timestamp?: string;
}

/** An outcome event as Warren's catalog shapes it: type, version, its derived id, payload, correlation and causation, time. */
export function outcome(
  eventType: string,
  payload: Record<string, unknown>,
  cause: Incoming,
): Record<string, unknown> & { eventId: string } {
  return {
    eventType,
    version: 1,
    eventId: `${eventType}:${cause.orderId}`,
    ...payload,
    correlationId: cause.correlationId,
    causationId: cause.eventId,
    timestamp: new Date().toISOString(),
  };
}

/** The AMQP properties Warren's publisher sets (persistent, mandatory, JSON, id, type, correlation, time). */
export function properties(event: Record<string, unknown> & { eventId: string }): Options.Publish {
  return {
    persistent: true,
    mandatory: true,
    contentType: 'application/json',
    messageId: event.eventId,
    type: String(event['eventType']),
    correlationId: String(event['correlationId']),
    timestamp: Math.floor(Date.now() / 1000),
  };
}

export interface Consumer {
  consume: Channel;
  publish: ConfirmChannel;
  /** Publishes an event and resolves once the broker confirmed it. */
  publishConfirmed(routingKey: string, event: Record<string, unknown> & { eventId: string }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Consumes `queue` with `handle`: the delivery is acked when `handle` resolves, nacked (requeued once, then
 * dropped) when it rejects.
 */
export async function consume(
  ctx: PlainContext,
  queue: string,
  handle: (event: Incoming, c: Consumer) => Promise<void>,
): Promise<Consumer> {
  const consumeChannel = await ctx.connection.createChannel();
  const publishChannel = await ctx.connection.createConfirmChannel();
  await consumeChannel.prefetch(ctx.prefetch);
  const c: Consumer = {
    consume: consumeChannel,
    publish: publishChannel,
    publishConfirmed: (routingKey, event) =>
      new Promise<void>((resolve, reject) =>
        publishChannel.publish(ctx.exchange, routingKey, Buffer.from(JSON.stringify(event)), properties(event), (err) =>
          err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
        ),
      ),
    async stop() {
      await consumeChannel.cancel(tag).catch(() => undefined);
      await consumeChannel.close().catch(() => undefined);
      await publishChannel.close().catch(() => undefined);
    },
  };
  const onMessage = (m: ConsumeMessage | null) => {
    if (!m) return;
    const event = JSON.parse(m.content.toString('utf8')) as Incoming;
    handle(event, c).then(
      () => consumeChannel.ack(m),
      () => consumeChannel.nack(m, false, !m.fields.redelivered),
    );
  };
  const { consumerTag: tag } = await consumeChannel.consume(queue, onMessage);
  return c;
}
