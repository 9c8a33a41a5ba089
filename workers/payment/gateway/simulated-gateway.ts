import type { Redis } from 'ioredis';
import { hashedKey, idKey } from '../../../shared/redis/key-layout';
import { RedisLibrary } from '../../../shared/redis/script';
import type { ChargeRequest, ChargeResult, RefundRequest, RefundResult } from '../domain/payment-gateway';
import {
  chargeIdOf,
  chargeStatusOf,
  failFlakyCall,
  FLAKY_TOKEN,
  refundIdOf,
  simulateNetwork,
  type CountingGateway,
  type GatewayTotals,
  type SimulationOptions,
} from './simulated-provider';

export interface GatewayOptions extends SimulationOptions {
  prefix: string;
  /**
   * How long the provider's records (answers by idempotency key, per-order totals) are kept: at least as long as
   * the ledger's, so a retry within it still replays the first answer.
   * @defaultValue 7 days
   */
  retentionMs?: number;
}

const DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000;

/** The simulated provider's books, one Redis library (shared/redis/script.ts). */
export const GATEWAY_FUNCTIONS = new RedisLibrary('gateway');

// The provider's own books: one record per idempotency key, and per-order counts of money actually moved, each
// kept for the retention (ARGV[3] ms; the totals' clock restarts with every movement).
const CHARGE = GATEWAY_FUNCTIONS.define(
  'charge',
  `
local prior = redis.call('GET', KEYS[1])
if prior then return {prior, 1} end
precondition(tonumber(redis.call('HGET', KEYS[2], 'captures') or '0') ~= nil, 'captures is not a number')
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
if ARGV[2] == 'succeeded' then redis.call('HINCRBY', KEYS[2], 'captures', 1) end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {ARGV[1], 0}`,
  ['string', 'hash'],
);

const REFUND = GATEWAY_FUNCTIONS.define(
  'refund',
  `
local prior = redis.call('GET', KEYS[1])
if prior then return {prior, 1} end
precondition(tonumber(redis.call('HGET', KEYS[2], 'refunds') or '0') ~= nil, 'refunds is not a number')
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HINCRBY', KEYS[2], 'refunds', 1)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return {ARGV[1], 0}`,
  ['string', 'hash'],
);

// KEYS[1] the flaky token's call count for one order; ARGV[1] retention. Answers the count after this call.
const COUNT_CALL = GATEWAY_FUNCTIONS.define(
  'countcall',
  `
local calls = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return calls`,
  ['string'],
);

/**
 * A stand-in payment provider with a provider's semantics (simulated-provider.ts): `tok_decline` is declined,
 * `tok_flaky` fails transiently on its first two calls for an order, any other token (or none) is approved; calls
 * fail at `failureRate` and take `latencyMs`. Its records live in Redis so that they outlive a worker crash.
 */
export class SimulatedGateway implements CountingGateway {
  private readonly retentionMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly options: GatewayOptions,
  ) {
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  }

  // Per-order records by the order's id; records by idempotency key (any string a client chose) hashed.
  private readonly keys = {
    order: (orderId: string) => idKey(this.options.prefix, 'gateway:order', orderId),
    flaky: (orderId: string) => idKey(this.options.prefix, 'gateway:flaky', orderId),
    charge: (idempotencyKey: string) => hashedKey(this.options.prefix, 'gateway:charge', idempotencyKey),
    refund: (idempotencyKey: string) => hashedKey(this.options.prefix, 'gateway:refund', idempotencyKey),
  };

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    await simulateNetwork(this.options);
    if (request.token === FLAKY_TOKEN)
      failFlakyCall((await COUNT_CALL.run(this.redis, [this.keys.flaky(request.orderId)], [this.retentionMs])) as number);
    const status = chargeStatusOf(request.token);
    const record = JSON.stringify({ status, chargeId: chargeIdOf(request.idempotencyKey) });
    const [stored, replayed] = (await CHARGE.run(
      this.redis,
      [this.keys.charge(request.idempotencyKey), this.keys.order(request.orderId)],
      [record, status, this.retentionMs],
    )) as [string, number];
    return { ...(JSON.parse(stored) as Omit<ChargeResult, 'replayed'>), replayed: replayed === 1 };
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    await simulateNetwork(this.options);
    const record = JSON.stringify({ refundId: refundIdOf(request.idempotencyKey), chargeId: request.chargeId });
    const [stored, replayed] = (await REFUND.run(
      this.redis,
      [this.keys.refund(request.idempotencyKey), this.keys.order(request.orderId)],
      [record, this.retentionMs],
    )) as [string, number];
    return { refundId: (JSON.parse(stored) as { refundId: string }).refundId, replayed: replayed === 1 };
  }

  /** Money the provider actually moved for an order. */
  async totals(orderId: string): Promise<GatewayTotals> {
    const [captures, refunds] = await this.redis.hmget(this.keys.order(orderId), 'captures', 'refunds');
    return { captures: Number(captures ?? 0), refunds: Number(refunds ?? 0) };
  }
}
