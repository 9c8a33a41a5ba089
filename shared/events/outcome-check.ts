import type { AnyEvent, EventType, PayloadOf } from './catalog';
import { createEvent, derivedEventId } from './codec';

/** The outcomes one event may lead to, each with the payload it would be published with. */
export type Outcomes = { [T in EventType]?: PayloadOf<T> };

/**
 * Builds every outcome `cause` may lead to, exactly as the handler would publish it (same derived eventId,
 * causation and correlation), and so validates each one, before the handler's effect. An event whose outcome
 * could not be published is refused while nothing has happened (a permanent `SchemaViolationError`, to the DLQ),
 * instead of charging a card or reserving stock and then dead-lettering the outcome that would have said so.
 */
export function assertOutcomesPublishable(cause: AnyEvent, outcomes: Outcomes): void {
  for (const [eventType, payload] of Object.entries(outcomes) as [EventType, PayloadOf<EventType>][]) {
    createEvent(eventType, payload as never, {
      correlationId: cause.correlationId,
      causationId: cause.eventId,
      eventId: derivedEventId(cause.orderId, eventType),
      // Any valid timestamp checks the same; the cause's own spares a clock read and a Date per outcome.
      timestamp: cause.timestamp,
    });
  }
}
