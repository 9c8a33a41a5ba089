import assert from 'node:assert/strict';
import { http } from '../helpers/api';
import { useBroker } from '../helpers/broker';
import { countEffects } from '../helpers/effects';
import { assertInvariants, assertOutcomesAsExpected, awaitFinal } from '../helpers/invariants';
import { OwnBroker } from '../helpers/own-broker';
import { ProcessFleet } from '../helpers/process-fleet';
import { placeOrders } from '../helpers/traffic';
import { sleep } from '../helpers/wait';

const PRODUCTS = { inStock: 'RESTART-IN', outOfStock: 'RESTART-OUT' };
const STOCK = { 'RESTART-IN': 100_000, 'RESTART-OUT': 0 };

/**
 * The broker restart that used to be a chaos case, now only against a broker container this run owns: the one
 * the matrix runner named in WARREN_TEST_BROKER_CONTAINER, or one started here. A restart of the shared broker
 * would break every other suite and engineer using it.
 */
describe("broker restart (a RabbitMQ container of the run's own)", function () {
  this.timeout(600_000);
  let broker: OwnBroker;
  let restore: (() => void) | undefined;
  let fleet: ProcessFleet | undefined;

  before(async () => {
    broker = await OwnBroker.acquire();
    // Every vhost and rabbitmqctl call of the fleet helpers goes to that broker until `after`.
    restore = useBroker(broker);
    fleet = await ProcessFleet.start();
    for (const [p, n] of Object.entries(STOCK)) await http('PUT', `${fleet.urls.ops.inventory}/stock/${p}`, { available: n });
  });
  after(async () => {
    await fleet?.stop();
    restore?.();
    await broker?.destroy();
  });

  it('rides out a broker restart (stop_app / start_app) mid-flow: nothing lost, nothing twice, no service exits', async () => {
    const f = fleet!;
    console.log(`      [restart] RabbitMQ ${await broker.version()} in ${broker.container}`);
    const traffic = placeOrders(f.urls.api, 300, 60, PRODUCTS);
    await sleep(1500);
    await broker.restartApp(3000);
    await traffic.done;
    const urls = { api: f.urls.api, inventory: f.urls.ops.inventory, payment: f.urls.ops.payment };
    const outcomes = await awaitFinal(f.urls.api, traffic.accepted, 180_000);
    await assertInvariants(urls, STOCK, outcomes);
    const counts = await countEffects(urls, STOCK, traffic.accepted, outcomes);
    assertOutcomesAsExpected(outcomes, traffic.expected);
    console.log(`      [restart] broker restart (503s answered: ${traffic.unavailable}): ${JSON.stringify(counts)}`);
    assert.equal(counts.lost, 0, 'lost effects');
    assert.equal(counts.duplicated, 0, 'duplicated effects');
    assert.deepEqual(f.exits, [], 'no service exited');
  });
});
