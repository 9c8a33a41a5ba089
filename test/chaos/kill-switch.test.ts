import assert from 'node:assert/strict';
import { payment } from '../../workers/payment/service';
import { http, orderRequest } from '../helpers/api';
import { awaitFinal } from '../helpers/invariants';
import { ProcessFleet } from '../helpers/process-fleet';
import { queueDepths } from '../helpers/raw-amqp';
import { sleep } from '../helpers/wait';

const OUTAGE_MS = 120_000;
/** Payment's declared threshold. */
const THRESHOLD = payment.consumes[0].killSwitch.threshold;
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
async function gatewayOutage(): Promise<OutageRun> {
  const fleet = await ProcessFleet.start({
    PAYMENT_GATEWAY_FAILURE_RATE: '1',
    ORDER_TIMEOUT_MS: '900000',
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

describe("chaos: a two-minute payment gateway outage under payment's declared kill switch", function () {
  this.timeout(600_000);
  let fleet: ProcessFleet | undefined;

  after(async () => fleet?.stop());

  it(`pauses payment instead of dead-lettering: at most ${THRESHOLD} charges reach the DLQ, every order confirms without a replay`, async () => {
    // Nothing in the environment: the threshold is payment's declaration (workers/payment/service.ts).
    const run = await gatewayOutage();
    fleet = run.fleet;
    assert.ok(run.sawPause, 'payment paused during the outage');
    const outcomes = await awaitFinal(fleet.urls.api, run.orderIds, 180_000);
    const depth = await dlqDepth(fleet);
    console.log(`      [kill switch] ${run.orderIds.length} orders, ${depth} dead-lettered`);
    assert.ok(depth <= THRESHOLD, `${depth} charges dead-lettered`);
    const notConfirmed = [...outcomes.values()].filter((o) => o.status !== 'CONFIRMED');
    assert.deepEqual(notConfirmed, [], 'every order confirmed once the gateway returned');
    for (const id of run.orderIds.slice(0, 20)) {
      const { body } = await http('GET', `${fleet.urls.ops.payment}/payments/${id}`);
      assert.equal(body.captures, 1, `order ${id} charged once`);
    }
  });
});
