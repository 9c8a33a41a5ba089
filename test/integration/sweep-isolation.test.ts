import assert from 'node:assert/strict';
import { http, orderRequest } from '../helpers/api';
import { startTestFleet, type TestFleet } from '../helpers/fleet';
import { awaitFinal } from '../helpers/invariants';
import { waitFor } from '../helpers/wait';

/**
 * The deadline sweep takes the oldest deadlines first, 200 at a time. Orders it can never time out (here: records
 * that cannot be read, as a bug or a hand edit would leave them) used to stay at the head and fail at every tick,
 * so the orders behind them never timed out. Now they are parked, with their reason, and the sweep goes on.
 */
describe('deadline sweep isolates orders it can never settle (real broker and Redis)', function () {
  this.timeout(120_000);
  let fleet: TestFleet;
  const PRODUCT = 'SWEEP-ISO';
  const BAD = 250;

  before(async () => {
    // No payment service: no order can be confirmed, so every order placed here must end by its deadline.
    fleet = await startTestFleet({ ORDER_TIMEOUT_MS: '1500' }, ['order', 'inventory']);
    await http('PUT', `${fleet.urls.ops.inventory}/stock/${PRODUCT}`, { available: 10 });
  });
  after(async () => fleet?.stop());

  it('parks orders that can never be timed out, and the orders behind them still time out', async () => {
    const prefix = fleet.config.redisKeyPrefix;
    const due = Date.now() - 60_000;
    for (let i = 0; i < BAD; i++) {
      await fleet.redis.hset(`${prefix}order:corrupt-${i}`, 'version', '1', 'data', '{not json');
      await fleet.redis.zadd(`${prefix}order:_deadlines`, due + i, `corrupt-${i}`);
    }
    const placed = await http('POST', `${fleet.urls.api}/orders`, orderRequest({ items: [{ productId: PRODUCT, quantity: 2 }] }));
    assert.equal(placed.status, 202);
    const orderId = placed.body.orderId as string;
    const outcome = (await awaitFinal(fleet.urls.api, [orderId])).get(orderId)!;
    assert.deepEqual([outcome.status, outcome.reason], ['CANCELLED', 'TIMEOUT']);

    const parked = await waitFor('every bad order parked', async () => {
      const all = await fleet.redis.hgetall(`${prefix}order:_parked`);
      return Object.keys(all).length === BAD ? all : undefined;
    });
    assert.match(JSON.parse(parked['corrupt-0']!).reason, /not JSON/);
    assert.equal(await fleet.redis.zcard(`${prefix}order:_deadlines`), 0, 'nothing left on the clock');
    const metrics = String((await http('GET', `${fleet.urls.ops.order}/metrics`)).body);
    assert.match(metrics, new RegExp(`warren_order_sweep_parked_total\\{reason_code="CORRUPT_ORDER"[^}]*\\} ${BAD}\\b`));
    await waitFor('the stock released', async () => {
      const { body } = await http('GET', `${fleet.urls.ops.inventory}/stock/${PRODUCT}`);
      return (body.available === 10 && body.reserved === 0) || undefined;
    });
  });

  it('adopts the deadlines of the older key layout (order:deadlines), so orders placed before an upgrade still time out', async () => {
    const prefix = fleet.config.redisKeyPrefix;
    await fleet.stopService('order');
    // As an older version left it: the index under the name an order id could take.
    const orderId = 'placed-before-upgrade';
    const order = {
      orderId,
      status: 'PENDING',
      customerId: 'c-1',
      items: [{ productId: PRODUCT, quantity: 1 }],
      totalAmount: 10,
      currency: 'USD',
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      inventory: 'PENDING',
      payment: 'PENDING',
      history: [{ eventType: 'OrderPlaced', at: new Date().toISOString() }],
    };
    await fleet.redis.hset(`${prefix}order:${orderId}`, 'version', '1', 'data', JSON.stringify(order));
    await fleet.redis.zadd(`${prefix}order:deadlines`, Date.now() - 1000, orderId);
    await fleet.start('order');
    const outcome = (await awaitFinal(fleet.urls.api, [orderId])).get(orderId)!;
    assert.deepEqual([outcome.status, outcome.reason], ['CANCELLED', 'TIMEOUT']);
    assert.equal(await fleet.redis.exists(`${prefix}order:deadlines`), 0, 'the old index is gone');
  });
});
