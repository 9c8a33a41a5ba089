import assert from 'node:assert/strict';
import { deadLetterQueueName } from '../../shared/messaging/topology';
import { fleetQueues, type ServiceName } from '../../workers/registry';
import { http } from '../helpers/api';
import { rabbitmqctl } from '../helpers/broker';
import { countEffects } from '../helpers/effects';
import { assertInvariants, assertOutcomesAsExpected, awaitFinal } from '../helpers/invariants';
import { ProcessFleet } from '../helpers/process-fleet';
import { queueDepths } from '../helpers/raw-amqp';
import { placeOrders, type Traffic } from '../helpers/traffic';
import { sleep } from '../helpers/wait';

const PRODUCTS = { inStock: 'CHAOS-IN', outOfStock: 'CHAOS-OUT' };
const STOCK = { 'CHAOS-IN': 100_000, 'CHAOS-OUT': 0 };

/**
 * Each case runs real service processes against the real broker and Redis, breaks something while orders flow,
 * lets the fleet heal on its own, then checks docs/contract.md's invariants and counts lost and duplicated effects.
 * No broker restart here: that runs only against a broker container the run owns (test/docker/broker-restart.test.ts).
 */
describe('chaos (real processes, broker and Redis)', function () {
  this.timeout(300_000);
  let fleet: ProcessFleet;

  const start = async (overrides: Record<string, string> = {}) => {
    fleet = await ProcessFleet.start(overrides);
    for (const [p, n] of Object.entries(STOCK)) await http('PUT', `${fleet.urls.ops.inventory}/stock/${p}`, { available: n });
  };
  afterEach(async () => fleet?.stop());

  /**
   * The invariants, then each order as it asked (no approvable order cancelled, no TIMEOUT), then nothing in any
   * DLQ: a crash or a dropped connection must cost no order, whatever the retry tiers.
   */
  async function settleAndCheck(label: string, traffic: Traffic): Promise<void> {
    const urls = { api: fleet.urls.api, inventory: fleet.urls.ops.inventory, payment: fleet.urls.ops.payment };
    const outcomes = await awaitFinal(fleet.urls.api, traffic.accepted, 120_000);
    await assertInvariants(urls, STOCK, outcomes);
    const counts = await countEffects(urls, STOCK, traffic.accepted, outcomes);
    const dlqs = await queueDepths(fleet.env['AMQP_URL']!, fleetQueues().map(deadLetterQueueName));
    console.log(`      [chaos] ${label}: ${JSON.stringify(counts)}, dead letters ${JSON.stringify(dlqs)}`);
    assert.equal(counts.lost, 0, 'lost effects');
    assert.equal(counts.duplicated, 0, 'duplicated effects');
    assertOutcomesAsExpected(outcomes, traffic.expected);
    assert.deepEqual(
      Object.values(dlqs),
      Object.values(dlqs).map(() => 0),
      `dead letters: ${JSON.stringify(dlqs)}`,
    );
  }

  async function killThreeTimes(victim: ServiceName, label: string): Promise<void> {
    const traffic = placeOrders(fleet.urls.api, 300, 60, PRODUCTS);
    for (let round = 0; round < 3; round++) {
      await sleep(800);
      await fleet.kill(victim);
      await sleep(300);
      await fleet.spawn(victim);
    }
    await traffic.done;
    await settleAndCheck(label, traffic);
  }

  // The claim lease is the default (IDEMPOTENCY_LEASE_MS, 10 s): what a crashed worker leaves behind in production.
  for (const victim of ['inventory', 'payment', 'order'] as ServiceName[]) {
    it(`survives kill -9 of ${victim}, three times, while 300 orders flow`, async () => {
      await start();
      await killThreeTimes(victim, `kill -9 ${victim} x3`);
    });
  }

  // Tiers that add up to far less than the lease: every redelivered copy finds the dead worker's claim for longer
  // than all its attempts would last. Waiting for a claim must spend none of them.
  for (const victim of ['payment', 'inventory'] as ServiceName[]) {
    it(`kill -9 of ${victim} with retry tiers far shorter than the claim lease: every approvable order CONFIRMED`, async () => {
      await start({ RETRY_DELAYS_MS: '200,400,800' });
      await killThreeTimes(victim, `kill -9 ${victim} x3, tiers 200,400,800`);
    });
  }

  it('kill -9 of payment with the default retry tiers: every approvable order CONFIRMED', async () => {
    await start({ RETRY_DELAYS_MS: '1000,5000,30000' });
    await killThreeTimes('payment', 'kill -9 payment x3, default tiers');
  });

  it('reconnects on its own after rabbitmqctl close_all_connections mid-flow', async () => {
    await start();
    const traffic = placeOrders(fleet.urls.api, 300, 60, PRODUCTS);
    await sleep(1500);
    await rabbitmqctl('close_all_connections', '--vhost', fleet.vhost, 'chaos: close_all_connections');
    await sleep(1500);
    await rabbitmqctl('close_all_connections', '--vhost', fleet.vhost, 'chaos: close_all_connections again');
    await traffic.done;
    await settleAndCheck('close_all_connections x2', traffic);
    assert.deepEqual(fleet.exits, [], 'no service exited');
  });
});
