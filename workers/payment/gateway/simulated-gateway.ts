import type { Redis } from 'ioredis';
import { TransientError } from '../../../shared/messaging/errors';
import { RedisScript } from '../../../shared/redis/script';
import type { ChargeRequest, ChargeResult, PaymentGateway, RefundRequest, RefundResult } from '../domain/payment-gateway';

export class GatewayUnavailableError extends TransientError {
  override readonly name = 'GatewayUnavailableError';
}

export interface GatewayOptions {
  prefix: string;
  /** Share (0..1) of calls that fail transiently. */
  failureRate: number;
  latencyMs: number;
  /** Source of randomness, replaceable in tests. */
  random?: () => number;
}

// The provider's own books: one record per idempotency key, and per-order counts of money actually moved.
const CHARGE = new RedisScript(`
local prior = redis.call('GET', KEYS[1])
if prior then return {prior, 1} end
redis.call('SET', KEYS[1], ARGV[1])
if ARGV[2] == 'succeeded' then redis.call('HINCRBY', KEYS[2], 'captures', 1) end
return {ARGV[1], 0}`);

const REFUND = new RedisScript(`
local prior = redis.call('GET', KEYS[1])
if prior then return {prior, 1} end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HINCRBY', KEYS[2], 'refunds', 1)
return {ARGV[1], 0}`);

/**
 * A stand-in payment provider with a provider's semantics: `tok_decline` is declined, `tok_flaky` fails
 * transiently on its first two calls for an order, any other token (or none) is approved; calls fail at
 * `failureRate` and take `latencyMs`. Its records live in Redis so that they outlive a worker crash.
 */
export class SimulatedGateway implements PaymentGateway {
  private readonly random: () => number;

  constructor(
    private readonly redis: Redis,
    private readonly options: GatewayOptions,
  ) {
    this.random = options.random ?? Math.random;
  }

  private key = (...parts: string[]) => `${this.options.prefix}gateway:${parts.join(':')}`;

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    await this.simulateNetwork();
    if (request.token === 'tok_flaky') {
      const calls = await this.redis.incr(this.key('flaky', request.orderId));
      if (calls <= 2) throw new GatewayUnavailableError(`gateway timeout (flaky token, call ${calls})`);
    }
    const status = request.token === 'tok_decline' ? 'declined' : 'succeeded';
    const record = JSON.stringify({ status, chargeId: `ch_${request.idempotencyKey}` });
    const [stored, replayed] = (await CHARGE.run(
      this.redis,
      [this.key('charge', request.idempotencyKey), this.key('order', request.orderId)],
      [record, status],
    )) as [string, number];
    return { ...(JSON.parse(stored) as Omit<ChargeResult, 'replayed'>), replayed: replayed === 1 };
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    await this.simulateNetwork();
    const record = JSON.stringify({ refundId: `re_${request.idempotencyKey}`, chargeId: request.chargeId });
    const [stored, replayed] = (await REFUND.run(
      this.redis,
      [this.key('refund', request.idempotencyKey), this.key('order', request.orderId)],
      [record],
    )) as [string, number];
    return { refundId: (JSON.parse(stored) as { refundId: string }).refundId, replayed: replayed === 1 };
  }

  /** Money the provider actually moved for an order. */
  async totals(orderId: string): Promise<{ captures: number; refunds: number }> {
    const [captures, refunds] = await this.redis.hmget(this.key('order', orderId), 'captures', 'refunds');
    return { captures: Number(captures ?? 0), refunds: Number(refunds ?? 0) };
  }

  private async simulateNetwork(): Promise<void> {
    if (this.options.latencyMs > 0) await new Promise((r) => setTimeout(r, this.options.latencyMs));
    if (this.options.failureRate > 0 && this.random() < this.options.failureRate)
      throw new GatewayUnavailableError('gateway unavailable (simulated)');
  }
}
