import type { AnyEvent } from '../../../shared/events/catalog';
import { PermanentError } from '../../../shared/errors/errors';
import type { Order } from '../domain/order-saga';
import type { OrderRateLimit } from '../rate-limit';

/** An event waiting in the outbox, with the trace context to publish it under. */
export interface OutboxEntry {
  event: AnyEvent;
  traceparent?: string;
}

/** A stored order that cannot be read: no retry can mend it, so it is refused (and the sweep parks it). */
export class CorruptOrderError extends PermanentError {
  override readonly name = 'CorruptOrderError';
  override readonly code = 'CORRUPT_ORDER';
}

/** An order as stored: what {@link SagaStore.get} answers. */
export interface StoredOrder {
  order: Order;
  /** For compare-and-set ({@link SagaStore.update}): `'1'` when created, one more at each update. */
  version: string;
  /** The trace context the order was placed under, if any. */
  traceparent?: string;
}

export type CreateResult =
  | { kind: 'created' }
  | { kind: 'exists' }
  | { kind: 'idempotent'; stored: string }
  /** The customer placed the most orders its window allows (`rate`, as enforced); the window closes in `retryAfterMs`. */
  | { kind: 'limited'; retryAfterMs: number; rate: OrderRateLimit };

/** A customer's orders counted against a limit (rate-limit.ts): the create refuses the one beyond it. */
export interface CustomerLimit extends OrderRateLimit {
  customerId: string;
}

/** A client's Idempotency-Key, the value a retry of its request gets back, and how long it is kept. */
export interface IdempotencyRecord {
  key: string;
  value: string;
  ttlMs: number;
}

/**
 * The order service's store: orders with a version for compare-and-set, their deadlines (the saga's clock) and
 * the transactional outbox, so that a state change and the events it causes are written in one atomic step, then
 * published; the relay publishes whatever a crash left. An order id that breaks the id rule is never written
 * (`InvalidIdError`). Implementations: `OrderStore` (Redis, order-store.ts) and `MemoryOrderStore`
 * (memory-order-store.ts), checked by one conformance suite (test/conformance/saga-store.conformance.ts).
 */
export interface SagaStore {
  /**
   * Stores a new order, its deadline and its outbox entry at once. A repeated Idempotency-Key answers what it was
   * stored with (`idempotent`, checked first, never counted); an order already stored is `exists`; a customer at
   * its limit is `limited`, with nothing written.
   */
  create(
    order: Order,
    deadlineMs: number,
    outbox?: OutboxEntry,
    idempotency?: IdempotencyRecord,
    limit?: CustomerLimit,
  ): Promise<CreateResult>;
  /** The order, or undefined when none is stored (an id that breaks the id rule never is). Throws {@link CorruptOrderError}. */
  get(orderId: string): Promise<StoredOrder | undefined>;
  /**
   * Compare-and-set: writes the order and queues its outbox entries, and drops its deadline when `final`; false
   * when the stored version is not `expectedVersion` (another writer got there first: reload and apply again).
   */
  update(order: Order, expectedVersion: string, final: boolean, outbox: OutboxEntry[]): Promise<boolean>;
  /** Moves deadlines an older layout kept elsewhere into the index; how many (0 once done, or with no older layout). */
  adoptLegacyDeadlines(): Promise<number>;
  /** Orders whose deadline is at or before `now`, the oldest first, at most `limit`. */
  dueDeadlines(now: number, limit: number): Promise<string[]>;
  dropDeadline(orderId: string): Promise<void>;
  /** Moves an order's deadline to `at`, if it has one, so that an order the sweep could not settle lets others go first. */
  postponeDeadline(orderId: string, at: number): Promise<void>;
  /** Takes an order off the clock and keeps why, for an operator; false when it was no longer on the clock. */
  parkDeadline(orderId: string, reason: string): Promise<boolean>;
  /** Parked orders: their id and a JSON record of `reason` and `at`. */
  parkedOrders(): Promise<Record<string, string>>;
  /** Outbox entries written at or before `olderThan` (the fast path publishes newer ones itself), the oldest first. */
  pendingOutbox(olderThan: number, limit: number): Promise<OutboxEntry[]>;
  /** Removes a published event from the outbox, soon; never fails (the relay publishes it again, consumers drop it). */
  removeFromOutbox(eventId: string): void;
  /** Sends the removals waiting now (also on shutdown). */
  drainRemovals(): Promise<void>;
  /** Orders with a running deadline: placed, not yet confirmed or cancelled. */
  openOrders(): Promise<number>;
  outboxDepth(): Promise<number>;
}

/** The order in a stored record; {@link CorruptOrderError} when it is not JSON. */
export function parseOrder(orderId: string, data: string): Order {
  try {
    return JSON.parse(data) as Order;
  } catch {
    throw new CorruptOrderError(`order ${orderId}: its stored record is not JSON`);
  }
}
