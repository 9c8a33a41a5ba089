import type { Logger } from '../../../shared/observability/logger';
import type { OrderMetrics } from '../order-metrics';
import type { SagaStore } from '../store/saga-store';
import type { OutboxPublisher } from './outbox-publisher';

export interface RelayOptions {
  /** Entries younger than this are left to the fast path that wrote them. */
  graceMs: number;
  batch: number;
}

/**
 * The background half of the outbox: publishes the events a crash or an outage left in it. Safe to run in every
 * replica (publishes are idempotent by eventId, consumers dedupe).
 */
export class OutboxRelay {
  constructor(
    private readonly store: SagaStore,
    private readonly outbox: OutboxPublisher,
    private readonly metrics: OrderMetrics,
    private readonly log: Logger,
    private readonly options: RelayOptions,
  ) {}

  async tick(now = Date.now()): Promise<void> {
    try {
      const pending = await this.store.pendingOutbox(now - this.options.graceMs, this.options.batch);
      if (pending.length > 0) this.metrics.outboxRelayed.inc(await this.outbox.flush(pending));
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'relay tick failed; will retry');
    }
  }
}
