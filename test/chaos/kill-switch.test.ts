import assert from 'node:assert/strict';
import { http, orderRequest } from '../helpers/api';
import { awaitFinal } from '../helpers/invariants';
import { ProcessFleet } from '../helpers/process-fleet';
import { queueDepths } from '../helpers/raw-amqp';
import { sleep, waitFor } from '../helpers/wait';

const OUTAGE_MS = 120_000;
const THRESHOLD = 5;
const PAYMENT_DLQ = 'warren.payment.dlq';

interface OutageRun {
  fleet: ProcessFleet;
  orderIds: string[];
  /** Whether payment's kill switch was seen paused during the outage. */
  sawPause: boolean;
}

/**
 * A payment gateway that fails every call for two minutes while orders keep coming (one a second), then comes back
 * (payment restarts with the failure rate at 0, as gateway-outage.test.ts does). The retry horizon of the fleet
 * (0.2 + 0.5 + 1 + 2 s) is far shorter than the outage, so without the kill switch every charge is dead-lettered.
 */
async function gatewayOutage(killSwitchThreshold: number): Promise<OutageRun> {
  const fleet = await ProcessFleet.start({
    PAYMENT_GATEWAY_FAILURE_RATE: '1',
    ORDER_TIMEOUT_MS: '900000',
    KILL_SWITCH_THRESHOLD: String(killSwitchThreshold),
    KILL_SWITCH_WINDOW_MS: '60000',
    KILL_SWITCH_COOLDOWN_MS: '10000',
  });
  await http('PUT', `${fleet.urls.ops.inventory}/stock/KS-IN`, { available: 100_000 });
  const run: OutageRun = { fleet, orderIds: [], sawPause: false };
  const paused = /warren_consumer_paused\{[^}]*queue="warren\.payment"[^}]*\} 1/;
  const until = Date.now() + OUTAGE_MS;
  for (let i = 0; Date.now() < until; i++) {
    const placed = await http(
      'POST',
      `${fleet.urls.api}/orders`,
      orderRequest({ customerId: `ks-${i}`, items: [{ productId: 'KS-IN', quantity: 1 }] }),
    );
    assert.equal(placed.status, 202);
    run.orderIds.push(placed.body.orderId);
    if (!run.sawPause) run.sawPause = paused.test(await (await fetch(`${fleet.urls.ops.payment}/metrics`)).text());
    await sleep(1000);
  }
  // The last charges finish their retries before the gateway returns.
  await sleep(5000);
  await fleet.terminate('payment');
  await fleet.spawn('payment', { PAYMENT_GATEWAY_FAILURE_RATE: '0' });
  return run;
}

const dlqDepth = async (fleet: ProcessFleet) => (await queueDepths(fleet.env['AMQP_URL']!, [PAYMENT_DLQ]))[PAYMENT_DLQ]!;

describe('chaos: a two-minute payment gateway outage, with and without the kill switch', function () {
  this.timeout(600_000);
  const measured: Record<string, number> = {};
  let fleet: ProcessFleet | undefined;

  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
  });
  after(() => console.log(`      [kill switch] payment DLQ after the outage: ${JSON.stringify(measured)}`));

  it(`with the kill switch on (threshold ${THRESHOLD}), at most ${THRESHOLD} charges reach the DLQ and every order confirms without a replay`, async () => {
    const run = await gatewayOutage(THRESHOLD);
    fleet = run.fleet;
    assert.ok(run.sawPause, 'payment paused during the outage');
    const outcomes = await awaitFinal(fleet.urls.api, run.orderIds, 180_000);
    const depth = await dlqDepth(fleet);
    measured['on'] = depth;
    console.log(`      [kill switch] on: ${run.orderIds.length} orders, ${depth} dead-lettered`);
    assert.ok(depth <= THRESHOLD, `${depth} charges dead-lettered`);
    const notConfirmed = [...outcomes.values()].filter((o) => o.status !== 'CONFIRMED');
    assert.deepEqual(notConfirmed, [], 'every order confirmed once the gateway returned');
    for (const id of run.orderIds.slice(0, 20)) {
      const { body } = await http('GET', `${fleet.urls.ops.payment}/payments/${id}`);
      assert.equal(body.captures, 1, `order ${id} charged once`);
    }
  });

  it('without it, the outage dead-letters nearly every charge (the baseline)', async () => {
    const run = await gatewayOutage(0);
    fleet = run.fleet;
    assert.equal(run.sawPause, false);
    const depth = await waitFor('the DLQ to settle', async () => {
      const first = await dlqDepth(run.fleet);
      await sleep(2000);
      return first === (await dlqDepth(run.fleet)) && first;
    });
    measured['off'] = depth;
    console.log(`      [kill switch] off: ${run.orderIds.length} orders, ${depth} dead-lettered`);
    assert.ok(depth >= run.orderIds.length * 0.9, `${depth} of ${run.orderIds.length} charges dead-lettered`);
  });
});
