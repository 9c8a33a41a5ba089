import type { Publisher } from '../../../shared/messaging/publisher';
import type { Logger } from '../../../shared/observability/logger';
import { parseTraceparent } from '../../../shared/observability/trace';
import type { OutboxEntry, SagaStore } from '../store/saga-store';

/**
 * The outbox's way out: an event is stored with the order that caused it (one Redis function: the store), then
 * published at once by whoever wrote it (the API, the saga), and removed once the broker confirmed it. One that
 * failed stays for the relay (outbox-relay.ts), which publishes through here too.
 */
export class OutboxPublisher {
  constructor(
    private readonly store: SagaStore,
    private readonly publisher: Publisher,
    private readonly log: Logger,
  ) {}

  /** Publishes outbox entries now and removes them (soon, in a batch) once confirmed; failures stay for the relay. Returns how many went out. */
  async flush(entries: readonly OutboxEntry[]): Promise<number> {
    const sent = await Promise.all(
      entries.map(async (entry) => {
        try {
          await this.publisher.publishEvent(entry.event, entry.traceparent ? { traceparent: entry.traceparent } : {});
          this.store.removeFromOutbox(entry.event.eventId);
          return 1;
        } catch (error) {
          const traceId = parseTraceparent(entry.traceparent)?.traceId;
          this.log.warn(
            { orderId: entry.event.orderId, eventId: entry.event.eventId, traceId, err: (error as Error).message },
            'publish failed; the outbox relay will retry',
          );
          return 0;
        }
      }),
    );
    return sent.reduce<number>((a, b) => a + b, 0);
  }
}
