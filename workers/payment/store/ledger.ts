import type { Redis } from 'ioredis';
import type { Metrics } from '../../../shared/observability/metrics';
import { ConflictingEventError } from '../../../shared/errors/errors';
import { timed } from '../../../shared/redis/client';
import { idKey } from '../../../shared/redis/key-layout';
import { RedisLibrary } from '../../../shared/redis/script';
import type { PaymentStatus } from '../domain/payment';
import type { ChargeOutcome, LedgerEntry, PaymentLedger } from './payment-ledger';

/** The payment ledger, one Redis library (shared/redis/script.ts). */
export const LEDGER_FUNCTIONS = new RedisLibrary('ledger');

// KEYS[1] ledger; ARGV status, amount, currency, paymentId, reason, retention. First answer wins.
// Both scripts answer {changed, the entry after the change}: one round trip where a write and a read were two.
const RECORD_CHARGE = LEDGER_FUNCTIONS.define(
  'recordcharge',
  `
local changed = 0
if not redis.call('HGET', KEYS[1], 'status') then
  redis.call('HSET', KEYS[1], 'status', ARGV[1], 'amount', ARGV[2], 'currency', ARGV[3], 'paymentId', ARGV[4], 'reason', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  changed = 1
end
return {changed, redis.call('HGETALL', KEYS[1])}`,
  ['hash'],
);

// KEYS[1] ledger; ARGV amount, currency, retention. The terms of the first OrderPlaced seen are kept; a later one
// with other terms answers -1 and changes nothing. Answers {1 | 0 | -1, the entry}.
const OBSERVE_TERMS = LEDGER_FUNCTIONS.define(
  'observeterms',
  `
local amount = redis.call('HGET', KEYS[1], 'amount')
if amount then
  if amount ~= ARGV[1] or redis.call('HGET', KEYS[1], 'currency') ~= ARGV[2] then return {-1, redis.call('HGETALL', KEYS[1])} end
  return {0, redis.call('HGETALL', KEYS[1])}
end
redis.call('HSET', KEYS[1], 'amount', ARGV[1], 'currency', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, redis.call('HGETALL', KEYS[1])}`,
  ['hash'],
);

// KEYS[1] ledger; ARGV retention. A confirmed order's cancel answers -1 and changes nothing.
const MARK_CANCELLED = LEDGER_FUNCTIONS.define(
  'markcancelled',
  `
if redis.call('HGET', KEYS[1], 'confirmed') == '1' then return {-1, redis.call('HGETALL', KEYS[1])} end
local changed = 0
if redis.call('HGET', KEYS[1], 'cancelled') ~= '1' then
  redis.call('HSET', KEYS[1], 'cancelled', '1')
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  changed = 1
end
return {changed, redis.call('HGETALL', KEYS[1])}`,
  ['hash'],
);

// KEYS[1] ledger; ARGV retention. Only a capture that was not cancelled can be confirmed: anything else answers -1.
const MARK_CONFIRMED = LEDGER_FUNCTIONS.define(
  'markconfirmed',
  `
if redis.call('HGET', KEYS[1], 'confirmed') == '1' then return 0 end
if redis.call('HGET', KEYS[1], 'status') ~= 'CAPTURED' or redis.call('HGET', KEYS[1], 'cancelled') == '1' then return -1 end
redis.call('HSET', KEYS[1], 'confirmed', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`,
  ['hash'],
);

const MARK_REFUNDED = LEDGER_FUNCTIONS.define(
  'markrefunded',
  `
if redis.call('HGET', KEYS[1], 'status') == 'CAPTURED' then
  redis.call('HSET', KEYS[1], 'status', 'REFUNDED', 'refundId', ARGV[1])
  return 1
end
return 0`,
  ['hash'],
);

/** The payment service's ledger in Redis: what the gateway answered per order, and whether the order was cancelled. */
export class Ledger implements PaymentLedger {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly retentionMs: number,
    private readonly metrics: Metrics,
  ) {}

  private key = (orderId: string) => idKey(this.prefix, 'payment', orderId);

  async get(orderId: string): Promise<LedgerEntry> {
    return entryOf(orderId, await this.redis.hgetall(this.key(orderId)), false);
  }

  /**
   * The order's entry, after keeping the amount and currency of the first `OrderPlaced` seen for it. Throws
   * {@link ConflictingEventError} for one with other terms: it is never charged, whatever it says.
   */
  async observe(orderId: string, terms: { amount: number; currency: string }): Promise<LedgerEntry> {
    const [seen, flat] = (await timed(this.metrics, 'payment_observe', () =>
      OBSERVE_TERMS.run(this.redis, [this.key(orderId)], [terms.amount, terms.currency, this.retentionMs]),
    )) as [number, string[]];
    // The amount stays out of the reason: it reaches the DLQ headers and logs.
    if (seen === -1) throw new ConflictingEventError(`OrderPlaced for ${orderId} has another amount or currency than the first one seen`);
    return entryOf(orderId, hashOf(flat), false);
  }

  async recordCharge(orderId: string, outcome: ChargeOutcome): Promise<LedgerEntry> {
    const [changed, flat] = (await timed(this.metrics, 'payment_record', () =>
      RECORD_CHARGE.run(
        this.redis,
        [this.key(orderId)],
        [outcome.status, outcome.amount, outcome.currency, outcome.paymentId, outcome.reason ?? '', this.retentionMs],
      ),
    )) as [number, string[]];
    return entryOf(orderId, hashOf(flat), changed === 1);
  }

  /** Throws {@link ConflictingEventError} for a confirmed order: its capture stands, nothing is refunded. */
  async markCancelled(orderId: string): Promise<LedgerEntry> {
    const [changed, flat] = (await timed(this.metrics, 'payment_cancel', () =>
      MARK_CANCELLED.run(this.redis, [this.key(orderId)], [this.retentionMs]),
    )) as [number, string[]];
    if (changed === -1) throw new ConflictingEventError(`OrderCancelled for ${orderId}, which is CONFIRMED: refused, nothing refunded`);
    return entryOf(orderId, hashOf(flat), changed === 1);
  }

  /**
   * Records that the order was confirmed, so that a later cancel is refused. Throws {@link ConflictingEventError}
   * for an order this ledger never captured, or cancelled: an `OrderConfirmed` the payment does not bear out.
   * Returns false for a duplicate.
   */
  async markConfirmed(orderId: string): Promise<boolean> {
    const result = await timed(this.metrics, 'payment_confirm', () =>
      MARK_CONFIRMED.run(this.redis, [this.key(orderId)], [this.retentionMs]),
    );
    if (result === -1) throw new ConflictingEventError(`OrderConfirmed for ${orderId}, which this ledger holds no standing capture of`);
    return result === 1;
  }

  async markRefunded(orderId: string, refundId: string): Promise<boolean> {
    return (await MARK_REFUNDED.run(this.redis, [this.key(orderId)], [refundId])) === 1;
  }
}

function hashOf(flat: readonly string[]): Record<string, string> {
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!;
  return h;
}

function entryOf(orderId: string, h: Record<string, string>, changed: boolean): LedgerEntry {
  return {
    orderId,
    cancelled: h['cancelled'] === '1',
    confirmed: h['confirmed'] === '1',
    changed,
    ...(h['status'] ? { status: h['status'] as PaymentStatus } : {}),
    ...(h['amount'] ? { amount: Number(h['amount']) } : {}),
    ...(h['currency'] ? { currency: h['currency'] } : {}),
    ...(h['paymentId'] ? { paymentId: h['paymentId'] } : {}),
    ...(h['reason'] ? { reason: h['reason'] } : {}),
  };
}
