import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { TransientError } from '../messaging/errors';
import { RedisScript } from '../redis/script';

export class ClaimHeldError extends TransientError {
  override readonly name = 'ClaimHeldError';
}

export type ClaimResult = { kind: 'claimed'; token: string } | { kind: 'done' } | { kind: 'held' };

const RELEASE = new RedisScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, ['string']);
const COMPLETE = new RedisScript(
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2]) end return 0`,
  ['string'],
);

/**
 * Claims on work in progress, and done markers, in Redis. A claim is a lease: if its worker dies, it expires and
 * the redelivered message is processed again (effects are idempotent, so a second run after a crash is safe).
 * A done marker outlives the whole retry horizon, so a late duplicate is recognised.
 */
export class ClaimStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly leaseMs: number,
    private readonly retentionMs: number,
  ) {}

  key(scope: string, id: string): string {
    return `${this.prefix}idem:${scope}:${id}`;
  }

  async claim(scope: string, id: string): Promise<ClaimResult> {
    const key = this.key(scope, id);
    const token = randomUUID();
    const ok = await this.redis.set(key, token, 'PX', this.leaseMs, 'NX');
    if (ok === 'OK') return { kind: 'claimed', token };
    return (await this.redis.get(key)) === 'done' ? { kind: 'done' } : { kind: 'held' };
  }

  async complete(scope: string, id: string, token: string): Promise<void> {
    await COMPLETE.run(this.redis, [this.key(scope, id)], [token, this.retentionMs]);
  }

  async release(scope: string, id: string, token: string): Promise<void> {
    await RELEASE.run(this.redis, [this.key(scope, id)], [token]);
  }
}
