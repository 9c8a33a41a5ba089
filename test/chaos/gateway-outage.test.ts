import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { payment } from '../../workers/payment/service';
import { http } from '../helpers/api';
import { countEffects } from '../helpers/effects';
import { assertInvariants, assertOutcomesAsExpected, awaitFinal } from '../helpers/invariants';
import { ProcessFleet } from '../helpers/process-fleet';
import { queueDepths } from '../helpers/raw-amqp';
import { placeOrders } from '../helpers/traffic';
import { sleep, waitFor } from '../helpers/wait';

const run = promisify(execFile);
const DLQ_CLI = path.resolve(__dirname, '../../dist/workers/dlq.js');

describe('chaos: a payment gateway outage that outlasts the retries, then recovery and dlq replay', function () {
  this.timeout(300_000);
  let fleet: ProcessFleet;

  before(async () => {
    fleet = await ProcessFleet.start({ PAYMENT_GATEWAY_FAILURE_RATE: '1', RETRY_DELAYS_MS: '100,200,400', ORDER_TIMEOUT_MS: '600000' });
  });
  after(async () => fleet?.stop());

  it('pauses payment during the outage; after recovery and a replay of what was dead-lettered, every order ends right, no one charged twice', async () => {
    const stock = { 'GW-IN': 100_000, 'GW-OUT': 0 };
    for (const [p, n] of Object.entries(stock)) await http('PUT', `${fleet.urls.ops.inventory}/stock/${p}`, { available: n });
    const traffic = placeOrders(fleet.urls.api, 120, 60, { inStock: 'GW-IN', outOfStock: 'GW-OUT' });
    await traffic.done;
    const amqpUrl = fleet.env['AMQP_URL']!;
    // Payment's declared kill switch trips after a few failed charges: the rest wait in its queue, not the DLQ.
    await waitFor(
      'payment to pause',
      async () =>
        /warren_consumer_paused\{[^}]*queue="warren\.payment"[^}]*\} 1/.test(
          await (await fetch(`${fleet.urls.ops.payment}/metrics`)).text(),
        ) || undefined,
      60_000,
      250,
    );
    await sleep(2000); // the charges in flight when it tripped finish their tiers
    const env = { ...process.env, AMQP_URL: amqpUrl };
    const listed = JSON.parse((await run(process.execPath, [DLQ_CLI, 'list', '--json'], { env })).stdout);
    const paymentDlq = listed.dlqs.find((d: { dlq: string }) => d.dlq === 'warren.payment.dlq');
    // Only a charge that ran out of tiers before the switch tripped can be there: at most the threshold's worth.
    assert.ok(paymentDlq.depth <= payment.consumes[0].killSwitch.threshold, `${paymentDlq.depth} charges dead-lettered`);

    // The gateway recovers: payment restarts without failures; then the operator replays whatever was dead-lettered.
    await fleet.terminate('payment');
    await fleet.spawn('payment', { PAYMENT_GATEWAY_FAILURE_RATE: '0' });
    if (paymentDlq.depth > 0) {
      const replay = await run(process.execPath, [DLQ_CLI, 'replay', 'warren.payment.dlq', '--all'], { env });
      assert.match(replay.stdout, /replayed/i);
    }

    const urls = { api: fleet.urls.api, inventory: fleet.urls.ops.inventory, payment: fleet.urls.ops.payment };
    const outcomes = await awaitFinal(fleet.urls.api, traffic.accepted, 120_000);
    await assertInvariants(urls, stock, outcomes);
    const counts = await countEffects(urls, stock, traffic.accepted, outcomes);
    assertOutcomesAsExpected(outcomes, traffic.expected);
    console.log(`      [chaos] gateway outage, ${paymentDlq.depth} dead-lettered, replayed: ${JSON.stringify(counts)}`);
    assert.equal(counts.lost, 0);
    assert.equal(counts.duplicated, 0);
    const depths = await queueDepths(amqpUrl, ['warren.payment.dlq', 'warren.inventory.dlq', 'warren.order.dlq']);
    assert.deepEqual(depths, { 'warren.payment.dlq': 0, 'warren.inventory.dlq': 0, 'warren.order.dlq': 0 });
  });
});
