import assert from 'node:assert/strict';
import { http } from '../helpers/api';
import { countEffects } from '../helpers/effects';
import { assertInvariants, assertOutcomesAsExpected, awaitFinal } from '../helpers/invariants';
import { OwnRedis } from '../helpers/own-redis';
import { ProcessFleet } from '../helpers/process-fleet';
import { placeOrders } from '../helpers/traffic';
import { sleep } from '../helpers/wait';

describe('chaos: Redis away for a few seconds', function () {
  this.timeout(300_000);
  let redis: OwnRedis;
  let fleet: ProcessFleet;

  before(async () => {
    redis = await OwnRedis.start();
    // A slow gateway keeps payment handlers in flight at every moment, so some are cut off by the outage.
    fleet = await ProcessFleet.start({
      REDIS_URL: redis.url,
      RETRY_DELAYS_MS: '500,1000,2000,4000,8000',
      PAYMENT_GATEWAY_LATENCY_MS: '150',
    });
  });
  after(async () => {
    await fleet?.stop();
    await redis?.destroy();
  });

  it('answers 503 while Redis is away, retries handlers transiently, and loses nothing', async () => {
    const stock = { 'REDIS-IN': 100_000, 'REDIS-OUT': 0 };
    for (const [p, n] of Object.entries(stock)) await http('PUT', `${fleet.urls.ops.inventory}/stock/${p}`, { available: n });
    const traffic = placeOrders(fleet.urls.api, 300, 60, { inStock: 'REDIS-IN', outOfStock: 'REDIS-OUT' });
    await sleep(1500);
    await redis.down();
    const probe = await http('POST', `${fleet.urls.api}/orders`, {
      customerId: 'c',
      items: [{ productId: 'REDIS-IN', quantity: 1 }],
      totalAmount: 1,
      currency: 'USD',
      paymentToken: 'tok_visa',
    });
    await sleep(3000);
    await redis.up();
    await traffic.done;
    assert.equal(probe.status, 503, 'the API refuses new orders while Redis is away');
    assert.match(probe.headers.get('content-type') ?? '', /problem\+json/);
    assert.ok(traffic.unavailable > 0, 'clients saw 503s during the outage');

    const urls = { api: fleet.urls.api, inventory: fleet.urls.ops.inventory, payment: fleet.urls.ops.payment };
    const outcomes = await awaitFinal(fleet.urls.api, traffic.accepted, 120_000);
    await assertInvariants(urls, stock, outcomes);
    const counts = await countEffects(urls, stock, traffic.accepted, outcomes);
    assertOutcomesAsExpected(outcomes, traffic.expected);
    console.log(`      [chaos] redis away 3 s (503s answered: ${traffic.unavailable}): ${JSON.stringify(counts)}`);
    assert.equal(counts.lost, 0);
    assert.equal(counts.duplicated, 0);
    assert.deepEqual(fleet.exits, [], 'no service exited');
    const metrics = await (await fetch(`${fleet.urls.ops.payment}/metrics`)).text();
    assert.match(metrics, /warren_messages_consumed_total\{[^}]*outcome="retry"/, 'handlers failed transiently and were retried');
  });
});
