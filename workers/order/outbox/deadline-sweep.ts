import { isPermanent } from '../../../shared/errors/errors';
import { describeFailure } from '../../../shared/messaging/retry-policy';
import type { Logger } from '../../../shared/observability/logger';
import type { OrderMetrics } from '../order-metrics';
import { UnknownOrderError, type SagaRunner } from '../saga-runner';
import type { SagaStore } from '../store/saga-store';

export interface SweepOptions {
  batch: number;
  /**
   * How far an order whose sweep failed transiently (Redis, contention) is moved back, so that it does not hold
   * the head of the deadlines for the orders behind it. @defaultValue 5000
   */
  sweepRetryMs?: number;
}

/**
 * The saga's clock: cancels orders whose deadline (`ORDER_TIMEOUT_MS`) passed without both outcomes. Safe to run
 * in every replica (the saga is compare-and-set).
 */
export class DeadlineSweep {
  private legacyAdopted = false;

  constructor(
    private readonly store: SagaStore,
    private readonly runner: SagaRunner,
    private readonly metrics: OrderMetrics,
    private readonly log: Logger,
    private readonly options: SweepOptions,
  ) {}

  async tick(now = Date.now()): Promise<void> {
    try {
      if (!this.legacyAdopted) {
        const adopted = await this.store.adoptLegacyDeadlines();
        if (adopted > 0) this.log.info({ adopted }, 'deadlines of the older key layout moved to order:_deadlines');
        this.legacyAdopted = true;
      }
      for (const orderId of await this.store.dueDeadlines(now, this.options.batch)) await this.sweep(orderId, now);
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'deadline sweep failed; will retry');
    }
  }

  /**
   * Times one order out. The sweep takes the oldest deadlines first, so an order that fails here every time would
   * be first again at every tick, and a batch of them would starve every order behind: one that can never be
   * settled (a permanent error: its stored data cannot make a valid event) is parked with the reason, off the
   * clock, for an operator; one that failed transiently goes to the back for a while.
   */
  private async sweep(orderId: string, now: number): Promise<void> {
    try {
      const changed = await this.runner.advance(orderId, { eventType: 'TimedOut' });
      if (!changed) await this.store.dropDeadline(orderId);
    } catch (error) {
      if (error instanceof UnknownOrderError) return this.store.dropDeadline(orderId);
      const { reason, errorClass } = describeFailure(error);
      if (isPermanent(error)) {
        await this.store.parkDeadline(orderId, reason);
        this.metrics.sweepParked.labels(error.code).inc();
        this.log.error({ orderId, errorClass, reason, reasonCode: error.code }, 'order cannot be timed out; parked off the clock');
        return;
      }
      await this.store.postponeDeadline(orderId, now + (this.options.sweepRetryMs ?? 5000));
      this.metrics.sweepPostponed.inc();
      this.log.warn({ orderId, errorClass, reason }, 'timeout sweep failed; moved back, will retry');
    }
  }
}
