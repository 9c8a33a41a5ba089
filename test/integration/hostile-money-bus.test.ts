import assert from 'node:assert/strict';
import { http } from '../helpers/api';
import { startTestFleet, type TestFleet } from '../helpers/fleet';
import { drainQueue, publishRaw, queueDepths } from '../helpers/raw-amqp';
import { waitFor } from '../helpers/wait';

/** A current OrderPlaced (v3, no token: the gateway approves), as any publisher on the exchange could send it. */
const placed = (orderId: string, money: { totalAmount: number; currency: string }) => ({
  eventType: 'OrderPlaced',
  version: 3,
  eventId: `forged-${orderId}`,
  correlationId: orderId,
  orderId,
  customerId: 'c-forger',
  items: [{ productId: 'MONEY-BUS', quantity: 1 }],
  ...money,
  timestamp: new Date().toISOString(),
});

describe('hostile money on the bus: payment holds OrderPlaced to the API’s money rule (real broker)', function () {
  this.timeout(120_000);
  let fleet: TestFleet;

  before(async () => {
    fleet = await startTestFleet();
  });
  after(async () => fleet?.stop());

  it('dead-letters a 5e-324 USD or made-up-currency OrderPlaced with its field, and charges nothing', async () => {
    const { amqpUrl, eventsExchange } = fleet.config;
    const cases = [
      { orderId: `bus-denormal-${Date.now()}`, money: { totalAmount: 5e-324, currency: 'USD' }, field: '/totalAmount' },
      { orderId: `bus-currency-${Date.now()}`, money: { totalAmount: 10, currency: 'ABC' }, field: '/currency' },
    ];
    for (const c of cases)
      await publishRaw(amqpUrl, eventsExchange, 'order.placed', JSON.stringify(placed(c.orderId, c.money)), {
        messageId: c.orderId,
        contentType: 'application/json',
      });
    await waitFor(
      'both in the payment DLQ',
      async () => ((await queueDepths(amqpUrl, ['warren.payment.dlq']))['warren.payment.dlq'] ?? 0) >= cases.length || undefined,
    );
    const dead = await drainQueue(amqpUrl, 'warren.payment.dlq');
    for (const c of cases) {
      const letter = dead.find((m) => JSON.parse(m.content.toString()).orderId === c.orderId);
      assert.ok(letter, `${c.orderId} not dead-lettered`);
      assert.equal(letter.properties.headers?.['x-warren-reason-code'], 'SCHEMA_VIOLATION');
      assert.match(String(letter.properties.headers?.['x-warren-reason']), new RegExp(c.field.replace('/', '\\/')));
      assert.equal((await http('GET', `${fleet.urls.ops.payment}/payments/${c.orderId}`)).status, 404, `${c.orderId} was charged`);
    }
  });
});
