import assert from 'node:assert/strict';
import type { ReplayResult } from '../../../shared/dlq/dlq-admin';
import { publishRaw } from '../../helpers/raw-amqp';
import { waitFor } from '../../helpers/wait';
import { PAYMENT, PAYMENT_DLQ, INVENTORY_DLQ, ORDER_DLQ, SECRET, THREE_QUEUES, poisonBody, type DlqScenario } from './scenario';
import { fleetQueues } from '../../../workers/registry';

/**
 * How messages reach the DLQs for real (poison at once, exhausted after every retry tier, the broker's own
 * delivery limit), what list reports of them, and that a replayed message earns a full set of attempts again.
 * Each step starts from where the one before it left the fleet (scenario.ts).
 */
export function deadLetterSteps(s: DlqScenario): void {
  const { orders, cli, show, depth, orderPlacedSeenBy, placeOrder, dlqEntryOf } = s;

  it('rejects bad usage with one line and a non-zero exit, before touching the broker', async () => {
    for (const argv of [
      [],
      ['show'],
      ['show', 'nope.dlq'],
      ['replay', PAYMENT_DLQ],
      ['replay', PAYMENT_DLQ, '--id', 'x', '--all'],
      ['show', PAYMENT_DLQ, '--limit', '0'],
      ['purge', PAYMENT_DLQ],
      ['frobnicate'],
    ]) {
      const { code, out, err } = await cli(...argv);
      assert.equal(code, 2, `${argv.join(' ')}: ${err}`);
      assert.equal(out, '');
      assert.match(err, /^dlq: [^\n]+\n$/, `${argv.join(' ')} printed ${JSON.stringify(err)}`);
    }
  });

  it('dead-letters poison and exhausted messages for real; list shows every DLQ with its depth', async () => {
    const { amqpUrl, eventsExchange } = s.fleet.config;
    await publishRaw(amqpUrl, eventsExchange, 'order.placed', `{"eventType":"OrderPlaced","paymentToken":"${SECRET}",`, {
      messageId: 'poison-malformed',
      contentType: 'application/json',
    });
    await publishRaw(amqpUrl, eventsExchange, 'order.placed', poisonBody('p-ct'), {
      messageId: 'poison-content-type',
      contentType: 'text/plain',
    });
    await publishRaw(amqpUrl, eventsExchange, 'order.placed', poisonBody('p-schema', { items: [{ productId: 'P001', quantity: 0 }] }), {
      messageId: 'poison-schema',
      type: 'OrderPlaced',
    });
    orders.A = await placeOrder();
    orders.B = await placeOrder();
    await waitFor('3 poison + 2 exhausted in the payment DLQ', async () => (await depth(PAYMENT_DLQ)) === 5);

    const { code, json } = await cli('list', '--json');
    assert.equal(code, 0);
    const { dlqs } = json() as { dlqs: { queue: string }[] };
    assert.deepEqual(
      dlqs.map((d) => d.queue),
      fleetQueues(),
      'every queue of the fleet, in the registry order',
    );
    assert.deepEqual(
      dlqs.filter((d) => THREE_QUEUES.includes(d.queue)),
      [
        { dlq: ORDER_DLQ, queue: 'warren.order', exists: true, depth: 3 },
        { dlq: INVENTORY_DLQ, queue: 'warren.inventory', exists: true, depth: 3 },
        { dlq: PAYMENT_DLQ, queue: PAYMENT, exists: true, depth: 5 },
      ],
    );
    const text = await cli('list');
    assert.match(text.out, /warren\.payment\.dlq\s+5\s+warren\.payment/);
  });

  it('replay --id sends one message back to its failing queue only, where it gets a full set of attempts', async () => {
    const inventorySaw = await waitFor('inventory to handle orders A and B', async () => (await orderPlacedSeenBy('inventory')) === 2 && 2);
    const [b] = dlqEntryOf(await show(PAYMENT_DLQ), orders.B);
    assert.ok(b, 'order B is in the payment DLQ');
    const retriesBefore = await orderPlacedSeenBy('payment', 'retry');
    const replayedAt = new Date().toISOString();
    const { code, json } = await cli('replay', PAYMENT_DLQ, '--id', b.messageId, '--json');
    assert.equal(code, 0);
    const result = json() as ReplayResult;
    assert.deepEqual(
      result.replayed.map((r) => [r.messageId, r.to]),
      [[b.messageId, PAYMENT]],
    );
    assert.equal(result.remaining, 4);
    // The gateway still fails: the replayed message takes every retry tier again, then comes back with a fresh record.
    const back = await waitFor('order B back in the DLQ after a full set of attempts', async () => {
      const [entry] = dlqEntryOf(await show(PAYMENT_DLQ), orders.B);
      return entry && entry.replayCount === 1 ? entry : undefined;
    });
    assert.equal(back.attempts, 4);
    assert.equal(await orderPlacedSeenBy('payment', 'retry'), retriesBefore + 3, 'every retry tier again');
    assert.equal(back.reasonCode, 'RETRIES_EXHAUSTED');
    assert.ok(back.firstFailureAt! >= replayedAt, `first failure ${back.firstFailureAt} is after the replay ${replayedAt}`);
    assert.equal(back.originalRoutingKey, 'order.placed');
    assert.equal(await orderPlacedSeenBy('inventory'), inventorySaw, 'inventory saw no second OrderPlaced');
  });

  it('handles a message the broker dead-lettered itself at the quorum delivery limit', async () => {
    await s.fleet.stopService('payment');
    orders.C = await placeOrder();
    await waitFor('order C waiting in the payment queue', async () => (await depth(PAYMENT)) === 1);
    // A consumer that hands it back on every delivery, as a worker crashing on it would. basic.reject, not
    // basic.nack: from RabbitMQ 4.3 a nack with requeue no longer counts towards the delivery limit (a reject and
    // a closed channel's return still do), docs/rabbitmq-versions.md.
    const channel = await s.amqp.createChannel();
    await waitFor(
      'the broker to dead-letter order C',
      async () => {
        const msg = await channel.get(PAYMENT, { noAck: false });
        if (msg) channel.reject(msg, true);
        return (await depth(PAYMENT_DLQ)) === 6;
      },
      20_000,
      20,
    );
    await channel.close();
    const [c] = dlqEntryOf(await show(PAYMENT_DLQ), orders.C);
    assert.ok(c);
    assert.equal(c.source, 'broker');
    assert.equal(c.reasonCode, 'DELIVERY_LIMIT');
    assert.equal(c.failingQueue, PAYMENT);
    assert.equal(c.originalRoutingKey, 'order.placed');
  });
}
