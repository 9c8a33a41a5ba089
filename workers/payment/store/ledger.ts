import type { Redis } from 'ioredis';
import type { Metrics } from '../../../shared/observability/metrics';
import { timed } from '../../../shared/redis/client';
import { RedisScript } from '../../../shared/redis/script';
import type { PaymentState, PaymentStatus } from '../domain/payment';

/** One order's payment state, with what the gateway answered. */
export interface LedgerEntry extends PaymentState {
  orderId: string;
  amount?: number;
  currency?: string;
  paymentId?: string;
  /** True when the call that returned this entry changed it. */
  changed: boolean;
}

// KEYS[1] ledger; ARGV status, amount, currency, paymentId, reason, retention. First answer wins.
// Both scripts answer {changed, the entry after the change}: one round trip where a write and a read were two.
const RECORD_CHARGE = new RedisScript(`
local changed = 0
if not redis.call('HGET', KEYS[1], 'status') then
  redis.call('HSET', KEYS[1], 'status', ARGV[1], 'amount', ARGV[2], 'currency', ARGV[3], 'paymentId', ARGV[4], 'reason', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  changed = 1
end
return {changed, redis.call('HGETALL', KEYS[1])}`);

const MARK_CANCELLED = new RedisScript(`
local changed = 0
if redis.call('HGET', KEYS[1], 'cancelled') ~= '1' then
  redis.call('HSET', KEYS[1], 'cancelled', '1')
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  changed = 1
end
return {changed, redis.call('HGETALL', KEYS[1])}`);

const MARK_REFUNDED = new RedisScript(`
if redis.call('HGET', KEYS[1], 'status') == 'CAPTURED' then
  redis.call('HSET', KEYS[1], 'status', 'REFUNDED', 'refundId', ARGV[1])
  return 1
end
return 0`);

/** The payment service's ledger in Redis: what the gateway answered per order, and whether the order was cancelled. */
export class Ledger {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly retentionMs: number,
    private readonly metrics: Metrics,
  ) {}

  private key = (orderId: string) => `${this.prefix}payment:${orderId}`;

  async get(orderId: string): Promise<LedgerEntry> {
    return entryOf(orderId, await this.redis.hgetall(this.key(orderId)), false);
  }

  async recordCharge(
    orderId: string,
    outcome: { status: 'CAPTURED' | 'DECLINED'; amount: number; currency: string; paymentId: string; reason?: string },
  ): Promise<LedgerEntry> {
    const [changed, flat] = (await timed(this.metrics, 'payment_record', () =>
      RECORD_CHARGE.run(
        this.redis,
        [this.key(orderId)],
        [outcome.status, outcome.amount, outcome.currency, outcome.paymentId, outcome.reason ?? '', this.retentionMs],
      ),
    )) as [number, string[]];
    return entryOf(orderId, hashOf(flat), changed === 1);
  }

  async markCancelled(orderId: string): Promise<LedgerEntry> {
    const [changed, flat] = (await timed(this.metrics, 'payment_cancel', () =>
      MARK_CANCELLED.run(this.redis, [this.key(orderId)], [this.retentionMs]),
    )) as [number, string[]];
    return entryOf(orderId, hashOf(flat), changed === 1);
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
    changed,
    ...(h['status'] ? { status: h['status'] as PaymentStatus } : {}),
    ...(h['amount'] ? { amount: Number(h['amount']) } : {}),
    ...(h['currency'] ? { currency: h['currency'] } : {}),
    ...(h['paymentId'] ? { paymentId: h['paymentId'] } : {}),
    ...(h['reason'] ? { reason: h['reason'] } : {}),
  };
}
