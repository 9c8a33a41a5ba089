import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { PermanentError } from '../messaging/errors';
import { awaitReplicaAck, needsReplicaAck } from './replica-ack';

/** A Redis key's type, as `TYPE` answers it. */
export type KeyType = 'string' | 'hash' | 'zset' | 'set' | 'list';

/** A script refused its call before any write: a key of the wrong type, or a stored value it cannot work on. */
export class StatePreconditionError extends PermanentError {
  override readonly name = 'StatePreconditionError';
  override readonly code = 'STATE_PRECONDITION';
}

/** The prefix of a precondition failure's reply; a script's own checks fail with it too (`precondition(...)`). */
const PRECONDITION = 'WARREN_PRECONDITION';

/**
 * Lua run before a script's own source: checks that every key that exists has its declared type, and defines
 * `precondition(ok, what)` for the script's own checks of stored values. Both end the script before its first
 * write, so a failed call leaves nothing half-done (Redis does not roll a script back).
 */
function prelude(keyTypes: readonly KeyType[]): string {
  if (keyTypes.length === 0) return '';
  return `local function precondition(ok, what) if not ok then error({err = '${PRECONDITION} ' .. what}) end end
local key_types = {${keyTypes.map((t) => `'${t}'`).join(', ')}}
for i = 1, #KEYS do
  local want = key_types[math.min(i, #key_types)]
  local have = redis.call('TYPE', KEYS[i]).ok
  precondition(have == 'none' or have == want, 'KEYS[' .. i .. '] is a ' .. have .. ', not a ' .. want)
end
`;
}

/**
 * A Lua script called by its SHA1 (EVALSHA), so its source crosses the wire, and is hashed by Redis, once rather
 * than on every call. A Redis that lost its script cache (a restart, SCRIPT FLUSH) answers NOSCRIPT: the source
 * is then sent with that call, and the cache holds it again.
 *
 * Every script of Warren's is an effect with its done marker, so under Sentinel a run only returns once a replica
 * holds its writes (replica-ack.ts); on a single Redis that costs nothing. A script names every key it touches in
 * KEYS, never building one inside Lua, so it stays correct wherever the keys live.
 */
export class RedisScript {
  readonly sha: string;
  readonly source: string;

  /**
   * @param keyTypes The type each `KEYS[i]` must have if it exists; the last one holds for every key after it.
   *   Checked before the script runs, so a key of another type fails the call with nothing written.
   */
  constructor(source: string, keyTypes: readonly KeyType[] = []) {
    this.source = prelude(keyTypes) + source;
    this.sha = createHash('sha1').update(this.source).digest('hex');
  }

  run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const ran = redis.evalsha(this.sha, keys.length, ...keys, ...args).catch((error: unknown) =>
      // A protocol error code, not a failure class: the only reply that means "send the source".
      error instanceof Error && error.message.startsWith('NOSCRIPT')
        ? redis.eval(this.source, keys.length, ...keys, ...args).catch(refusal)
        : refusal(error),
    );
    // A single Redis has no replica to wait for: no second hop then (the common case, and the benchmarked one).
    return needsReplicaAck(redis) ? ran.then(async (result) => (await awaitReplicaAck(redis), result)) : ran;
  }
}

/** The precondition's own reply prefix is a permanent refusal: retrying cannot change the stored state. */
function refusal(error: unknown): never {
  if (error instanceof Error && error.message.includes(PRECONDITION)) throw new StatePreconditionError(error.message);
  throw error;
}
