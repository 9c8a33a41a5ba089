import type { OrderPlaced } from './events';
import { newOrder, type Order } from './domain/order-saga';
import type { OrderMetrics } from './order-metrics';
import type { OrderRateLimit } from './rate-limit';
import type { SagaRunner } from './saga-runner';
import type { CreateResult, OutboxEntry, SagaStore } from './store/saga-store';

export interface PlaceOrderDeps {
  store: SagaStore;
  runner: SagaRunner;
  metrics: OrderMetrics;
  /** How long an order waits for its outcomes before the sweep cancels it as `TIMEOUT`. */
  orderTimeoutMs: number;
  /**
   * Orders each customer may place through the API per window (`ORDER_RATE_LIMIT`); none: unlimited. Orders
   * adopted from the bus are never counted: they were placed elsewhere, and refusing them would lose them.
   */
  rateLimit?: OrderRateLimit;
}

/**
 * Where an order comes from. `api`: its `OrderPlaced` is new, so it is stored in the outbox with the order (and
 * the client's Idempotency-Key) in one step, then published. `event`: its `OrderPlaced` was seen on the exchange
 * (a seed-shaped v1 event, or another publisher's), so the order is only adopted.
 */
export type Placement =
  | { source: 'api'; event: OrderPlaced; traceparent: string; idempotency?: { key: string; value: string; ttlMs: number } }
  | { source: 'event'; event: OrderPlaced };

/**
 * Stores a new order with its deadline, so its saga runs and ends like any other. An order already stored changes
 * nothing (`exists`, or `idempotent` for a repeated Idempotency-Key): known without a read when this process placed
 * it, otherwise found by the create. A customer past its limit is `limited`, with nothing written.
 */
export async function placeOrder(deps: PlaceOrderDeps, placement: Placement): Promise<CreateResult> {
  const { store, runner, metrics, orderTimeoutMs } = deps;
  const { event } = placement;
  if (runner.knows(event.orderId)) return { kind: 'exists' };
  const order = orderOf(event);
  const outbox: OutboxEntry | undefined = placement.source === 'api' ? { event, traceparent: placement.traceparent } : undefined;
  const idempotency = placement.source === 'api' ? placement.idempotency : undefined;
  // Counted against the customer the order is for: the token's subject, or with AUTH_MODE=off the body's.
  const limit = placement.source === 'api' && deps.rateLimit ? { customerId: event.customerId, ...deps.rateLimit } : undefined;
  const result = await store.create(order, Date.now() + orderTimeoutMs, outbox, idempotency, limit);
  if (result.kind === 'limited') metrics.rateLimited.inc();
  if (result.kind !== 'created') return result;
  // Its first outcome then needs no read (unless one was handled meanwhile: that write is the newer copy).
  if (!runner.knows(order.orderId)) runner.remember(order, '1', false, outbox?.traceparent);
  metrics.placed.labels(placement.source).inc();
  // Published at once; if that fails the entry stays in the outbox for the relay.
  if (outbox) await runner.outbox.flush([outbox]);
  return result;
}

/** The order an `OrderPlaced` describes, placed when the event says (or now, if its timestamp cannot be read). */
function orderOf(event: OrderPlaced): Order {
  const { orderId, customerId, items, totalAmount, currency, timestamp } = event;
  const createdAt = Number.isFinite(Date.parse(timestamp)) ? new Date(timestamp).toISOString() : new Date().toISOString();
  return newOrder({ orderId, customerId, items, totalAmount, currency, createdAt });
}
