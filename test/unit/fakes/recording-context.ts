import type { AnyEvent, EventType, PayloadOf } from '../../../shared/events/catalog';
import { createEvent } from '../../../shared/events/codec';
import type { MessageContext } from '../../../shared/messaging/context';
import { contextFor } from './fixtures';

/** What a handler published through its context: the type, the eventId it asked for, and the payload. */
export interface PublishedOutcome {
  eventType: EventType;
  eventId: string;
  payload: PayloadOf<EventType>;
}

/**
 * A handler's context for one delivery that keeps what the handler publishes. Each publish builds the event as the
 * consumer does (shared/messaging/consumer.ts), so an outcome that would fail validation on the way out fails here
 * too; the published event types must be registered (import the publishing service's declaration).
 */
export function recordingContext<E extends AnyEvent>(event: E, queue: string): { ctx: MessageContext<E>; published: PublishedOutcome[] } {
  const published: PublishedOutcome[] = [];
  const ctx: MessageContext<E> = {
    ...(contextFor(event, queue) as MessageContext<E>),
    async publish(eventType, payload, options) {
      const next = createEvent(eventType, payload, {
        correlationId: event.correlationId,
        causationId: event.eventId,
        ...(options?.eventId ? { eventId: options.eventId } : {}),
      });
      published.push({ eventType, eventId: next.eventId, payload: payload as PayloadOf<EventType> });
      return next;
    },
  };
  return { ctx, published };
}
