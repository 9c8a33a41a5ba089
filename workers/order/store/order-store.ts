import type { Redis } from 'ioredis';
import type { Metrics } from '../../../shared/observability/metrics';
import { isId } from '../../../shared/events/common';
import { timed } from '../../../shared/redis/client';
import { hashedKey, idKey, internalKey } from '../../../shared/redis/key-layout';
import { ADOPT_LEGACY_DEADLINES, CREATE_ORDER, PARK_DEADLINE, REMOVE_FROM_OUTBOX, UPDATE_ORDER } from './order-functions';
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

/**
 * Published events leave the outbox together, one script call per this many milliseconds (or per 500 events):
 * at any rate that is one Redis round trip for many events instead of one each. The relay leaves entries alone
 * for a publish timeout and more, so a few milliseconds' wait changes nothing it does.
 */
const REMOVAL_BATCH_MS = 20;
const MAX_REMOVALS_PER_CALL = 500;

/**
 * Orders in Redis, each with a version for compare-and-set, and the transactional outbox: a state change and the
 * events it causes are written in one Lua script, then published; the relay publishes whatever a crash left.
 */
export class OrderStore implements SagaStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly retentionMs: number,
    private readonly metrics: Metrics,
  ) {}

  /** Event ids published and waiting to leave the outbox. */
  private readonly removals: string[] = [];
  private removalTimer?: NodeJS.Timeout;

  // The layout of shared/redis/key-layout.ts: orders by id, the service's own structures beside them (`_`), the
  // client's Idempotency-Key hashed into a kind of its own.
  private readonly keys = {
    order: (id: string) => idKey(this.prefix, 'order', id),
    outbox: () => `${this.prefix}outbox`,
    outboxDue: () => `${this.prefix}outbox:due`,
    deadlines: () => internalKey(this.prefix, 'order', 'deadlines'),
    parked: () => internalKey(this.prefix, 'order', 'parked'),
    idempotency: (key: string) => hashedKey(this.prefix, 'idem:http', key),
    // A customer id is any printable ASCII (a token's subject): hashed, like an Idempotency-Key, into a structure
    // of the service's own (`order:_rate:<sha256>`), which no order id can name and the ACL's `order:*` covers.
    orderCount: (customerId: string) => hashedKey(this.prefix, internalKey('', 'order', 'rate'), customerId),
  };

  async create(
    order: Order,
    deadlineMs: number,
    outbox?: OutboxEntry,
    idempotency?: IdempotencyRecord,
    limit?: CustomerLimit,
  ): Promise<CreateResult> {
    const k = this.keys;
    const [kind, stored] = (await timed(this.metrics, 'order_create', () =>
      CREATE_ORDER.run(
        this.redis,
        [
          k.order(order.orderId),
          k.outbox(),
          k.outboxDue(),
          k.deadlines(),
          k.idempotency(idempotency?.key ?? '-'),
          k.orderCount(limit?.customerId ?? '-'),
        ],
        [
          JSON.stringify(order),
          order.orderId,
          deadlineMs,
          outbox?.event.eventId ?? '',
          outbox ? JSON.stringify(outbox) : '',
          Date.now(),
          idempotency?.value ?? '',
          idempotency?.ttlMs ?? 0,
          this.retentionMs,
          outbox?.traceparent ?? '',
          limit?.limit ?? 0,
          limit?.windowMs ?? 0,
        ],
      ),
    )) as [string, string];
    if (kind === 'IDEMPOTENT') return { kind: 'idempotent', stored };
    // Only a call with a limit can answer LIMITED (ARGV[11] > 0).
    if (kind === 'LIMITED' && limit)
      return { kind: 'limited', retryAfterMs: Number(stored), rate: { limit: limit.limit, windowMs: limit.windowMs } };
    return kind === 'EXISTS' ? { kind: 'exists' } : { kind: 'created' };
  }

  /** The order, its version for compare-and-set, and the trace context it was placed under (if any). */
  async get(orderId: string): Promise<StoredOrder | undefined> {
    // An id that breaks the id rule was never stored: unknown, rather than an error for whoever asked.
    if (!isId(orderId)) return undefined;
    const [version, data, traceparent] = await timed(this.metrics, 'order_get', () =>
      this.redis.hmget(this.keys.order(orderId), 'version', 'data', 'traceparent'),
    );
    if (!version || !data) return undefined;
    return { order: parseOrder(orderId, data), version, ...(traceparent ? { traceparent } : {}) };
  }

  /** Compare-and-set: false when another writer got there first (reload and apply again). */
  async update(order: Order, expectedVersion: string, final: boolean, outbox: OutboxEntry[]): Promise<boolean> {
    const k = this.keys;
    const pairs = outbox.flatMap((entry) => [entry.event.eventId, JSON.stringify(entry)]);
    const ok = await timed(this.metrics, 'order_update', () =>
      UPDATE_ORDER.run(
        this.redis,
        [k.order(order.orderId), k.outbox(), k.outboxDue(), k.deadlines()],
        [expectedVersion, JSON.stringify(order), order.orderId, final ? '1' : '0', Date.now(), ...pairs],
      ),
    );
    return ok === 1;
  }

  /**
   * Moves the deadlines an older version kept at `<prefix>order:deadlines` (a name an order id could take) into
   * the index, so that orders placed before an upgrade still time out. Returns how many; 0 once done.
   */
  async adoptLegacyDeadlines(): Promise<number> {
    return (await ADOPT_LEGACY_DEADLINES.run(this.redis, [`${this.prefix}order:deadlines`, this.keys.deadlines()], [])) as number;
  }

  /** Orders whose deadline has passed. */
  async dueDeadlines(now: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.deadlines(), '-inf', now, 'LIMIT', 0, limit);
  }

  async dropDeadline(orderId: string): Promise<void> {
    await this.redis.zrem(this.keys.deadlines(), orderId);
  }

  /** Moves an order's deadline to `at`, so that an order the sweep could not settle now lets the others go first. */
  async postponeDeadline(orderId: string, at: number): Promise<void> {
    await this.redis.zadd(this.keys.deadlines(), 'XX', at, orderId);
  }

  /**
   * Takes an order the sweep can never settle off the clock and keeps why, for an operator
   * (`HGETALL <prefix>order:_parked`). Returns false when it was no longer on the clock.
   */
  async parkDeadline(orderId: string, reason: string): Promise<boolean> {
    const record = JSON.stringify({ reason, at: new Date().toISOString() });
    return (await PARK_DEADLINE.run(this.redis, [this.keys.deadlines(), this.keys.parked()], [orderId, record])) === 1;
  }

  async parkedOrders(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.parked());
  }

  /** Outbox entries written before `olderThan` (the fast path publishes newer ones itself). */
  async pendingOutbox(olderThan: number, limit: number): Promise<OutboxEntry[]> {
    const ids = await this.redis.zrangebyscore(this.keys.outboxDue(), '-inf', olderThan, 'LIMIT', 0, limit);
    if (ids.length === 0) return [];
    const entries = await this.redis.hmget(this.keys.outbox(), ...ids);
    return entries.flatMap((json, i) => {
      if (json) return [JSON.parse(json) as OutboxEntry];
      // An index entry whose event is gone: dropped in passing; a failure leaves it for the next relay pass.
      this.redis.zrem(this.keys.outboxDue(), ids[i]!).catch(() => undefined);
      return [];
    });
  }

  /**
   * Removes a published event from the outbox, soon and together with the others published meanwhile. Not awaited
   * by anyone: if it fails (Redis away), the relay publishes the event again later and consumers drop the copy.
   */
  removeFromOutbox(eventId: string): void {
    this.removals.push(eventId);
    // drainRemovals() never rejects (a failure is left to the relay), so nothing awaits it.
    if (this.removals.length >= MAX_REMOVALS_PER_CALL) this.drainRemovals().catch(() => undefined);
    else this.removalTimer ??= setTimeout(() => this.drainRemovals().catch(() => undefined), REMOVAL_BATCH_MS);
  }

  /** Sends the removals waiting now (also on shutdown, before Redis is closed). */
  async drainRemovals(): Promise<void> {
    clearTimeout(this.removalTimer);
    this.removalTimer = undefined;
    const ids = this.removals.splice(0);
    if (ids.length === 0) return;
    await timed(this.metrics, 'outbox_remove', () =>
      REMOVE_FROM_OUTBOX.run(this.redis, [this.keys.outbox(), this.keys.outboxDue()], ids),
    ).catch(() => undefined);
  }

  /** Orders with a running deadline: placed, not yet confirmed or cancelled. */
  async openOrders(): Promise<number> {
    return this.redis.zcard(this.keys.deadlines());
  }

  async outboxDepth(): Promise<number> {
    return this.redis.zcard(this.keys.outboxDue());
  }
}
