import type { Logger } from '../../shared/observability/logger';
import type { OrderMetrics } from './order-metrics';
import { UnknownOrderError, type SagaRunner } from './saga-runner';
import type { OrderStore } from './store/order-store';

export interface RelayOptions {
  intervalMs: number;
  /** Entries younger than this are left to the fast path that wrote them. */
  graceMs: number;
  batch: number;
}

/**
 * The background half of the outbox and the saga's clock: publishes events a crash or an outage left in the
 * outbox, and cancels orders whose deadline passed. Safe to run in every replica (publishes are idempotent by
 * eventId; the saga is compare-and-set).
 */
export class OutboxRelay {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly store: OrderStore,
    private readonly runner: SagaRunner,
    private readonly metrics: OrderMetrics,
    private readonly log: Logger,
    private readonly options: RelayOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => (this.running = undefined));
    }, this.options.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async tick(): Promise<void> {
    try {
      const now = Date.now();
      const pending = await this.store.pendingOutbox(now - this.options.graceMs, this.options.batch);
      if (pending.length > 0) {
        this.metrics.outboxRelayed.inc(await this.runner.flush(pending));
      }
      for (const orderId of await this.store.dueDeadlines(now, this.options.batch)) {
        const changed = await this.runner.advance(orderId, { eventType: 'TimedOut' }).catch((err: Error) => {
          if (err instanceof UnknownOrderError) return false;
          this.log.warn({ orderId, err: err.message }, 'timeout sweep failed; will retry');
          return true;
        });
        if (!changed) await this.store.dropDeadline(orderId);
      }
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'relay tick failed; will retry');
    }
  }
}
