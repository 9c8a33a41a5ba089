import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { ClaimStore } from '../../shared/idempotency/claims';
import { StatePreconditionError } from '../../shared/redis/script';
import { REDIS_URL, uniqueName } from '../helpers/broker';
import { deleteKeys } from '../helpers/fleet';
import { sleep, waitFor } from '../helpers/wait';

const LEASE_MS = 300;
const MAX_HOLD_MS = 1500;

/**
 * The claim lease on a real Redis: renewed while its worker holds it, so a short lease never lapses under a live
 * worker; ended within a lease when the worker dies; no longer renewed past the handler timeout. A second store
 * plays the other worker that finds the claim.
 */
describe('claim lease on Redis: renewed while held, ended within a lease when its worker dies', function () {
  this.timeout(30_000);
  const prefix = `${uniqueName('lease')}:`;
  const redis = new Redis(REDIS_URL);
  const stores: ClaimStore[] = [];
  const store = () => {
    const s = new ClaimStore(redis, prefix, LEASE_MS, 60_000, MAX_HOLD_MS);
    stores.push(s);
    return s;
  };

  after(async () => {
    for (const s of stores) s.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('a live holder keeps its claim for many leases; the other worker is told how long to wait', async () => {
    const holder = store();
    const other = store();
    const claim = await holder.claim('q', 'live');
    assert.equal(claim.kind, 'claimed');
    await sleep(LEASE_MS * 3);
    const seen = await other.claim('q', 'live');
    assert.equal(seen.kind, 'held', 'the lease lapsed under a live worker');
    assert.ok(seen.kind === 'held' && seen.remainingMs > 0 && seen.remainingMs <= LEASE_MS, JSON.stringify(seen));
    if (claim.kind === 'claimed') await holder.complete('q', 'live', claim.token);
    assert.deepEqual(await other.claim('q', 'live'), { kind: 'done' });
  });

  it("a dead holder's claim ends within one lease, and the other worker takes it", async () => {
    const dead = store();
    assert.equal((await dead.claim('q', 'dead')).kind, 'claimed');
    dead.close(); // what kill -9 does to its renewals
    const started = Date.now();
    const taken = await waitFor(
      'the claim to be free',
      async () => (await store().claim('q', 'dead')).kind === 'claimed' || undefined,
      5000,
      20,
    );
    assert.ok(taken);
    assert.ok(Date.now() - started <= LEASE_MS + 200, `free after ${Date.now() - started} ms, lease ${LEASE_MS} ms`);
  });

  it('a handler past the handler timeout is no longer renewed: its claim lapses', async () => {
    const stuck = store();
    assert.equal((await stuck.claim('q', 'stuck')).kind, 'claimed');
    await sleep(MAX_HOLD_MS + LEASE_MS + 200);
    assert.equal((await store().claim('q', 'stuck')).kind, 'claimed');
  });

  it('renews only its own claim: one taken over by another worker is left alone', async () => {
    const first = store();
    const claim = await first.claim('q', 'mine');
    assert.ok(claim.kind === 'claimed');
    assert.equal(await first.renew('q', 'mine', 'another-token'), false);
    assert.equal(await first.renew('q', 'mine', claim.token), true);
  });

  it('a released claim is free at once for the next delivery; a release under another token leaves it held', async () => {
    const holder = store();
    const other = store();
    const claim = await holder.claim('q', 'released');
    assert.ok(claim.kind === 'claimed');
    await holder.release('q', 'released', 'another-token');
    assert.equal((await other.claim('q', 'released')).kind, 'held', 'only its holder releases a claim');
    await holder.release('q', 'released', claim.token);
    assert.equal((await other.claim('q', 'released')).kind, 'claimed', 'no lease to wait out after a release');
  });

  describe('what renewing costs Redis: one renewal a third of a lease, and only for claims still held and still its own', () => {
    /** A store whose renewals are counted per claim id (the same Redis underneath). */
    const counted = (leaseMs = LEASE_MS) => {
      const renewals = new Map<string, number>();
      const counting = new Proxy(redis, {
        get(target, property) {
          if (property === 'fcall')
            return (name: string, numKeys: number, ...rest: (string | number)[]) => {
              if (name.endsWith('renew')) {
                const id = String(rest[0]).split(':').pop()!;
                renewals.set(id, (renewals.get(id) ?? 0) + 1);
              }
              return target.fcall(name, numKeys, ...rest);
            };
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      const s = new ClaimStore(counting, prefix, leaseMs, 60_000, MAX_HOLD_MS);
      stores.push(s);
      return { s, renewed: (id: string) => renewals.get(id) ?? 0 };
    };

    it('renews a claim held for two leases a few times, not on every millisecond', async () => {
      const { s, renewed } = counted();
      assert.equal((await s.claim('q', 'long')).kind, 'claimed');
      await sleep(LEASE_MS * 2);
      const times = renewed('long');
      s.close();
      assert.ok(times >= 2 && times <= 8, `renewed ${times} times in two leases`);
    });

    it('never renews a claim completed or released, nor one younger than a third of a lease', async () => {
      const lease = 600; // ticks every 200 ms
      const { s, renewed } = counted(lease);
      assert.equal((await s.claim('q', 'keeps-the-timer')).kind, 'claimed');
      for (const id of ['renew-completed', 'renew-released']) {
        const claim = await s.claim('q', id);
        assert.ok(claim.kind === 'claimed');
        await (id === 'renew-completed' ? s.complete('q', id, claim.token) : s.release('q', id, claim.token));
      }
      await waitFor('a first tick', async () => renewed('keeps-the-timer') >= 1 || undefined, 2000, 5);
      await sleep(lease / 6); // half-way to the next tick
      const young = await s.claim('q', 'young');
      assert.ok(young.kind === 'claimed');
      await waitFor('the next tick', async () => renewed('keeps-the-timer') >= 2 || undefined, 2000, 5);
      await s.complete('q', 'young', young.token);
      s.close();
      assert.deepEqual(['renew-completed', 'renew-released', 'young'].map(renewed), [0, 0, 0]);
    });

    it('stops renewing a claim another worker has taken over', async () => {
      const { s, renewed } = counted();
      assert.equal((await s.claim('q', 'taken')).kind, 'claimed');
      await redis.set(s.key('q', 'taken'), 'the-other-worker', 'PX', 10_000); // its lease lapsed and was taken
      await sleep(LEASE_MS * 2);
      const times = renewed('taken');
      s.close();
      assert.equal(times, 1, 'tried once, found it was not its own, and let it go');
      assert.equal(await redis.get(s.key('q', 'taken')), 'the-other-worker');
    });
  });

  it('refuses a claim key holding another type as a permanent StatePreconditionError, and leaves it as it was', async () => {
    const s = store();
    await redis.hset(s.key('q', 'typed'), 'field', 'value');
    const calls = {
      claim: () => s.claim('q', 'typed'),
      complete: () => s.complete('q', 'typed', 'token'),
      release: () => s.release('q', 'typed', 'token'),
      renew: () => s.renew('q', 'typed', 'token'),
    };
    for (const [name, call] of Object.entries(calls)) await assert.rejects(call(), StatePreconditionError, name);
    assert.deepEqual(await redis.hgetall(s.key('q', 'typed')), { field: 'value' });
  });
});
