import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { http, orderRequest } from '../helpers/api';
import { startTestFleet, type TestFleet } from '../helpers/fleet';
import { awaitFinal } from '../helpers/invariants';
import type { LogCapture } from '../helpers/log-capture';
import { waitFor } from '../helpers/wait';
import { SERVICE_NAMES } from '../../workers/registry';

type Entry = Record<string, unknown>;

const newTraceparent = () => {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, header: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
};

/** Every log line about one order: by its id or its correlation id (the order id). */
const linesOf = (logs: LogCapture, orderId: string): Entry[] =>
  logs.entries().filter((e) => e['orderId'] === orderId || e['correlationId'] === orderId);

const HANDLED = new Set(['event handled', 'duplicate event acked without effect']);

/** `service/eventType` for every event a consumer handled (with or without effect) for this order. */
const handled = (lines: Entry[]) =>
  new Set(lines.filter((e) => HANDLED.has(String(e['msg']))).map((e) => `${e['service']}/${e['eventType']}`));

/** Asserts the journey's lines all carry `traceId`, and returns them. */
function assertOneTrace(logs: LogCapture, orderId: string, traceId: string): Entry[] {
  const lines = linesOf(logs, orderId);
  assert.ok(lines.length > 0, `no log lines for order ${orderId}`);
  const off = lines.filter((e) => e['traceId'] !== traceId);
  assert.deepEqual(off, [], `log lines of order ${orderId} without trace ${traceId}`);
  return lines;
}

