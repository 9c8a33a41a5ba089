import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DeferredError } from '../errors/errors';
import { RedisLibrary } from '../redis/script';

/** Another worker holds the event's claim: the delivery waits for the claim to end, unspent (retry-policy.ts). */
export class ClaimHeldError extends DeferredError {
  override readonly name = 'ClaimHeldError';
}

export type ClaimResult = { kind: 'claimed'; token: string } | { kind: 'done' } | { kind: 'held'; remainingMs: number };

/** Claims and done markers, one Redis library (shared/redis/script.ts). */
export const CLAIM_FUNCTIONS = new RedisLibrary('claims');

/** Takes the claim, or says why not in the same round trip: `done`, or the holder's remaining lease in ms. */
const CLAIM = CLAIM_FUNCTIONS.define(
  'claim',
  `if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 'OK' end
local value = redis.call('GET', KEYS[1])
if value == 'done' then return 'done' end
return redis.call('PTTL', KEYS[1])`,
  ['string'],
);
const RELEASE = CLAIM_FUNCTIONS.define(
  'release',
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
  ['string'],
);
const COMPLETE = CLAIM_FUNCTIONS.define(
  'complete',
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2]) end return 0`,
  ['string'],
);
const RENEW = CLAIM_FUNCTIONS.define(
  'renew',
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`,
  ['string'],
);

interface Held {
  scope: string;
  id: string;
  token: string;
  since: number;
}

/**
 * Claims on work in progress, and done markers, in Redis. A claim is a lease of `leaseMs`: while its handler runs,
 * the store renews it, so a short lease never lapses under a live worker, and a dead worker's claim ends within
 * `leaseMs`. A handler that runs past `maxHoldMs` (the handler timeout: it has failed already) is no longer renewed.
 * A done marker outlives the whole retry horizon, so a late duplicate is recognised.
 */
export class ClaimStore {
  private readonly held = new Map<string, Held>();
  private renewTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly leaseMs: number,
    private readonly retentionMs: number,
    private readonly maxHoldMs = Infinity,
  ) {}

  key(scope: string, id: string): string {
    return `${this.prefix}idem:${scope}:${id}`;
  }

  /** How long a delivery may find a claim held before the holder can only be stuck: its longest hold plus a lease. */
  get deferLimitMs(): number {
    return this.maxHoldMs + this.leaseMs;
  }

  async claim(scope: string, id: string): Promise<ClaimResult> {
    const key = this.key(scope, id);
    const token = randomUUID();
    const answer = await CLAIM.run(this.redis, [key], [token, this.leaseMs]);
    if (answer === 'OK') {
      this.hold(key, { scope, id, token, since: Date.now() });
      return { kind: 'claimed', token };
    }
    if (answer === 'done') return { kind: 'done' };
    // PTTL is -1 or -2 for a key that lost its expiry or vanished in between: worth trying again at once.
    return { kind: 'held', remainingMs: Math.max(0, Number(answer)) };
  }

  async complete(scope: string, id: string, token: string): Promise<void> {
    this.held.delete(this.key(scope, id));
    await COMPLETE.run(this.redis, [this.key(scope, id)], [token, this.retentionMs]);
  }

  async release(scope: string, id: string, token: string): Promise<void> {
    this.held.delete(this.key(scope, id));
    await RELEASE.run(this.redis, [this.key(scope, id)], [token]);
  }

  /** Extends a claim this worker holds to a full lease again; false if it is no longer this worker's. */
  async renew(scope: string, id: string, token: string): Promise<boolean> {
    return Number(await RENEW.run(this.redis, [this.key(scope, id)], [token, this.leaseMs])) === 1;
  }

  /** Stops renewing: what stopping the service calls, so no timer outlives it. */
  close(): void {
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    this.held.clear();
  }

  /**
   * One timer for every held claim, a tick each third of a lease: claims held for a third of a lease or more are
   * renewed, so a handler of a few milliseconds (nearly all) never costs a renewal.
   */
  private hold(key: string, claim: Held): void {
    this.held.set(key, claim);
    this.renewTimer ??= setInterval(() => this.renewDue(), Math.max(1, Math.floor(this.leaseMs / 3))).unref();
  }

  private renewDue(): void {
    const now = Date.now();
    if (this.held.size === 0) {
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
      return;
    }
    for (const [key, claim] of this.held) {
      const age = now - claim.since;
      if (age >= this.maxHoldMs) this.held.delete(key);
      else if (age >= this.leaseMs / 3)
        // A failed renewal is not fatal: the lease runs on, and the next tick tries again.
        this.renew(claim.scope, claim.id, claim.token).then(
          (mine) => mine || this.held.delete(key),
          () => undefined,
        );
    }
  }
}
