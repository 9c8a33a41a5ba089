import assert from 'node:assert/strict';
import { http, orderRequest } from '../helpers/api';
import { startTestFleet, type TestFleet } from '../helpers/fleet';
import { assertInvariants, awaitFinal } from '../helpers/invariants';
import { publishRaw } from '../helpers/raw-amqp';
import { waitFor } from '../helpers/wait';

describe('order flow end to end (real RabbitMQ and Redis)', function () {
  this.timeout(180_000);
  let fleet: TestFleet;
  let urls: { api: string; inventory: string; payment: string };

  before(async () => {
    fleet = await startTestFleet();
    urls = { api: fleet.urls.api, inventory: fleet.urls.ops.inventory, payment: fleet.urls.ops.payment };
  });
  after(async () => fleet?.stop());

  const setStock = (productId: string, available: number) => http('PUT', `${urls.inventory}/stock/${productId}`, { available });

  it('takes 200 concurrent orders — in stock, out of stock, declined, flaky — to the right end, keeping every invariant', async () => {
    const stock = { 'FLOW-IN': 1000, 'FLOW-OUT': 0, 'FLOW-SCARCE': 5 };
    for (const [p, n] of Object.entries(stock)) assert.equal((await setStock(p, n)).status, 200);

    type Plan = { expect: 'CONFIRMED' | 'CANCELLED'; reason?: string; body: ReturnType<typeof orderRequest> };
    const plans: Plan[] = Array.from({ length: 200 }, (_, i) => {
      const qty = 1 + (i % 3);
      if (i % 3 === 0)
        return {
          expect: 'CANCELLED',
          reason: 'OUT_OF_STOCK',
          body: orderRequest({
            items: [
              { productId: 'FLOW-IN', quantity: 1 },
              { productId: 'FLOW-OUT', quantity: 1 },
            ],
          }),
        };
      if (i % 10 === 1)
        return {
          expect: 'CANCELLED',
          reason: 'PAYMENT_DECLINED',
          body: orderRequest({ items: [{ productId: 'FLOW-IN', quantity: qty }], paymentToken: 'tok_decline' }),
        };
      if (i % 25 === 2)
        return { expect: 'CONFIRMED', body: orderRequest({ items: [{ productId: 'FLOW-IN', quantity: qty }], paymentToken: 'tok_flaky' }) };
      return {
        expect: 'CONFIRMED',
        body: orderRequest({ customerId: `c-${i}`, items: [{ productId: 'FLOW-IN', quantity: qty }], totalAmount: 10 + i }),
      };
    });
    const responses = await Promise.all(plans.map((p) => http('POST', `${urls.api}/orders`, p.body)));
    for (const r of responses) {
      assert.equal(r.status, 202, JSON.stringify(r.body));
      assert.equal(r.body.status, 'PENDING');
      assert.equal(r.headers.get('location'), `/orders/${r.body.orderId}`);
    }
    const ids = responses.map((r) => r.body.orderId as string);
    const outcomes = await awaitFinal(urls.api, ids);
    plans.forEach((plan, i) => {
      const outcome = outcomes.get(ids[i]!)!;
      assert.equal(outcome.status, plan.expect, `order ${i} (${ids[i]})`);
      if (plan.reason) assert.equal(outcome.reason, plan.reason, `order ${i}`);
    });
    await assertInvariants(urls, stock, outcomes);
    const outOfStock = (await http('GET', `${urls.inventory}/stock/FLOW-OUT`)).body;
    assert.deepEqual(outOfStock, { productId: 'FLOW-OUT', available: 0, reserved: 0 });
  });

  it('runs the contention case: more orders than stock, exactly the stock is sold', async () => {
    await setStock('FLOW-SCARCE', 5);
    const responses = await Promise.all(
      Array.from({ length: 12 }, () =>
        http('POST', `${urls.api}/orders`, orderRequest({ items: [{ productId: 'FLOW-SCARCE', quantity: 1 }] })),
      ),
    );
    const outcomes = await awaitFinal(
      urls.api,
      responses.map((r) => r.body.orderId),
    );
    const confirmed = [...outcomes.values()].filter((o) => o.status === 'CONFIRMED').length;
    assert.equal(confirmed, 5);
    await assertInvariants(urls, { 'FLOW-SCARCE': 5 }, outcomes);
  });

  it('confirms a tok_flaky order after two payment retries, while inventory sees its OrderPlaced once', async () => {
    await setStock('FLOW-FLAKY', 5);
    const count = async (ops: string, pattern: RegExp) => Number(pattern.exec(await (await fetch(`${ops}/metrics`)).text())?.[1] ?? 0);
    const inventoryOrderPlaced =
      /warren_messages_consumed_total\{queue="warren\.inventory",event_type="OrderPlaced",outcome="ack"[^}]*\} (\d+)/;
    const paymentRetries = /warren_messages_consumed_total\{queue="warren\.payment",event_type="OrderPlaced",outcome="retry"[^}]*\} (\d+)/;
    const before = {
      inventory: await count(fleet.urls.ops.inventory, inventoryOrderPlaced),
      retries: await count(fleet.urls.ops.payment, paymentRetries),
    };
    const placed = await http(
      'POST',
      `${urls.api}/orders`,
      orderRequest({ items: [{ productId: 'FLOW-FLAKY', quantity: 1 }], paymentToken: 'tok_flaky' }),
    );
    const outcomes = await awaitFinal(urls.api, [placed.body.orderId]);
    assert.equal(outcomes.get(placed.body.orderId)!.status, 'CONFIRMED');
    assert.equal(
      await count(fleet.urls.ops.payment, paymentRetries),
      before.retries + 2,
      'two transient gateway failures, two delayed retries',
    );
    assert.equal(await count(fleet.urls.ops.inventory, inventoryOrderPlaced), before.inventory + 1, 'inventory saw the OrderPlaced once');
    assert.equal((await http('GET', `${urls.payment}/payments/${placed.body.orderId}`)).body.captures, 1);
  });

  it('shows an order with its history', async () => {
    await setStock('FLOW-HIST', 3);
    const placed = await http(
      'POST',
      `${urls.api}/orders`,
      orderRequest({ items: [{ productId: 'FLOW-HIST', quantity: 2 }], totalAmount: 42.5, currency: 'EUR' }),
    );
    const [order] = (await awaitFinal(urls.api, [placed.body.orderId])).values();
    const { status, body } = await http('GET', `${urls.api}/orders/${placed.body.orderId}`);
    assert.equal(status, 200);
    assert.equal(order!.status, 'CONFIRMED');
    assert.equal(body.totalAmount, 42.5);
    assert.equal(body.currency, 'EUR');
    assert.deepEqual(body.items, [{ productId: 'FLOW-HIST', quantity: 2 }]);
    assert.ok(body.createdAt && body.updatedAt);
    assert.deepEqual(
      new Set(body.history.map((h: { eventType: string }) => h.eventType)),
      new Set(['OrderPlaced', 'InventoryReserved', 'PaymentCaptured']),
    );
  });

  it('accepts a seed-shaped OrderPlaced published straight to the exchange, and a second copy has no second effect', async () => {
    await setStock('P001', 10);
    await setStock('P002', 10);
    const orderId = `seed-${Date.now()}`;
    const seed = JSON.stringify({
      eventType: 'OrderPlaced',
      orderId,
      items: [
        { productId: 'P001', quantity: 2 },
        { productId: 'P002', quantity: 1 },
      ],
      totalAmount: 150.0,
      timestamp: new Date().toISOString(),
    });
    await publishRaw(fleet.config.amqpUrl, fleet.config.eventsExchange, 'order.placed', seed);
    await publishRaw(fleet.config.amqpUrl, fleet.config.eventsExchange, 'order.placed', seed);
    const outcomes = await awaitFinal(urls.api, [orderId]);
    assert.equal(outcomes.get(orderId)!.status, 'CONFIRMED');
    await assertInvariants(urls, { P001: 10, P002: 10 }, outcomes);
    const payment = (await http('GET', `${urls.payment}/payments/${orderId}`)).body;
    assert.equal(payment.captures, 1);
    const metrics = await (await fetch(`${urls.inventory}/metrics`)).text();
    assert.match(metrics, /warren_messages_consumed_total\{[^}]*event_type="OrderPlaced"[^}]*outcome="duplicate"[^}]*\} [1-9]/);
  });

  describe('bad input at the API', () => {
    const post = (body: unknown, headers: Record<string, string> = {}) => http('POST', `${urls.api}/orders`, body, headers);
    const cases: [string, unknown, string][] = [
      ['a missing field', { ...orderRequest(), customerId: undefined }, '/customerId'],
      ['a wrong type', { ...orderRequest(), totalAmount: '150' }, '/totalAmount'],
      ['a bad quantity', orderRequest({ items: [{ productId: 'P001', quantity: 0 }] }), '/items/0/quantity'],
      ['no items', orderRequest({ items: [] }), '/items'],
      ['a card number as token', orderRequest({ paymentToken: '4111111111111111' }), '/paymentToken'],
      ['a bad currency', orderRequest({ currency: 'dollars' }), '/currency'],
      ['an unknown field', { ...orderRequest(), coupon: 'FREE' }, '/coupon'],
    ];
    for (const [what, body, field] of cases) {
      it(`answers 400 problem+json naming the field for ${what}`, async () => {
        const r = await post(body);
        assert.equal(r.status, 400);
        assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
        assert.equal(r.body.field, field);
        assert.equal(r.body.status, 400);
        assert.ok(r.body.detail.includes(field), r.body.detail);
      });
    }

    it('answers 400 for invalid JSON, 415 for a non-JSON content type, 413 for a body over 64 KiB', async () => {
      const invalid = await post('{"customerId": ');
      assert.equal(invalid.status, 400);
      assert.match(invalid.headers.get('content-type') ?? '', /problem\+json/);
      const wrongType = await fetch(`${urls.api}/orders`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
      assert.equal(wrongType.status, 415);
      assert.match(wrongType.headers.get('content-type') ?? '', /problem\+json/);
      const huge = await post({ ...orderRequest(), customerId: 'x'.repeat(70 * 1024) });
      assert.equal(huge.status, 413);
      assert.match(huge.headers.get('content-type') ?? '', /problem\+json/);
    });

    it('answers 404 problem+json for an unknown order, and stays ready after all of it', async () => {
      const r = await http('GET', `${urls.api}/orders/does-not-exist`);
      assert.equal(r.status, 404);
      assert.match(r.headers.get('content-type') ?? '', /problem\+json/);
      for (const ops of Object.values(fleet.urls.ops)) assert.equal((await http('GET', `${ops}/readyz`)).status, 200);
    });
  });

  describe('Idempotency-Key', () => {
    it('returns the same order for the same key and body, and 409 for the same key with another body', async () => {
      const key = `idem-${Date.now()}`;
      const body = orderRequest({ items: [{ productId: 'FLOW-IN', quantity: 1 }] });
      const first = await http('POST', `${urls.api}/orders`, body, { 'idempotency-key': key });
      const again = await http('POST', `${urls.api}/orders`, body, { 'idempotency-key': key });
      assert.equal(first.status, 202);
      assert.equal(again.status, 202);
      assert.equal(again.body.orderId, first.body.orderId);
      assert.equal(again.headers.get('location'), `/orders/${first.body.orderId}`);
      const conflict = await http('POST', `${urls.api}/orders`, { ...body, totalAmount: 999 }, { 'idempotency-key': key });
      assert.equal(conflict.status, 409);
      assert.match(conflict.headers.get('content-type') ?? '', /problem\+json/);
      await awaitFinal(urls.api, [first.body.orderId]);
    });
  });

  it('exposes health, readiness and metrics on every ops port', async () => {
    for (const ops of Object.values(fleet.urls.ops)) {
      assert.equal((await http('GET', `${ops}/healthz`)).status, 200);
      const ready = await http('GET', `${ops}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(ready.body.status, 'ready');
      const metrics = await (await fetch(`${ops}/metrics`)).text();
      assert.match(metrics, /warren_messages_consumed_total/);
      assert.match(metrics, /warren_nodejs_eventloop_lag_seconds/);
    }
    // Each poll scrapes again: the counter may still be on its way when the first scrape is taken.
    const confirmedOrderPlaced = /warren_messages_published_total\{[^}]*routing_key="order\.placed"[^}]*outcome="confirmed"[^}]*\} [1-9]/;
    await waitFor(
      'published counter',
      async () => confirmedOrderPlaced.test(await (await fetch(`${fleet.urls.ops.order}/metrics`)).text()) || undefined,
      1000,
    );
  });
});
