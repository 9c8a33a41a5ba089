import assert from 'node:assert/strict';
import type { AnyEvent } from '../../shared/events/catalog';
import { PublishError } from '../../shared/errors/errors';
import type { Publisher } from '../../shared/messaging/publisher';
import { http, orderRequest } from '../helpers/api';
import { uniqueName } from '../helpers/broker';
import { startTestFleet, type TestFleet } from '../helpers/fleet';
import { awaitFinal } from '../helpers/invariants';
import { sleep } from '../helpers/wait';

/**
 * The order API answers 202 once the order and its OrderPlaced are stored together (the outbox); the publish that
 * follows may fail. Then only the relay gets the event out: here the order service's publisher refuses every
 * OrderPlaced for a while, as a broker that times out would, and the order must still end CONFIRMED.
 */
describe('outbox relay (real RabbitMQ and Redis)', function () {
  this.timeout(90_000);
  let fleet: TestFleet;
  const product = uniqueName('P');

  before(async () => {
    fleet = await startTestFleet({ PUBLISH_TIMEOUT_MS: '1000' });
    await http('PUT', `${fleet.urls.ops.inventory}/stock/${product}`, { available: 5 });
  });
  after(() => fleet?.stop());

  it('publishes an OrderPlaced whose fast-path publish failed, once publishing works again; the relay metric moves', async () => {
    const publisher = fleet.runtimes.order!.publisher as Publisher & { publishEvent: Publisher['publishEvent'] };
    const original = publisher.publishEvent.bind(publisher);
    let failing = true;
    let refused = 0;
    publisher.publishEvent = async (event: AnyEvent, headers?: Record<string, unknown>) => {
      if (failing && event.eventType === 'OrderPlaced') {
        refused++;
        throw new PublishError('publish to warren.events/order.placed timeout: injected', 'timeout');
      }
      return original(event, headers);
    };
    try {
      const placed = await http('POST', `${fleet.urls.api}/orders`, orderRequest({ items: [{ productId: product, quantity: 1 }] }));
      assert.equal(placed.status, 202);
      const orderId = placed.body.orderId as string;
      // Past the relay's grace (PUBLISH_TIMEOUT_MS + 1 s): the relay has tried too, and failed.
      await sleep(2500);
      assert.ok(refused >= 2, `the fast path and the relay should both have been refused (${refused})`);
      assert.equal((await http('GET', `${fleet.urls.api}/orders/${orderId}`)).body.status, 'PENDING');
      assert.match(await metrics(fleet), /^warren_outbox_depth\{[^}]*\} 1$/m);
      assert.match(await metrics(fleet), /^warren_outbox_relayed_total\{[^}]*\} 0$/m);

      failing = false;
      const outcomes = await awaitFinal(fleet.urls.api, [orderId], 20_000);
      assert.equal(outcomes.get(orderId)?.status, 'CONFIRMED');
      assert.match(await metrics(fleet), /^warren_outbox_relayed_total\{[^}]*\} 1$/m);
      assert.match(await metrics(fleet), /^warren_outbox_depth\{[^}]*\} 0$/m);
    } finally {
      publisher.publishEvent = original;
    }
  });
});

async function metrics(fleet: TestFleet): Promise<string> {
  return (await http('GET', `${fleet.urls.ops.order}/metrics`)).body as string;
}
