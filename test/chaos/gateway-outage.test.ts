import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { http } from '../helpers/api';
import { countEffects } from '../helpers/effects';
import { assertInvariants, assertOutcomesAsExpected, awaitFinal } from '../helpers/invariants';
import { ProcessFleet } from '../helpers/process-fleet';
import { queueDepths } from '../helpers/raw-amqp';
import { placeOrders } from '../helpers/traffic';
import { waitFor } from '../helpers/wait';

const run = promisify(execFile);
const DLQ_CLI = path.resolve(__dirname, '../../dist/workers/dlq.js');

describe('chaos: a payment gateway outage that outlasts the retries, then recovery and dlq replay', function () {
  this.timeout(300_000);
  let fleet: ProcessFleet;

  before(async () => {
    fleet = await ProcessFleet.start({ PAYMENT_GATEWAY_FAILURE_RATE: '1', RETRY_DELAYS_MS: '100,200,400', ORDER_TIMEOUT_MS: '600000' });
  });
  after(async () => fleet?.stop());

  it('dead-letters every charge during the outage, and after replay every order ends right with no one charged twice', async () => {
    const stock = { 'GW-IN': 100_000, 'GW-OUT': 0 };
    for (const [p, n] of Object.entries(stock)) await http('PUT', `${fleet.urls.ops.inventory}/stock/${p}`, { available: n });
    const traffic = placeOrders(fleet.urls.api, 120, 60, { inStock: 'GW-IN', outOfStock: 'GW-OUT' });
    await traffic.done;
    const amqpUrl = fleet.env['AMQP_URL']!;
    // Out-of-stock orders are cancelled at once (their payment, never charged, is tombstoned); every other charge
    // fails through all its attempts and lands in payment's DLQ.
    const cancelledEarly = traffic.accepted.length / 5;
    await waitFor(
      'the outage to fill payment DLQ',
      async () => {
        const depth = (await queueDepths(amqpUrl, ['warren.payment.dlq']))['warren.payment.dlq']!;
        return depth >= traffic.accepted.length - cancelledEarly - 1 || undefined;
      },
      60_000,
      250,
    );
    const env = { ...process.env, AMQP_URL: amqpUrl };
    const listed = JSON.parse((await run(process.execPath, [DLQ_CLI, 'list', '--json'], { env })).stdout);
    const paymentDlq = listed.dlqs.find((d: { dlq: string }) => d.dlq === 'warren.payment.dlq');
    assert.ok(paymentDlq.depth > 0);

    // The gateway recovers: payment restarts without failures; then the operator replays the DLQ.
    await fleet.terminate('payment');
    await fleet.spawn('payment', { PAYMENT_GATEWAY_FAILURE_RATE: '0' });
    const replay = await run(process.execPath, [DLQ_CLI, 'replay', 'warren.payment.dlq', '--all'], { env });
    assert.match(replay.stdout, /replayed/i);

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
