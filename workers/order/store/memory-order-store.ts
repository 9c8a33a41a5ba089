import { isId } from '../../../shared/events/common';
import { idKey } from '../../../shared/redis/key-layout';
import type { Order } from '../domain/order-saga';
import {
  parseOrder,
  type CreateResult,
  type CustomerLimit,
  type IdempotencyRecord,
  type OutboxEntry,
  type SagaStore,
  type StoredOrder,
} from './saga-store';

/** A value that lapses, as a Redis key with an expiry does. */
interface Expiring<T> {
  value: T;
  expiresAt: number;
}

/**
 * {@link SagaStore} in memory, for unit tests of the order handlers, the saga runner and the relay: the Redis
 * store's decisions and answers, step for step (order-store.ts, order-functions.ts). Each method runs to its end
 * without awaiting, so it is as atomic as a Redis function. Records are kept as the JSON Redis would hold, so a
 * caller never shares an object with the store. Idempotency-Keys and rate windows lapse as in Redis; orders never
 * do (the retention is days, longer than any test).
 */
export class MemoryOrderStore implements SagaStore {
  private readonly orders = new Map<string, { version: number; data: string; traceparent?: string }>();
  private readonly outbox = new Map<string, { entry: string; due: number }>();
  private readonly deadlines = new Map<string, number>();
  private readonly parked = new Map<string, string>();
  private readonly idempotency = new Map<string, Expiring<string>>();
  private readonly orderCounts = new Map<string, Expiring<number>>();

  async create(
    order: Order,
    deadlineMs: number,
    outbox?: OutboxEntry,
    idempotency?: IdempotencyRecord,
    limit?: CustomerLimit,
  ): Promise<CreateResult> {
    const key = orderKey(order.orderId);
    const now = Date.now();
    if (idempotency?.value) {
      const prior = live(this.idempotency, idempotency.key, now);
      if (prior) return { kind: 'idempotent', stored: prior.value };
    }
    if (this.orders.has(key)) return { kind: 'exists' };
    const placed = limit && limit.limit > 0 ? live(this.orderCounts, limit.customerId, now) : undefined;
    if (limit && placed && placed.value >= limit.limit)
      return { kind: 'limited', retryAfterMs: placed.expiresAt - now, rate: { limit: limit.limit, windowMs: limit.windowMs } };
    const traceparent = outbox?.traceparent;
    this.orders.set(key, { version: 1, data: JSON.stringify(order), ...(traceparent ? { traceparent } : {}) });
    if (outbox) this.outbox.set(outbox.event.eventId, { entry: JSON.stringify(outbox), due: now });
    this.deadlines.set(order.orderId, deadlineMs);
    if (idempotency?.value) this.idempotency.set(idempotency.key, { value: idempotency.value, expiresAt: now + idempotency.ttlMs });
    // The window opens with the customer's first counted order, as the Redis count's expiry does.
    if (limit && limit.limit > 0)
      this.orderCounts.set(
        limit.customerId,
        placed ? { ...placed, value: placed.value + 1 } : { value: 1, expiresAt: now + limit.windowMs },
      );
    return { kind: 'created' };
  }

  async get(orderId: string): Promise<StoredOrder | undefined> {
    if (!isId(orderId)) return undefined;
    const record = this.orders.get(orderKey(orderId));
    if (!record) return undefined;
    const { traceparent } = record;
    return { order: parseOrder(orderId, record.data), version: String(record.version), ...(traceparent ? { traceparent } : {}) };
  }

  async update(order: Order, expectedVersion: string, final: boolean, outbox: OutboxEntry[]): Promise<boolean> {
    const key = orderKey(order.orderId);
    const record = this.orders.get(key);
    if (!record || String(record.version) !== expectedVersion) return false;
    this.orders.set(key, { ...record, version: record.version + 1, data: JSON.stringify(order) });
    if (final) this.deadlines.delete(order.orderId);
    const now = Date.now();
    for (const entry of outbox) this.outbox.set(entry.event.eventId, { entry: JSON.stringify(entry), due: now });
    return true;
  }

  /** Memory never held the older layout: nothing to adopt. */
  async adoptLegacyDeadlines(): Promise<number> {
    return 0;
  }

  async dueDeadlines(now: number, limit: number): Promise<string[]> {
    return oldestFirst(this.deadlines, now, limit).map(([orderId]) => orderId);
  }

  async dropDeadline(orderId: string): Promise<void> {
    this.deadlines.delete(orderId);
  }

  async postponeDeadline(orderId: string, at: number): Promise<void> {
    if (this.deadlines.has(orderId)) this.deadlines.set(orderId, at);
  }

  async parkDeadline(orderId: string, reason: string): Promise<boolean> {
    if (!this.deadlines.delete(orderId)) return false;
    this.parked.set(orderId, JSON.stringify({ reason, at: new Date().toISOString() }));
    return true;
  }

  async parkedOrders(): Promise<Record<string, string>> {
    return Object.fromEntries(this.parked);
  }

  async pendingOutbox(olderThan: number, limit: number): Promise<OutboxEntry[]> {
    const due = new Map([...this.outbox].map(([eventId, { due }]) => [eventId, due]));
    return oldestFirst(due, olderThan, limit).map(([eventId]) => JSON.parse(this.outbox.get(eventId)!.entry) as OutboxEntry);
  }

  /** At once: nothing is gained by batching in memory, and "soon" includes now. */
  removeFromOutbox(eventId: string): void {
    this.outbox.delete(eventId);
  }

  async drainRemovals(): Promise<void> {}

  async openOrders(): Promise<number> {
    return this.deadlines.size;
  }

  async outboxDepth(): Promise<number> {
    return this.outbox.size;
  }
}

// The Redis store's key layout, without a prefix: an order id it refuses (InvalidIdError) is refused here too.
const orderKey = (orderId: string) => idKey('', 'order', orderId);

function live<T>(map: Map<string, Expiring<T>>, key: string, now: number): Expiring<T> | undefined {
  const entry = map.get(key);
  if (entry && entry.expiresAt > now) return entry;
  map.delete(key);
  return undefined;
}

/** Members scored at most `max`, lowest score first and then by member, as a Redis sorted set ranges them. */
function oldestFirst(scores: Map<string, number>, max: number, limit: number): [string, number][] {
  return [...scores]
    .filter(([, score]) => score <= max)
    .sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, limit);
}
