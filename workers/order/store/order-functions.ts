import { RedisLibrary } from '../../../shared/redis/script';

// The order store's Redis functions (order-store.ts calls them). A library's name is a hash of its source, in the
// order its functions are defined: an edit here is a new library, which the operator loads before the release.

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
export const CREATE_ORDER = ORDER_FUNCTIONS.define(
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
export const UPDATE_ORDER = ORDER_FUNCTIONS.define(
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
export const REMOVE_FROM_OUTBOX = ORDER_FUNCTIONS.define(
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
export const PARK_DEADLINE = ORDER_FUNCTIONS.define(
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
export const ADOPT_LEGACY_DEADLINES = ORDER_FUNCTIONS.define(
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
