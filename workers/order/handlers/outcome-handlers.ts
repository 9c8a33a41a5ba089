import type { EventHandler, HandlerMap } from '../../../shared/messaging/context';
import type { OrderPlaced } from '../events';
import type { OrderMetrics } from '../order-metrics';
import { placeOrder } from '../place-order';
import type { SagaRunner } from '../saga-runner';
import type { SagaStore } from '../store/saga-store';

/** Each outcome event moves its order's saga one step; a duplicate changes nothing and is counted as such. */
export function outcomeHandlers(runner: SagaRunner): HandlerMap {
  const advance: EventHandler = async (ctx) => {
    const { eventType, orderId, eventId } = ctx.event;
    const input = { eventType } as Parameters<SagaRunner['advance']>[1];
    const { traceparent } = ctx;
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
 * saga runs and ends like any other. The order service's own orders are already stored: nothing to do.
 */
export function onOrderPlaced(
  store: SagaStore,
  runner: SagaRunner,
  metrics: OrderMetrics,
  orderTimeoutMs: number,
): EventHandler<OrderPlaced> {
  const deps = { store, runner, metrics, orderTimeoutMs };
  return async (ctx) => {
    const result = await placeOrder(deps, { source: 'event', event: ctx.event });
    if (result.kind === 'created') ctx.log.info('adopted an order placed on the exchange');
  };
}
