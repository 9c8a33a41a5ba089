import type { ConsumeMessage } from 'amqplib';
import type { AnyEvent, EventOf, EventType, PayloadOf } from '../events/catalog';
import type { Logger } from '../observability/logger';

/** What a handler sees of one delivery. A handler only returns (ack) or throws (retry or dead-letter). */
export interface MessageContext<E extends AnyEvent = AnyEvent> {
  readonly event: E;
  readonly queue: string;
  readonly message: ConsumeMessage;
  /** 1 on the first delivery; counts our delayed retries (not broker redeliveries). */
  readonly attempt: number;
  /** A child logger carrying orderId, correlationId, eventId, eventType and traceparent. */
  readonly log: Logger;
  /** Set by the idempotency middleware when this event was already handled: acked and counted as `duplicate`. */
  duplicate: boolean;
  /**
   * Publishes an event caused by this one: correlation id, causation id and trace context are carried over.
   * Pass `eventId` to re-derive the same outcome with the same identity on redelivery.
   */
  publish<T extends EventType>(eventType: T, payload: PayloadOf<T>, options?: { eventId?: string }): Promise<EventOf<T>>;
}

export type EventHandler<E extends AnyEvent = AnyEvent> = (ctx: MessageContext<E>) => Promise<void>;

/** One concern around every handler (logging, metrics, timeout, idempotency): call `next` to go on. */
export type Middleware = (ctx: MessageContext, next: () => Promise<void>) => Promise<void>;

/** The handlers of one queue, by event type; an event with no handler here is dead-lettered. */
export type HandlerMap = { [T in EventType]?: EventHandler<EventOf<T>> };

export function compose(middleware: readonly Middleware[], handler: EventHandler): EventHandler {
  return middleware.reduceRight<EventHandler>((next, mw) => (ctx) => mw(ctx, () => next(ctx)), handler);
}
