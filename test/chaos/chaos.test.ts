import assert from 'node:assert/strict';
import type { ServiceName } from '../../workers/registry';
import { http } from '../helpers/api';
import { rabbitmqctl } from '../helpers/broker';
import { countEffects } from '../helpers/effects';
import { assertInvariants, awaitFinal } from '../helpers/invariants';
import { ProcessFleet } from '../helpers/process-fleet';
import { placeOrders } from '../helpers/traffic';
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

  beforeEach(async () => {
    fleet = await ProcessFleet.start();
    for (const [p, n] of Object.entries(STOCK)) await http('PUT', `${fleet.urls.ops.inventory}/stock/${p}`, { available: n });
  });
  afterEach(async () => fleet?.stop());

  async function settleAndCheck(label: string, accepted: string[]): Promise<void> {
    const urls = { api: fleet.urls.api, inventory: fleet.urls.ops.inventory, payment: fleet.urls.ops.payment };
    const outcomes = await awaitFinal(fleet.urls.api, accepted, 120_000);
    await assertInvariants(urls, STOCK, outcomes);
    const counts = await countEffects(urls, STOCK, accepted, outcomes);
    console.log(`      [chaos] ${label}: ${JSON.stringify(counts)}`);
    assert.equal(counts.lost, 0, 'lost effects');
    assert.equal(counts.duplicated, 0, 'duplicated effects');
  }

  for (const victim of ['inventory', 'payment', 'order'] as ServiceName[]) {
    it(`survives kill -9 of ${victim}, three times, while 300 orders flow`, async () => {
      const traffic = placeOrders(fleet.urls.api, 300, 60, PRODUCTS);
      for (let round = 0; round < 3; round++) {
        await sleep(800);
        await fleet.kill(victim);
        await sleep(300);
        await fleet.spawn(victim);
      }
      await traffic.done;
      await settleAndCheck(`kill -9 ${victim} x3`, traffic.accepted);
    });
  }

  it('reconnects on its own after rabbitmqctl close_all_connections mid-flow', async () => {
    const traffic = placeOrders(fleet.urls.api, 300, 60, PRODUCTS);
    await sleep(1500);
    await rabbitmqctl('close_all_connections', '--vhost', fleet.vhost, 'chaos: close_all_connections');
    await sleep(1500);
    await rabbitmqctl('close_all_connections', '--vhost', fleet.vhost, 'chaos: close_all_connections again');
    await traffic.done;
    await settleAndCheck('close_all_connections x2', traffic.accepted);
    assert.deepEqual(fleet.exits, [], 'no service exited');
  });
});
