import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import { runFleetDlqCli as runDlqCli } from '../../workers/dlq';
import type { ReplayResult, ShownMessage, ShowResult } from '../../shared/dlq/dlq-admin';
import { startService } from '../../workers/services';
import { http, orderRequest } from '../helpers/api';
import { startTestFleet, type TestFleet } from '../helpers/fleet';
import { assertInvariants, awaitFinal } from '../helpers/invariants';
import { publishRaw, queueDepths } from '../helpers/raw-amqp';
import { sleep, waitFor } from '../helpers/wait';

const ROOT = resolve(__dirname, '../..');
const PAYMENT = 'warren.payment';
const PAYMENT_DLQ = 'warren.payment.dlq';
const INVENTORY_DLQ = 'warren.inventory.dlq';
const ORDER_DLQ = 'warren.order.dlq';
const SECRET = 'tok_poison_secret';
/** Any payment token left unredacted: `tok_` followed by something other than `[redacted]`. */
const LEAKED_TOKEN = /tok_(?!\[redacted\])/;

const poisonBody = (orderId: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    eventType: 'OrderPlaced',
    version: 2,
    eventId: `ev-${orderId}`,
    orderId,
    correlationId: orderId,
    customerId: 'c-1',
    items: [{ productId: 'P001', quantity: 1 }],
    totalAmount: 10,
    currency: 'USD',
    paymentToken: SECRET,
    timestamp: new Date().toISOString(),
    ...extra,
  });

