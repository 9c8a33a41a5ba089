import type { Redis } from 'ioredis';
import type { Metrics } from '../../../shared/observability/metrics';
import { timed } from '../../../shared/redis/client';
import { RedisScript } from '../../../shared/redis/script';
import type { Line, ReservationStatus } from '../domain/stock';

// Each script checks the order's reservation record and changes stock in one atomic step: the record is the
// done marker, so a redelivered event never reserves or releases twice.
const RESERVE = new RedisScript(`
local st = redis.call('HGET', KEYS[1], 'status')
if st then return {st, redis.call('HGET', KEYS[1], 'productId') or '', 0} end
local n = #KEYS - 1
for i = 1, n do
  local avail = tonumber(redis.call('HGET', KEYS[i + 1], 'available') or '0')
  if avail < tonumber(ARGV[2 + i]) then
    redis.call('HSET', KEYS[1], 'status', 'REJECTED', 'productId', ARGV[2 + n + i])
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {'REJECTED', ARGV[2 + n + i], 1}
  end
end
for i = 1, n do
  redis.call('HINCRBY', KEYS[i + 1], 'available', -tonumber(ARGV[2 + i]))
  redis.call('HINCRBY', KEYS[i + 1], 'reserved', tonumber(ARGV[2 + i]))
end
redis.call('HSET', KEYS[1], 'status', 'RESERVED', 'items', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {'RESERVED', '', 1}`);

// ARGV[1] key prefix, ARGV[2] retention, ARGV[3] 'release' or 'commit'.
const SETTLE = new RedisScript(`
local st = redis.call('HGET', KEYS[1], 'status')
if st == 'RESERVED' then
  local items = redis.call('HGET', KEYS[1], 'items')
  for _, it in ipairs(cjson.decode(items)) do
    local k = ARGV[1] .. 'stock:' .. it.productId
    if ARGV[3] == 'release' then redis.call('HINCRBY', k, 'available', it.quantity) end
    redis.call('HINCRBY', k, 'reserved', -it.quantity)
  end
  local next = ARGV[3] == 'release' and 'RELEASED' or 'COMMITTED'
  redis.call('HSET', KEYS[1], 'status', next)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {next, items, 1}
end
if not st and ARGV[3] == 'release' then
  redis.call('HSET', KEYS[1], 'status', 'CANCELLED')
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'CANCELLED', '', 1}
end
return {st or '', redis.call('HGET', KEYS[1], 'items') or '', 0}`);

export interface ReservationResult {
  status: ReservationStatus;
  /** True when this call changed state; false when the record already stood (a duplicate). */
  changed: boolean;
  /** On REJECTED: the first product short of stock. */
  productId?: string;
  items?: Line[];
}

export interface StockLevel {
  productId: string;
  available: number;
  reserved: number;
}

/** Stock and reservations in Redis; every change is one Lua script, so it is atomic with its done marker. */
export class StockStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly retentionMs: number,
    private readonly metrics: Metrics,
  ) {}

  private stockKey = (productId: string) => `${this.prefix}stock:${productId}`;
  private orderKey = (orderId: string) => `${this.prefix}inventory:order:${orderId}`;

  async reserve(orderId: string, lines: readonly Line[]): Promise<ReservationResult> {
    const keys = [this.orderKey(orderId), ...lines.map((l) => this.stockKey(l.productId))];
    const args = [JSON.stringify(lines), this.retentionMs, ...lines.map((l) => l.quantity), ...lines.map((l) => l.productId)];
    const [status, productId, changed] = (await timed(this.metrics, 'inventory_reserve', () => RESERVE.run(this.redis, keys, args))) as [
      ReservationStatus,
      string,
      number,
    ];
    return { status, changed: changed === 1, ...(productId ? { productId } : {}) };
  }

  /** `release` on cancel (stock back to available), `commit` on confirm (the reservation is consumed). */
  async settle(orderId: string, how: 'release' | 'commit'): Promise<ReservationResult | undefined> {
    const [status, items, changed] = (await timed(this.metrics, `inventory_${how}`, () =>
      SETTLE.run(this.redis, [this.orderKey(orderId)], [this.prefix, this.retentionMs, how]),
    )) as [ReservationStatus | '', string, number];
    if (!status) return undefined;
    return { status, changed: changed === 1, ...(items ? { items: JSON.parse(items) as Line[] } : {}) };
  }

  async setAvailable(productId: string, available: number): Promise<StockLevel> {
    await this.redis.hset(this.stockKey(productId), 'available', available);
    return this.get(productId);
  }

  async get(productId: string): Promise<StockLevel> {
    const [available, reserved] = await this.redis.hmget(this.stockKey(productId), 'available', 'reserved');
    return { productId, available: Number(available ?? 0), reserved: Number(reserved ?? 0) };
  }
}
