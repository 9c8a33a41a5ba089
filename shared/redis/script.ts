import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { awaitReplicaAck } from './replica-ack';

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

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const result = await this.call(redis, keys, args);
    await awaitReplicaAck(redis);
    return result;
  }

  private async call(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      // A protocol error code, not a failure class: the only reply that means "send the source".
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
