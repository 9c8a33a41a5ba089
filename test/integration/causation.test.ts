import assert from 'node:assert/strict';
import amqplib from 'amqplib';
import { http, orderRequest } from '../helpers/api';
import { uniqueName } from '../helpers/broker';
import { startTestFleet, type TestFleet } from '../helpers/fleet';
import { assertInvariants, awaitFinal } from '../helpers/invariants';
import { drainQueue } from '../helpers/raw-amqp';

interface Seen {
  eventType: string;
  eventId: string;
  orderId: string;
  correlationId: string;
  causationId?: string;
}

const SPY = 'test.spy';

/**
 * Every event names the event that caused it (`causationId`), so one order's events form a chain from its
 * OrderPlaced through the outcomes and the saga's decision to the compensation. A spy queue bound to every routing
 * key sees them all as they were published.
 */
describe('causationId chained across the saga (real RabbitMQ and Redis)', function () {
  this.timeout(90_000);
  let fleet: TestFleet;
  const inStock = uniqueName('P');
  const outOfStock = uniqueName('P');

  before(async () => {
    fleet = await startTestFleet();
    const connection = await amqplib.connect(fleet.config.amqpUrl);
    const channel = await connection.createChannel();
    await channel.assertQueue(SPY, { durable: true });
    await channel.bindQueue(SPY, fleet.config.eventsExchange, '#');
    await connection.close();
    await http('PUT', `${fleet.urls.ops.inventory}/stock/${inStock}`, { available: 10 });
    await http('PUT', `${fleet.urls.ops.inventory}/stock/${outOfStock}`, { available: 0 });
  });
  after(() => fleet?.stop());

  it('OrderPlaced → Inventory*/Payment* → OrderConfirmed, and OrderPlaced → InventoryRejected → OrderCancelled → PaymentRefunded', async () => {
    const place = async (productId: string) =>
      (await http('POST', `${fleet.urls.api}/orders`, orderRequest({ items: [{ productId, quantity: 1 }] }))).body.orderId as string;
    const confirmed = await place(inStock);
    const cancelled = await place(outOfStock);
    const outcomes = await awaitFinal(fleet.urls.api, [confirmed, cancelled]);
    assert.equal(outcomes.get(confirmed)?.status, 'CONFIRMED');
    assert.equal(outcomes.get(cancelled)?.status, 'CANCELLED');
    const urls = { api: fleet.urls.api, inventory: fleet.urls.ops.inventory, payment: fleet.urls.ops.payment };
    await assertInvariants(urls, { [inStock]: 10, [outOfStock]: 0 }, outcomes);

    const events = (await drainQueue(fleet.config.amqpUrl, SPY)).map((m) => JSON.parse(m.content.toString('utf8')) as Seen);
    const of = (orderId: string) => {
      const own = events.filter((e) => e.orderId === orderId);
      const one = (type: string) => {
        const found = own.filter((e) => e.eventType === type);
        assert.ok(found.length >= 1, `${orderId}: no ${type} among ${own.map((e) => e.eventType).join(', ')}`);
        // A redelivery re-publishes the same event with the same id: copies are one event.
        assert.equal(new Set(found.map((e) => e.eventId)).size, 1, `${orderId}: two different ${type}`);
        return found[0]!;
      };
      for (const e of own) assert.equal(e.correlationId, orderId);
      return { own, one };
    };

    const c = of(confirmed);
    const placed = c.one('OrderPlaced');
    assert.equal(placed.causationId, undefined, 'an order placed over HTTP has no cause');
    assert.equal(c.one('InventoryReserved').causationId, placed.eventId);
    assert.equal(c.one('PaymentCaptured').causationId, placed.eventId);
    // The saga confirms on whichever outcome completes it.
    assert.ok([c.one('InventoryReserved').eventId, c.one('PaymentCaptured').eventId].includes(c.one('OrderConfirmed').causationId!));

    const x = of(cancelled);
    const placed2 = x.one('OrderPlaced');
    const rejected = x.one('InventoryRejected');
    assert.equal(rejected.causationId, placed2.eventId);
    const cancel = x.one('OrderCancelled');
    assert.equal(cancel.causationId, rejected.eventId);
    // Payment charged before the cancellation reached it (the usual order), so it refunds, caused by the cancellation.
    assert.equal(x.one('PaymentCaptured').causationId, placed2.eventId);
    assert.equal(x.one('PaymentRefunded').causationId, cancel.eventId);
    for (const e of [...c.own, ...x.own].filter((e) => e.eventType !== 'OrderPlaced')) {
      assert.ok(
        [...c.own, ...x.own].some((cause) => cause.eventId === e.causationId && cause.orderId === e.orderId),
        `${e.eventType} of ${e.orderId} names a cause that is not one of the order's events`,
      );
    }
  });
});
