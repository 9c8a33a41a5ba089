import type { Redis } from 'ioredis';
import type { AnyEvent } from '../../../shared/events/catalog';
import type { Metrics } from '../../../shared/observability/metrics';
import { isId } from '../../../shared/events/common';
import { PermanentError } from '../../../shared/errors/errors';
import { timed } from '../../../shared/redis/client';
import { hashedKey, idKey, internalKey } from '../../../shared/redis/key-layout';
import { RedisLibrary } from '../../../shared/redis/script';
import type { Order } from '../domain/order-saga';
import type { OrderRateLimit } from '../rate-limit';

/** An event waiting in the outbox, with the trace context to publish it under. */
export interface OutboxEntry {
  event: AnyEvent;
  traceparent?: string;
}

/** Orders and the outbox, one Redis library (shared/redis/script.ts). */
export const ORDER_FUNCTIONS = new RedisLibrary('order');

// KEYS: order, outbox hash, outbox due zset, deadlines zset, http idempotency key (or a placeholder), the
//       customer's order count in the current window (or a placeholder).
// ARGV: order json, orderId, deadline ms, outbox event id ('' for none), outbox entry json, now ms,
//       idempotency value ('' for none), idempotency ttl ms, retention ms, traceparent ('' for none),
//       orders per window ('0': no limit), window ms.
// The limit is checked after the Idempotency-Key, so a retry of an accepted order answers as before and is not
// counted, and in the same call as the create, so replicas sharing Redis cannot together let more through; a
// refusal writes nothing. The count and its expiry are set together here: an INCR and a PEXPIRE sent apart could
// leave a count without expiry (a crash between them), which would hold the customer off for good.
const CREATE = ORDER_FUNCTIONS.define(
  'create',
  `
if ARGV[7] ~= '' then
  local prior = redis.call('GET', KEYS[5])
  if prior then return {'IDEMPOTENT', prior} end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {'EXISTS', ''} end
local limit = tonumber(ARGV[11])
if limit > 0 then
  local placed = tonumber(redis.call('GET', KEYS[6]) or '0')
  precondition(placed ~= nil, 'the order count is not a number')
  if placed >= limit then
    local left = redis.call('PTTL', KEYS[6])
    -- A count without expiry (written by hand) would refuse for ever: it gets the window it lacks.
    if left < 0 then
      redis.call('PEXPIRE', KEYS[6], ARGV[12])
      left = tonumber(ARGV[12])
    end
    return {'LIMITED', tostring(left)}
  end
end
redis.call('HSET', KEYS[1], 'version', 1, 'data', ARGV[1])
if ARGV[10] ~= '' then redis.call('HSET', KEYS[1], 'traceparent', ARGV[10]) end
redis.call('PEXPIRE', KEYS[1], ARGV[9])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[4])
end
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
if ARGV[7] ~= '' then redis.call('SET', KEYS[5], ARGV[7], 'PX', ARGV[8]) end
if limit > 0 and redis.call('INCR', KEYS[6]) == 1 then redis.call('PEXPIRE', KEYS[6], ARGV[12]) end
return {'CREATED', ''}`,
  ['hash', 'hash', 'zset', 'zset', 'string'],
);

// KEYS: order, outbox hash, outbox due zset, deadlines zset. ARGV: expected version, order json, orderId,
// final ('1' drops the deadline), now ms, then outbox pairs (event id, entry json).
const UPDATE = ORDER_FUNCTIONS.define(
  'update',
  `
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
precondition(tonumber(ARGV[1]) ~= nil, 'the order version is not a number')
redis.call('HSET', KEYS[1], 'version', tonumber(ARGV[1]) + 1, 'data', ARGV[2])
if ARGV[4] == '1' then redis.call('ZREM', KEYS[4], ARGV[3]) end
for i = 6, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[i])
end
return 1`,
  ['hash', 'hash', 'zset', 'zset'],
);

// KEYS: outbox hash, outbox due zset. ARGV: event ids. One script instead of MULTI, HDEL, ZREM, EXEC.
const REMOVE_FROM_OUTBOX = ORDER_FUNCTIONS.define(
  'outboxremove',
  `
for i = 1, #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
end
return #ARGV`,
  ['hash', 'zset'],
);

// KEYS: deadlines zset, parked hash. ARGV: orderId, record json. Only an order still on the clock is parked.
const PARK = ORDER_FUNCTIONS.define(
  'park',
  `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1`,
  ['zset', 'hash'],
);

// KEYS: the deadlines index as it was named before the key layout (`order:deadlines`), the index now. Moves its
// entries over, once; a hash there is the order whose id is `deadlines`, and stays.
const ADOPT_LEGACY_DEADLINES = ORDER_FUNCTIONS.define(
  'adoptlegacydeadlines',
  `
if redis.call('TYPE', KEYS[1]).ok ~= 'zset' then return 0 end
local index = redis.call('TYPE', KEYS[2]).ok
if index ~= 'zset' and index ~= 'none' then return redis.error_reply('WARREN_PRECONDITION KEYS[2] is a ' .. index .. ', not a zset') end
local flat = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '+inf', 'WITHSCORES')
for i = 1, #flat, 2 do redis.call('ZADD', KEYS[2], 'NX', flat[i + 1], flat[i]) end
redis.call('DEL', KEYS[1])
return #flat / 2`,
);

/**
 * Published events leave the outbox together, one script call per this many milliseconds (or per 500 events):
 * at any rate that is one Redis round trip for many events instead of one each. The relay leaves entries alone
 * for a publish timeout and more, so a few milliseconds' wait changes nothing it does.
 */
const REMOVAL_BATCH_MS = 20;
const MAX_REMOVALS_PER_CALL = 500;

/** A stored order that cannot be read: no retry can mend it, so it is refused (and the sweep parks it). */
export class CorruptOrderError extends PermanentError {
  override readonly name = 'CorruptOrderError';
  override readonly code = 'CORRUPT_ORDER';
}

function parseOrder(orderId: string, data: string): Order {
  try {
    return JSON.parse(data) as Order;
  } catch {
    throw new CorruptOrderError(`order ${orderId}: its stored record is not JSON`);
  }
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

/**
 * Orders in Redis, each with a version for compare-and-set, and the transactional outbox: a state change and the
 * events it causes are written in one Lua script, then published; the relay publishes whatever a crash left.
 */
export class OrderStore {
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
    idempotency?: { key: string; value: string; ttlMs: number },
    limit?: CustomerLimit,
  ): Promise<CreateResult> {
    const k = this.keys;
    const [kind, stored] = (await timed(this.metrics, 'order_create', () =>
      CREATE.run(
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
  async get(orderId: string): Promise<{ order: Order; version: string; traceparent?: string } | undefined> {
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
      UPDATE.run(
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
    return (await PARK.run(this.redis, [this.keys.deadlines(), this.keys.parked()], [orderId, record])) === 1;
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
