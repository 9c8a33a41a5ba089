import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { http } from '../helpers/api';
import { startTestFleet, type TestFleet } from '../helpers/fleet';
import { OwnRedis } from '../helpers/own-redis';
import { waitFor } from '../helpers/wait';

/**
 * A Redis that answers but refuses writes (here: `min-replicas-to-write` without a replica, as NOREPLICAS; OOM,
 * READONLY and MISCONF refuse the same way) must make a service unready: its connection alone looks fine.
 */
describe('readiness notices a Redis that stops taking writes (own Redis)', function () {
  this.timeout(60_000);
  let own: OwnRedis;
  let admin: Redis;
  let fleet: TestFleet;

  before(async () => {
    own = await OwnRedis.start();
    admin = new Redis(own.url);
    fleet = await startTestFleet({ REDIS_URL: own.url }, ['inventory']);
  });
  after(async () => {
    await fleet?.stop();
    admin?.disconnect();
    await own?.destroy();
  });

  const readyz = async () => http('GET', `${fleet.urls.ops.inventory}/readyz`);

  it('/readyz turns 503 while Redis refuses writes, and 200 again once it takes them', async () => {
    await waitFor('ready', async () => (await readyz()).status === 200 || undefined);
    await admin.config('SET', 'min-replicas-to-write', '1');
    const refused = await waitFor('not ready', async () => {
      const r = await readyz();
      return r.status === 503 ? r.body : undefined;
    });
    assert.equal(refused.checks.redis, true, 'the connection itself is fine');
    assert.equal(refused.checks.redisWrites, false);
    await admin.config('SET', 'min-replicas-to-write', '0');
    await waitFor('ready again', async () => (await readyz()).status === 200 || undefined);
  });
});