describe('dlq tool (real broker): list, show, replay to the failing queue only, purge', function () {
  this.timeout(120_000);
  let fleet: TestFleet;
  let amqp: amqplib.ChannelModel;
  const printed: string[] = [];
  const orders: Record<'A' | 'B' | 'C', string> = { A: '', B: '', C: '' };

  /** Runs the CLI in this process against the fleet's vhost; keeps everything it printed. */
  async function cli(...argv: string[]) {
    let out = '';
    let err = '';
    const code = await runDlqCli(argv, {
      env: { AMQP_URL: fleet.config.amqpUrl, EVENTS_EXCHANGE: fleet.config.eventsExchange },
      out: (s) => void (out += s),
      err: (s) => void (err += s),
      logDestination: fleet.logs,
    });
    printed.push(out, err);
    return { code, out, err, json: () => JSON.parse(out) as unknown };
  }
  const show = async (dlq: string, ...more: string[]) =>
    (await cli('show', dlq, '--json', '--limit', '1000', ...more)).json() as ShowResult;
  const depth = async (queue: string) => (await queueDepths(fleet.config.amqpUrl, [queue]))[queue]!;
  const orderPlacedSeenBy = async (service: 'inventory' | 'payment', outcome?: string) => {
    const { values } = await fleet.runtimes[service]!.metrics.consumed.get();
    return values
      .filter((v) => v.labels.event_type === 'OrderPlaced' && (!outcome || v.labels.outcome === outcome))
      .reduce((n, v) => n + v.value, 0);
  };
  const placeOrder = async () => {
    const res = await http('POST', `${fleet.urls.api}/orders`, orderRequest());
    assert.equal(res.status, 202);
    return res.body.orderId as string;
  };
  const dlqEntryOf = (shown: ShowResult, orderId: string) => shown.messages.filter((m) => m.orderId === orderId);
  const orderStatus = async (orderId: string) => (await http('GET', `${fleet.urls.api}/orders/${orderId}`)).body.status as string;
  const payment = async (orderId: string) => (await http('GET', `${fleet.urls.ops.payment}/payments/${orderId}`)).body;

  before(async () => {
    // Every charge fails, so payment's declared kill switch trips; a cool-down of 100 ms makes its probes walk each
    // message through its attempts into the DLQ at about the pace the retry tiers would.
    fleet = await startTestFleet({ PAYMENT_GATEWAY_FAILURE_RATE: '1', ORDER_TIMEOUT_MS: '600000', KILL_SWITCH_COOLDOWN_MS: '100' });
    amqp = await amqplib.connect(fleet.config.amqpUrl);
    await http('PUT', `${fleet.urls.ops.inventory}/stock/P001`, { available: 100 });
  });
  after(async () => {
    await amqp?.close().catch(() => undefined);
    await fleet?.stop();
  });

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
    const { amqpUrl, eventsExchange } = fleet.config;
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
    assert.deepEqual(json(), {
      dlqs: [
        { dlq: ORDER_DLQ, queue: 'warren.order', exists: true, depth: 3 },
        { dlq: INVENTORY_DLQ, queue: 'warren.inventory', exists: true, depth: 3 },
        { dlq: PAYMENT_DLQ, queue: PAYMENT, exists: true, depth: 5 },
      ],
    });
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
    await fleet.stopService('payment');
    orders.C = await placeOrder();
    await waitFor('order C waiting in the payment queue', async () => (await depth(PAYMENT)) === 1);
    // A consumer that hands it back on every delivery, as a worker crashing on it would. basic.reject, not
    // basic.nack: from RabbitMQ 4.3 a nack with requeue no longer counts towards the delivery limit (a reject and
    // a closed channel's return still do), docs/rabbitmq-versions.md.
    const channel = await amqp.createChannel();
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

  it('show prints why each message failed, never a token, and leaves the DLQ as it was', async () => {
    // A second copy of order A, as a DLQ tool that died between a replay's confirm and its ack would leave.
    const [a] = dlqEntryOf(await show(PAYMENT_DLQ), orders.A);
    await duplicateInDlq(a!.messageId);

    const before = await show(PAYMENT_DLQ, '--body');
    assert.equal(before.depth, 7);
    const byId = new Map(before.messages.map((m) => [m.messageId, m]));
    const expect = (id: string, fields: Partial<ShownMessage>) => {
      const m = byId.get(id);
      assert.ok(m, `${id} is shown`);
      for (const [key, value] of Object.entries(fields)) assert.deepEqual(m[key as keyof ShownMessage], value, `${id}.${key}`);
      return m;
    };
    expect('poison-malformed', {
      reasonCode: 'MALFORMED_JSON',
      errorClass: 'MalformedMessageError',
      attempts: 1,
      source: 'consumer',
      failingQueue: PAYMENT,
      service: 'payment',
    });
    expect('poison-content-type', {
      reasonCode: 'UNSUPPORTED_CONTENT_TYPE',
      orderId: 'p-ct',
      correlationId: 'p-ct',
      eventType: 'OrderPlaced',
    });
    const schema = expect('poison-schema', { reasonCode: 'SCHEMA_VIOLATION', errorClass: 'SchemaViolationError', orderId: 'p-schema' });
    assert.match(schema.reason!, /quantity/);
    const copies = dlqEntryOf(before, orders.A);
    assert.equal(copies.length, 2);
    for (const m of copies) {
      assert.equal(m.reasonCode, 'RETRIES_EXHAUSTED');
      assert.equal(m.errorClass, 'GatewayUnavailableError');
      assert.equal(m.attempts, 4);
      assert.equal(m.correlationId, orders.A);
      assert.ok(m.firstFailureAt && m.lastFailureAt && m.firstFailureAt <= m.lastFailureAt);
    }
    for (const m of before.messages) assert.ok(m.body, `${m.messageId} has a body`);

    const limited = await cli('show', PAYMENT_DLQ, '--limit', '2');
    assert.equal(limited.code, 0);
    assert.match(limited.out, /^warren\.payment\.dlq: 7 messages, showing the first 2; 5 not read\n/);
    assert.equal(limited.out.match(/^#\d/gm)?.length, 2);
    const full = await cli('show', PAYMENT_DLQ, '--body');
    assert.match(full.out, /reason code\s+RETRIES_EXHAUSTED/);
    assert.match(full.out, /reason code\s+DELIVERY_LIMIT/);
    assert.ok(full.out.includes('"paymentToken":"[redacted]"'), 'bodies show where their token was');
    assert.ok(!full.out.includes(SECRET));

    const after = await show(PAYMENT_DLQ);
    assert.deepEqual(
      after.messages.map((m) => m.messageId),
      before.messages.map((m) => m.messageId),
      'same messages, same order',
    );
    for (const text of printed) assert.doesNotMatch(text, LEAKED_TOKEN);
  });

  it('replay --dry-run reports what would be replayed and changes nothing', async () => {
    const raw = await rawSnapshot(PAYMENT_DLQ);
    const before = await show(PAYMENT_DLQ);
    const { code, json } = await cli('replay', PAYMENT_DLQ, '--all', '--dry-run', '--json');
    assert.equal(code, 0);
    const result = json() as ReplayResult;
    assert.equal(result.dryRun, true);
    assert.equal(result.replayed.length, 7);
    assert.ok(result.replayed.every((r) => r.to === PAYMENT));
    assert.equal(result.remaining, 7);
    const after = await show(PAYMENT_DLQ);
    assert.deepEqual(after.messages, before.messages, 'the DLQ is unchanged, message for message');
    assert.equal(await depth(PAYMENT), 0, 'nothing reached the payment queue');
    assert.deepEqual(await rawSnapshot(PAYMENT_DLQ), raw, 'bodies, properties and headers are as they were');
  });

  it('replay --id of one exhausted payment, once the gateway is back, confirms that order with one capture', async () => {
    fleet.runtimes.payment = await startService(
      'payment',
      { ...fleet.config, settings: { ...fleet.config.settings, payment: { ...fleet.config.settings['payment'], PAYMENT_GATEWAY_FAILURE_RATE: 0 } } },
      { logDestination: fleet.logs },
    );
    const inventorySaw = await orderPlacedSeenBy('inventory');
    const [a] = dlqEntryOf(await show(PAYMENT_DLQ), orders.A);
    const { code, json } = await cli('replay', PAYMENT_DLQ, '--id', a!.messageId, '--json');
    assert.equal(code, 0);
    assert.equal((json() as ReplayResult).replayed.length, 1, 'one message, although two carry that id');
    await waitFor('order A confirmed', async () => (await orderStatus(orders.A)) === 'CONFIRMED');
    assert.deepEqual(await payment(orders.A), {
      orderId: orders.A,
      status: 'CAPTURED',
      amount: 150,
      currency: 'USD',
      captures: 1,
      refunds: 0,
    });
    assert.equal(await depth(PAYMENT_DLQ), 6);
    assert.equal(await orderPlacedSeenBy('inventory'), inventorySaw, 'inventory saw no second OrderPlaced');

    const missing = await cli('replay', PAYMENT_DLQ, '--id', 'no-such-message');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no message with id no-such-message/);
    assert.equal(await depth(PAYMENT_DLQ), 6);
  });

  it('the real CLI replays --all: exhausted orders end CONFIRMED once, an applied duplicate has no effect, poison returns', async () => {
    const inventorySaw = await orderPlacedSeenBy('inventory');
    const duplicatesBefore = await orderPlacedSeenBy('payment', 'duplicate');
    const { stdout } = await promisify(execFile)(
      resolve(ROOT, 'node_modules/.bin/tsx'),
      ['workers/dlq.ts', 'replay', PAYMENT_DLQ, '--all', '--json'],
      {
        cwd: ROOT,
        env: { ...process.env, AMQP_URL: fleet.config.amqpUrl, EVENTS_EXCHANGE: fleet.config.eventsExchange },
        timeout: 60_000,
      },
    );
    printed.push(stdout);
    const result = JSON.parse(stdout) as ReplayResult;
    assert.equal(result.replayed.length, 6);
    assert.equal(result.remaining, 0);

    const outcomes = await awaitFinal(fleet.urls.api, [orders.A, orders.B, orders.C]);
    for (const o of outcomes.values()) assert.equal(o.status, 'CONFIRMED', o.orderId);
    for (const id of Object.values(orders)) assert.equal((await payment(id)).captures, 1, `order ${id} captured once`);
    await waitFor(
      'the second copy of order A acked as a duplicate',
      async () => (await orderPlacedSeenBy('payment', 'duplicate')) > duplicatesBefore,
    );
    await assertInvariants(
      { api: fleet.urls.api, inventory: fleet.urls.ops.inventory, payment: fleet.urls.ops.payment },
      { P001: 100 },
      outcomes,
    );
    assert.equal(await orderPlacedSeenBy('inventory'), inventorySaw, 'inventory saw no second OrderPlaced');

    // Poison fails again, permanently, at once; the replay did not pick up its own returns.
    const back = await waitFor('the poison back in the DLQ', async () => {
      const shown = await show(PAYMENT_DLQ);
      return shown.depth === 3 && shown.messages.every((m) => m.replayCount === 1) ? shown : undefined;
    });
    assert.deepEqual(back.messages.map((m) => m.messageId).sort(), ['poison-content-type', 'poison-malformed', 'poison-schema']);
    await sleep(500);
    assert.equal(await depth(PAYMENT_DLQ), 3);
  });

  it('purge needs --yes, then empties the DLQ', async () => {
    const refused = await cli('purge', INVENTORY_DLQ);
    assert.equal(refused.code, 2);
    assert.equal(await depth(INVENTORY_DLQ), 3);
    const { code, json } = await cli('purge', INVENTORY_DLQ, '--yes', '--json');
    assert.equal(code, 0);
    assert.deepEqual(json(), { dlq: INVENTORY_DLQ, purged: 3 });
    assert.equal(await depth(INVENTORY_DLQ), 0);
    assert.match((await cli('purge', PAYMENT_DLQ, '--yes')).out, /^purged 3 messages from warren\.payment\.dlq\n$/);
  });

  it('keeps the order of a long DLQ through show and dry runs, and skips what names no failing queue', async () => {
    // Quorum queues give requeued messages back in another order; 120 is well past where that shows.
    const ids = Array.from({ length: 120 }, (_, i) => `long-${String(i).padStart(3, '0')}`);
    const channel = await amqp.createConfirmChannel();
    for (const [i, id] of ids.entries()) {
      const headers =
        i % 3 === 0 ? {} : { 'x-warren-queue': 'warren.inventory', 'x-warren-reason': 'test', 'x-warren-reason-code': 'TEST' };
      channel.sendToQueue(INVENTORY_DLQ, Buffer.from(poisonBody(id)), { messageId: id, headers, persistent: true });
    }
    await channel.waitForConfirms();
    await channel.close();

    const head = (await cli('show', INVENTORY_DLQ, '--limit', '5', '--json')).json() as ShowResult;
    assert.deepEqual(
      head.messages.map((m) => m.messageId),
      ids.slice(0, 5),
    );
    assert.equal(head.depth, 120);
    const dry = await cli('replay', INVENTORY_DLQ, '--all', '--dry-run', '--json');
    assert.equal(dry.code, 1, 'a replay that leaves selected messages behind says so');
    const result = dry.json() as ReplayResult;
    assert.equal(result.replayed.length, 80);
    assert.equal(result.skipped.length, 40);
    assert.match(result.skipped[0]!.why, /no failing queue recorded/);
    const one = await cli('replay', INVENTORY_DLQ, '--id', ids[0]!, '--json');
    assert.equal(one.code, 1);
    assert.equal((one.json() as ReplayResult).replayed.length, 0);
    assert.deepEqual(
      (await show(INVENTORY_DLQ)).messages.map((m) => m.messageId),
      ids,
      'same 120 messages, same order',
    );
    assert.equal(await depth('warren.inventory'), 0);
    assert.deepEqual((await cli('purge', INVENTORY_DLQ, '--yes', '--json')).json(), { dlq: INVENTORY_DLQ, purged: 120 });
  });

  it('acks nothing it could not deliver: a replay to a queue that is gone leaves the DLQ whole', async () => {
    assert.equal(await depth(ORDER_DLQ), 3);
    await fleet.stopService('order');
    const channel = await amqp.createChannel();
    await channel.deleteQueue('warren.order');
    await channel.close();
    const { code, err } = await cli('replay', ORDER_DLQ, '--all');
    assert.equal(code, 1);
    assert.match(err, /^dlq: stopped after 0 of 3 messages of warren\.order\.dlq: .*unroutable/);
    assert.equal(await depth(ORDER_DLQ), 3);
  });

  it('list reports a missing DLQ without losing the others; show on it fails cleanly', async () => {
    const channel = await amqp.createChannel();
    await channel.deleteQueue(ORDER_DLQ);
    await channel.close();
    const { code, json } = await cli('list', '--json');
    assert.equal(code, 0);
    assert.deepEqual((json() as { dlqs: unknown[] }).dlqs, [
      { dlq: ORDER_DLQ, queue: 'warren.order', exists: false },
      { dlq: INVENTORY_DLQ, queue: 'warren.inventory', exists: true, depth: 0 },
      { dlq: PAYMENT_DLQ, queue: PAYMENT, exists: true, depth: 0 },
    ]);
    const shown = await cli('show', ORDER_DLQ);
    assert.equal(shown.code, 1);
    assert.match(shown.err, /^dlq: queue warren\.order\.dlq does not exist/);
    for (const text of printed) assert.doesNotMatch(text, LEAKED_TOKEN);
  });

  /** Every message of a queue (body, properties, headers) by id, as the broker holds it; order is not kept here. */
  async function rawSnapshot(queue: string): Promise<Map<string, unknown[]>> {
    const channel = await amqp.createChannel();
    const byId = new Map<string, unknown[]>();
    try {
      for (let msg = await channel.get(queue); msg; msg = await channel.get(queue)) {
        // The queue's own counts of this message's deliveries (x-acquired-count from 4.3) move with every read.
        const { 'x-delivery-count': _count, 'x-acquired-count': _acquired, ...headers } = msg.properties.headers ?? {};
        const copies = byId.get(msg.properties.messageId as string) ?? [];
        copies.push({ content: msg.content.toString('base64'), properties: { ...msg.properties, headers } });
        byId.set(msg.properties.messageId as string, copies);
      }
    } finally {
      await channel.close();
    }
    return byId;
  }

  /** Publishes a second, identical copy of a DLQ message to the DLQ; the DLQ's order is not kept here. */
  async function duplicateInDlq(messageId: string): Promise<void> {
    const channel = await amqp.createConfirmChannel();
    try {
      for (let msg = await channel.get(PAYMENT_DLQ); msg; msg = await channel.get(PAYMENT_DLQ)) {
        if (msg.properties.messageId !== messageId) continue;
        const { headers, ...properties } = msg.properties;
        const kept = Object.fromEntries(Object.entries(properties).filter(([, v]) => v !== undefined));
        channel.sendToQueue(PAYMENT_DLQ, msg.content, { ...kept, headers });
        await channel.waitForConfirms();
        break;
      }
    } finally {
      await channel.close(); // hands every message it got back to the DLQ
    }
  }
});
