import type { Redis } from 'ioredis';
import type { Metrics } from '../../../shared/observability/metrics';
import { timed } from '../../../shared/redis/client';
import { ConflictingEventError, TransientError } from '../../../shared/errors/errors';
import { idKey } from '../../../shared/redis/key-layout';
import { awaitReplicaAck } from '../../../shared/redis/replica-ack';
import { RedisLibrary } from '../../../shared/redis/script';
import type { Line, ReservationStatus } from '../domain/stock';
import type { InventoryStore, ReservationResult, StockLevel } from './inventory-store';

// Stock counts are integers or absent: checked on every stock key before a script's first write, so a value set
// by hand cannot fail a script half-way through its lines.
const STOCK_COUNTS_CHECK = `
local function is_count(v) local n = tonumber(v) return v == false or (n ~= nil and math.floor(n) == n) end
for i = 2, #KEYS do
  local available, reserved = unpack(redis.call('HMGET', KEYS[i], 'available', 'reserved'))
  precondition(is_count(available) and is_count(reserved), 'KEYS[' .. i .. '] holds a stock count that is not an integer')
end
`;

/** Stock and reservations, one Redis library (shared/redis/script.ts). */
export const STOCK_FUNCTIONS = new RedisLibrary('inventory');

// Each script checks the order's reservation record and changes stock in one atomic step: the record is the
// done marker, so a redelivered event never reserves or releases twice. The record keeps the lines it was made
// for (ARGV[1]), on a rejection too: an OrderPlaced for the same order with other lines answers CONFLICT.
const RESERVE = STOCK_FUNCTIONS.define(
  'reserve',
  `
local st = redis.call('HGET', KEYS[1], 'status')
if st then
  local seen = redis.call('HGET', KEYS[1], 'items')
  if seen and seen ~= ARGV[1] then return {'CONFLICT', '', 0} end
  return {st, redis.call('HGET', KEYS[1], 'productId') or '', 0}
end
${STOCK_COUNTS_CHECK}
local n = #KEYS - 1
for i = 1, n do
  local avail = tonumber(redis.call('HGET', KEYS[i + 1], 'available') or '0')
  if avail < tonumber(ARGV[2 + i]) then
    redis.call('HSET', KEYS[1], 'status', 'REJECTED', 'productId', ARGV[2 + n + i], 'items', ARGV[1])
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
return {'RESERVED', '', 1}`,
  ['hash'],
);

// KEYS[1] the reservation, KEYS[2..] the stock of each of its lines, in order; ARGV[1] retention, ARGV[2] 'release'
// or 'commit', ARGV[3] the lines the caller read (the keys were built from them). A reservation's lines never change
// once written, so a mismatch only means it appeared after the read: the caller reads again.
const SETTLE = STOCK_FUNCTIONS.define(
  'settle',
  `
${STOCK_COUNTS_CHECK}
local st = redis.call('HGET', KEYS[1], 'status')
if st == 'RESERVED' then
  local items = redis.call('HGET', KEYS[1], 'items')
  if items ~= ARGV[3] then return {'STALE', items, 0} end
  for i, it in ipairs(cjson.decode(items)) do
    if ARGV[2] == 'release' then redis.call('HINCRBY', KEYS[i + 1], 'available', it.quantity) end
    redis.call('HINCRBY', KEYS[i + 1], 'reserved', -it.quantity)
  end
  local next = ARGV[2] == 'release' and 'RELEASED' or 'COMMITTED'
  redis.call('HSET', KEYS[1], 'status', next)
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  return {next, items, 1}
end
if not st and ARGV[2] == 'release' then
  redis.call('HSET', KEYS[1], 'status', 'CANCELLED')
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  return {'CANCELLED', '', 1}
end
return {st or '', redis.call('HGET', KEYS[1], 'items') or '', 0}`,
  ['hash'],
);

/** Stock and reservations in Redis; every change is one Lua script, so it is atomic with its done marker. */
export class StockStore implements InventoryStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly retentionMs: number,
    private readonly metrics: Metrics,
  ) {}

  private stockKey = (productId: string) => idKey(this.prefix, 'stock', productId);
  private orderKey = (orderId: string) => idKey(this.prefix, 'inventory:order', orderId);

  /** Throws {@link ConflictingEventError} when the order's reservation record was made for other lines. */
  async reserve(orderId: string, lines: readonly Line[]): Promise<ReservationResult> {
    const keys = [this.orderKey(orderId), ...lines.map((l) => this.stockKey(l.productId))];
    const args = [JSON.stringify(lines), this.retentionMs, ...lines.map((l) => l.quantity), ...lines.map((l) => l.productId)];
    const [status, productId, changed] = (await timed(this.metrics, 'inventory_reserve', () => RESERVE.run(this.redis, keys, args))) as [
      ReservationStatus | 'CONFLICT',
      string,
      number,
    ];
    if (status === 'CONFLICT') throw new ConflictingEventError(`OrderPlaced for ${orderId} has other lines than the first one seen`);
    return { status, changed: changed === 1, ...(productId ? { productId } : {}) };
  }

  /** `release` on cancel (stock back to available), `commit` on confirm (the reservation is consumed). */
  async settle(orderId: string, how: 'release' | 'commit'): Promise<ReservationResult | undefined> {
    const orderKey = this.orderKey(orderId);
    // The stock keys go in KEYS (a script never builds a key), so the lines are read first; see SETTLE.
    let items = (await this.redis.hget(orderKey, 'items')) ?? '';
    // Lines never change once written: a second read always matches, so two tries are enough.
    for (let attempt = 0; attempt < 2; attempt++) {
      const stockKeys = items ? (JSON.parse(items) as Line[]).map((l) => this.stockKey(l.productId)) : [];
      const [status, stored, changed] = (await timed(this.metrics, `inventory_${how}`, () =>
        SETTLE.run(this.redis, [orderKey, ...stockKeys], [this.retentionMs, how, items]),
      )) as [ReservationStatus | '' | 'STALE', string, number];
      if (status === 'STALE') {
        items = stored;
        continue;
      }
      if (!status) return undefined;
      return { status, changed: changed === 1, ...(stored ? { items: JSON.parse(stored) as Line[] } : {}) };
    }
    throw new TransientError(`reservation of ${orderId} changed under settle twice`);
  }

  async setAvailable(productId: string, available: number): Promise<StockLevel> {
    await this.redis.hset(this.stockKey(productId), 'available', available);
    await awaitReplicaAck(this.redis);
    return this.get(productId);
  }

  async get(productId: string): Promise<StockLevel> {
    const [available, reserved] = await this.redis.hmget(this.stockKey(productId), 'available', 'reserved');
    return { productId, available: Number(available ?? 0), reserved: Number(reserved ?? 0) };
  }
}
