import type { AnyEvent, EventOf, EventType, PayloadOf } from '../events/catalog';
import type { Logger } from '../observability/logger';

/**
 * What a handler sees of one delivery: the decoded event and its metadata, never the transport's message.
 * Correlation id, causation id and event id are the event's own fields (`ctx.event`).
 */
export interface MessageContext<E extends AnyEvent = AnyEvent> {
  readonly event: E;
  /** The queue it was consumed from: the scope of idempotency claims and a metric label. */
  readonly queue: string;
  /** 1 on the first delivery; counts our delayed retries (not broker redeliveries). */
  readonly attempt: number;
  /** The W3C `traceparent` of this delivery's span: the parent of work published outside {@link publish} (an outbox). */
  readonly traceparent?: string;
  /** True when the broker delivered this message before and it was not settled (a consumer died or its channel closed). */
  readonly redelivered: boolean;
  /** The broker's count of earlier unsettled deliveries (a quorum queue's `x-delivery-count`); 0 when it keeps none. */
  readonly deliveryCount: number;
  /** A child logger carrying orderId, correlationId, eventId, eventType and traceId. */
  readonly log: Logger;
  /**
   * Publishes an event caused by this one: correlation id, causation id and trace context are carried over.
   * Pass `eventId` to re-derive the same outcome with the same identity on redelivery.
   */
  publish<T extends EventType>(eventType: T, payload: PayloadOf<T>, options?: { eventId?: string }): Promise<EventOf<T>>;
}

/**
 * How a handled event ended; either way it is acked. `duplicate`: it had been handled already and changed
 * nothing (counted as `outcome="duplicate"`). Failures are thrown, never returned.
 */
export type HandlerOutcome = 'done' | 'duplicate';

/** A handler returns (nothing, or its outcome) to ack, or throws to retry or dead-letter. */
export type EventHandler<E extends AnyEvent = AnyEvent> = (ctx: MessageContext<E>) => Promise<HandlerOutcome | void>;

/** A composed chain of middleware and handler: always names its outcome. */
export type Pipeline = (ctx: MessageContext) => Promise<HandlerOutcome>;

/** One concern around every handler (logging, metrics, timeout, idempotency): call `next` to go on, pass its outcome back. */
export type Middleware = (ctx: MessageContext, next: () => Promise<HandlerOutcome>) => Promise<HandlerOutcome>;

/** The handlers of one queue, by event type; an event with no handler here is dead-lettered. */
export type HandlerMap = { [T in EventType]?: EventHandler<EventOf<T>> };

export function compose(middleware: readonly Middleware[], handler: EventHandler): Pipeline {
  const run: Pipeline = async (ctx) => (await handler(ctx)) ?? 'done';
  return middleware.reduceRight<Pipeline>((next, mw) => (ctx) => mw(ctx, () => next(ctx)), run);
}