describe('trace context (real broker): a traceparent on POST /orders follows the order through every hop and log line', function () {
  this.timeout(90_000);

  describe('confirmed and cancelled orders', () => {
    let fleet: TestFleet;
    before(async () => {
      fleet = await startTestFleet();
      await http('PUT', `${fleet.urls.ops.inventory}/stock/TRACE-IN`, { available: 100 });
      await http('PUT', `${fleet.urls.ops.inventory}/stock/TRACE-OUT`, { available: 0 });
    });
    after(async () => fleet?.stop());

    const place = async (body: ReturnType<typeof orderRequest>, traceparent: string) => {
      const r = await http('POST', `${fleet.urls.api}/orders`, body, { traceparent });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      return r.body.orderId as string;
    };

    it('confirmed: order.placed -> inventory.reserved + payment.captured -> order.confirmed -> inventory commit, all under one traceId', async () => {
      const trace = newTraceparent();
      const orderId = await place(orderRequest({ items: [{ productId: 'TRACE-IN', quantity: 1 }] }), trace.header);
      assert.equal((await awaitFinal(fleet.urls.api, [orderId])).get(orderId)!.status, 'CONFIRMED');
      const expected = [
        'inventory/OrderPlaced',
        'payment/OrderPlaced',
        'order/InventoryReserved',
        'order/PaymentCaptured',
        'inventory/OrderConfirmed',
      ];
      // The last hop (inventory committing the reservation) may still be in flight when the order reads CONFIRMED.
      await waitFor('every hop of the confirmed order logged', () => expected.every((h) => handled(linesOf(fleet.logs, orderId)).has(h)));
      const lines = assertOneTrace(fleet.logs, orderId, trace.traceId);
      assert.ok(lines.some((e) => e['msg'] === 'order accepted' && e['service'] === 'order'));
      assert.ok(lines.some((e) => e['msg'] === 'order ended' && e['status'] === 'CONFIRMED'));
      // The three services at least; any other service of the registry that consumes these events joins the trace.
      const services = new Set(lines.map((e) => e['service'] as string));
      for (const service of ['order', 'inventory', 'payment']) assert.ok(services.has(service), service);
      for (const service of services) assert.ok((SERVICE_NAMES as readonly string[]).includes(service), service);
    });

    it('cancelled (out of stock): the compensation hops (order.cancelled -> payment.refunded, inventory release) stay in the trace', async () => {
      const trace = newTraceparent();
      const orderId = await place(orderRequest({ items: [{ productId: 'TRACE-OUT', quantity: 1 }] }), trace.header);
      const outcome = (await awaitFinal(fleet.urls.api, [orderId])).get(orderId)!;
      assert.equal(outcome.status, 'CANCELLED');
      assert.equal(outcome.reason, 'OUT_OF_STOCK');
      const expected = [
        'inventory/OrderPlaced',
        'payment/OrderPlaced',
        'order/InventoryRejected',
        'inventory/OrderCancelled',
        'payment/OrderCancelled',
      ];
      await waitFor('every hop of the cancelled order logged', () => {
        const lines = linesOf(fleet.logs, orderId);
        // Payment either refunds the capture (the usual case) or, had the cancel overtaken the charge, never charges.
        const paymentSettled =
          handled(lines).has('order/PaymentRefunded') || lines.some((e) => e['msg'] === 'order cancelled before payment; not charging');
        return paymentSettled && expected.every((h) => handled(lines).has(h));
      });
      const lines = assertOneTrace(fleet.logs, orderId, trace.traceId);
      assert.ok(lines.some((e) => e['msg'] === 'order ended' && e['reason'] === 'OUT_OF_STOCK'));
    });

    it('two orders with different traceparents never share a traceId; an order without one gets a fresh trace of its own', async () => {
      const a = newTraceparent();
      const b = newTraceparent();
      const [idA, idB, idC] = await Promise.all([
        place(orderRequest({ items: [{ productId: 'TRACE-IN', quantity: 1 }] }), a.header),
        place(orderRequest({ items: [{ productId: 'TRACE-IN', quantity: 1 }] }), b.header),
        http('POST', `${fleet.urls.api}/orders`, orderRequest({ items: [{ productId: 'TRACE-IN', quantity: 1 }] })).then(
          (r) => r.body.orderId as string,
        ),
      ]);
      await awaitFinal(fleet.urls.api, [idA!, idB!, idC!]);
      await waitFor('order C ended in the logs', () => linesOf(fleet.logs, idC!).some((e) => e['msg'] === 'order ended'));
      assertOneTrace(fleet.logs, idA!, a.traceId);
      assertOneTrace(fleet.logs, idB!, b.traceId);
      const cTraces = new Set(linesOf(fleet.logs, idC!).map((e) => e['traceId']));
      assert.equal(cTraces.size, 1, `order C spans traces ${[...cTraces].join(', ')}`);
      const [cTrace] = [...cTraces];
      assert.match(String(cTrace), /^[0-9a-f]{32}$/);
      assert.ok(cTrace !== a.traceId && cTrace !== b.traceId);
    });
  });

  describe('a timed-out order', () => {
    let fleet: TestFleet;
    // No payment service: the order can only end by its deadline, swept by the order service's relay.
    before(async () => {
      fleet = await startTestFleet({ ORDER_TIMEOUT_MS: '1500' }, ['order', 'inventory']);
      await http('PUT', `${fleet.urls.ops.inventory}/stock/TRACE-TO`, { available: 10 });
    });
    after(async () => fleet?.stop());

    it('keeps its trace through the timeout cancellation and the inventory release it causes', async () => {
      const trace = newTraceparent();
      const r = await http('POST', `${fleet.urls.api}/orders`, orderRequest({ items: [{ productId: 'TRACE-TO', quantity: 2 }] }), {
        traceparent: trace.header,
      });
      const orderId = r.body.orderId as string;
      const outcome = (await awaitFinal(fleet.urls.api, [orderId], 20_000)).get(orderId)!;
      assert.equal(outcome.reason, 'TIMEOUT');
      await waitFor('the release of the timed-out order logged', () =>
        handled(linesOf(fleet.logs, orderId)).has('order/InventoryReleased'),
      );
      const lines = assertOneTrace(fleet.logs, orderId, trace.traceId);
      assert.ok(handled(lines).has('inventory/OrderCancelled'));
      assert.ok(lines.some((e) => e['msg'] === 'order ended' && e['reason'] === 'TIMEOUT'));
    });
  });
});
