import assert from 'node:assert/strict';
import { http, orderRequest } from '../helpers/api';
import { uniqueName } from '../helpers/broker';
import { assertInvariants, awaitFinal } from '../helpers/invariants';
import { ProcessFleet } from '../helpers/process-fleet';
import { peekQueue } from '../helpers/raw-amqp';
import { waitFor } from '../helpers/wait';

const ORDERS = 20;
const GATEWAY_LATENCY_MS = 1500;

/**
 * SIGTERM while handlers run (what a rolling deploy does to a pod): the payment worker stops taking deliveries, lets
 * the charges in flight finish and acks them, then exits 0. Nothing goes back to the queue, so the next process
 * redelivers nothing and charges nothing a second time.
 */
describe('graceful drain under load (real processes, broker and Redis)', function () {
  this.timeout(180_000);
  let fleet: ProcessFleet;
  const product = uniqueName('DRAIN');

  before(async () => {
    fleet = await ProcessFleet.start({ PAYMENT_GATEWAY_LATENCY_MS: String(GATEWAY_LATENCY_MS), SHUTDOWN_TIMEOUT_MS: '10000' });
    await http('PUT', `${fleet.urls.ops.inventory}/stock/${product}`, { available: 1000 });
  });
  after(() => fleet?.stop());

  it(`SIGTERM with ${ORDERS} charges in flight: they finish and are acked, exit 0, nothing redelivered or charged twice`, async () => {
    const ids = await Promise.all(
      Array.from({ length: ORDERS }, async (_, i) => {
        const r = await http(
          'POST',
          `${fleet.urls.api}/orders`,
          orderRequest({ items: [{ productId: product, quantity: 1 }], totalAmount: 10 + i }),
        );
        assert.equal(r.status, 202);
        return r.body.orderId as string;
      }),
    );
    // Every charge is inside the (slow) gateway: in flight, unacked.
    await waitFor(
      `${ORDERS} payment handlers in flight`,
      async () => (await inFlight(fleet.urls.ops.payment)) >= ORDERS || undefined,
      15_000,
      20,
    );

    const started = Date.now();
    const code = await fleet.terminate('payment');
    const drainMs = Date.now() - started;
    assert.equal(code, 0);
    assert.ok(drainMs < 10_000, `drained in ${drainMs} ms`);
    assert.ok(!fleet.output.some((l) => l.includes('shutdown deadline passed')), 'a handler was cut off');
    // Acked, not returned: no OrderPlaced waits for the next process (a cut-off delivery would be back as ready).
    // What the queue may hold is the OrderConfirmed of orders the drained charges confirmed: payment binds
    // order.confirmed, so that it refuses a later cancel of them.
    const waiting = await peekQueue(fleet.env['AMQP_URL']!, 'warren.payment');
    assert.deepEqual(
      waiting.filter((m) => m.properties.type !== 'OrderConfirmed').map((m) => m.properties.type),
      [],
    );

    await fleet.spawn('payment');
    const outcomes = await awaitFinal(fleet.urls.api, ids, 60_000);
    for (const id of ids) assert.equal(outcomes.get(id)?.status, 'CONFIRMED', id);
    const urls = { api: fleet.urls.api, inventory: fleet.urls.ops.inventory, payment: fleet.urls.ops.payment };
    await assertInvariants(urls, { [product]: 1000 }, outcomes);
    // The new process got no OrderPlaced at all: no redelivery, so no second handler run.
    const metrics = (await http('GET', `${fleet.urls.ops.payment}/metrics`)).body as string;
    assert.doesNotMatch(metrics, /^warren_messages_consumed_total\{[^}]*event_type="OrderPlaced"[^}]*\} [1-9]/m);
  });
});

async function inFlight(ops: string): Promise<number> {
  const metrics = (await http('GET', `${ops}/metrics`)).body as string;
  return Number(/^warren_handlers_in_flight\{[^}]*queue="warren\.payment"[^}]*\} (\d+)/m.exec(metrics)?.[1] ?? 0);
}
