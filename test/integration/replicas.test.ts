import assert from 'node:assert/strict';
import { http, orderRequest } from '../helpers/api';
import { startTestFleet, type TestFleet } from '../helpers/fleet';
import { assertInvariants, awaitFinal } from '../helpers/invariants';
import { fleetPorts, startOrder } from '../helpers/fleet-ports';
import type { Runtime } from '../../shared/lifecycle/runtime';
import { loadFleetConfig, SERVICE_DECLARATIONS, SERVICE_NAMES } from '../../workers/registry';
import { startService } from '../../workers/services';

/**
 * Two replicas of every service on the same queues and Redis, as `--scale` or a Deployment's replicas run them.
 * The order service keeps its own last write of each open order to skip a read: with two replicas taking turns
 * on one order's events, that copy goes stale, and the compare-and-set must catch it every time. Inventory and
 * order take no idempotency claim (their effects are their own done markers): competing consumers must still
 * never reserve, release or confirm twice.
 */
describe('two replicas of every service (real RabbitMQ and Redis)', function () {
  this.timeout(180_000);
  let fleet: TestFleet;
  const second: Runtime[] = [];
  let secondApi: string;
  let secondOrderOps: string;

  before(async () => {
    // A small prefetch spreads one order's events over both replicas.
    fleet = await startTestFleet({ PREFETCH: '5' });
    const ports = await fleetPorts(SERVICE_DECLARATIONS);
    const { opsPorts, apiPorts } = loadFleetConfig(ports.env);
    const config = { ...fleet.config, opsPorts, apiPorts };
    for (const name of startOrder(SERVICE_NAMES)) second.push(await startService(name, config, { logDestination: fleet.logs }));
    secondApi = ports.api;
    secondOrderOps = ports.ops.order;
  });
  after(async () => {
    await Promise.all(second.map((r) => r.stop()));
    await fleet?.stop();
  });

  it('takes 300 orders placed through both APIs to the right end, keeping every invariant', async () => {
    const urls = { api: fleet.urls.api, inventory: fleet.urls.ops.inventory, payment: fleet.urls.ops.payment };
    const stock = { 'REP-IN': 1000, 'REP-OUT': 0, 'REP-SCARCE': 40 };
    for (const [p, n] of Object.entries(stock))
      assert.equal((await http('PUT', `${urls.inventory}/stock/${p}`, { available: n })).status, 200);

    type Plan = { expect?: 'CONFIRMED' | 'CANCELLED'; reason?: string; body: ReturnType<typeof orderRequest> };
    const plans: Plan[] = Array.from({ length: 300 }, (_, i) => {
      if (i % 5 === 0)
        return {
          expect: 'CANCELLED',
          reason: 'OUT_OF_STOCK',
          body: orderRequest({
            items: [
              { productId: 'REP-IN', quantity: 1 },
              { productId: 'REP-OUT', quantity: 1 },
            ],
          }),
        };
      if (i % 7 === 1)
        return {
          expect: 'CANCELLED',
          reason: 'PAYMENT_DECLINED',
          body: orderRequest({ items: [{ productId: 'REP-IN', quantity: 1 }], paymentToken: 'tok_decline' }),
        };
      // 60 orders for 40 in stock: which ones win is a race; the invariants say exactly 40 units are sold.
      if (i % 5 === 2) return { body: orderRequest({ items: [{ productId: 'REP-SCARCE', quantity: 1 }] }) };
      return { expect: 'CONFIRMED', body: orderRequest({ items: [{ productId: 'REP-IN', quantity: 1 + (i % 3) }] }) };
    });
    // Ten customers, so that each stays under ORDER_RATE_LIMIT (120 a minute by default): the replicas share its count.
    const responses = await Promise.all(
      plans.map((p, i) => http('POST', `${i % 2 === 0 ? fleet.urls.api : secondApi}/orders`, { ...p.body, customerId: `rep-${i % 10}` })),
    );
    for (const r of responses) assert.equal(r.status, 202, JSON.stringify(r.body));
    const ids = responses.map((r) => r.body.orderId as string);
    const outcomes = await awaitFinal(urls.api, ids);
    plans.forEach((plan, i) => {
      const outcome = outcomes.get(ids[i]!)!;
      if (plan.expect) assert.equal(outcome.status, plan.expect, `order ${i} (${ids[i]})`);
      if (plan.reason) assert.equal(outcome.reason, plan.reason, `order ${i}`);
    });
    const scarceSold = plans.filter((p, i) => !p.expect && outcomes.get(ids[i]!)!.status === 'CONFIRMED').length;
    assert.equal(scarceSold, 40, 'exactly the scarce stock is sold');
    await assertInvariants(urls, stock, outcomes);

    // Both order replicas handled outcome events.
    for (const ops of [fleet.urls.ops.order, secondOrderOps]) {
      const text = await fetch(`${ops}/metrics`).then((r) => r.text());
      assert.match(text, /warren_messages_consumed_total\{[^}]*event_type="PaymentCaptured"[^}]*outcome="ack"[^}]*\} [1-9]/);
    }
  });
});
