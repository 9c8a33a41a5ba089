import type { EventHandler, HandlerMap } from '../../../shared/messaging/context';
import type { OrderPlaced } from '../../../shared/events/order-events';
import { newOrder } from '../domain/order-saga';
import type { OrderMetrics } from '../order-metrics';
import type { SagaRunner } from '../saga-runner';
import type { OrderStore } from '../store/order-store';

/** Each outcome event moves its order's saga one step; a duplicate changes nothing and is counted as such. */
export function outcomeHandlers(runner: SagaRunner): HandlerMap {
  const advance: EventHandler = async (ctx) => {
    const { eventType, orderId, eventId } = ctx.event;
    const { traceparent } = ctx;
    const input = { eventType } as Parameters<SagaRunner['advance']>[1];
    const changed = await runner.advance(orderId, input, { eventId, ...(traceparent ? { traceparent } : {}) });
    return changed ? 'done' : 'duplicate';
  };
  return {
    InventoryReserved: advance,
    InventoryRejected: advance,
    InventoryReleased: advance,
    PaymentCaptured: advance,
    PaymentDeclined: advance,
    PaymentRefunded: advance,
  };
}

/**
 * Adopts an order placed straight onto the exchange (a seed-shaped v1 event, or another publisher's), so its
 * saga runs and ends like any other. The order service's own orders are already stored: nothing to do (known
 * without a read when this process placed it; otherwise the create finds it and changes nothing).
 */
export function onOrderPlaced(store: OrderStore, runner: SagaRunner, metrics: OrderMetrics, orderTimeoutMs: number): EventHandler<OrderPlaced> {
  return async (ctx) => {
    const { orderId, customerId, items, totalAmount, currency, timestamp } = ctx.event;
    if (runner.knows(orderId)) return;
    const createdAt = Number.isFinite(Date.parse(timestamp)) ? new Date(timestamp).toISOString() : new Date().toISOString();
    const order = newOrder({ orderId, customerId, items, totalAmount, currency, createdAt });
    const result = await store.create(order, Date.now() + orderTimeoutMs);
    if (result.kind === 'created') {
      // Its first outcome then needs no read (unless one was handled meanwhile: that write is the newer copy).
      if (!runner.knows(orderId)) runner.remember(order, '1', false);
      metrics.placed.labels('event').inc();
      ctx.log.info('adopted an order placed on the exchange');
    }
  };
}
