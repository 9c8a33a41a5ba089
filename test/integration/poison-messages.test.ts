import { createHash } from 'node:crypto';
import { DEAD_LETTER_BODY_PREFIX_BYTES, TRUNCATED_BODY_HEADERS } from '../../shared/messaging/failure-copy';
import assert from 'node:assert/strict';
import { http, orderRequest } from '../helpers/api';
import { startTestFleet, type TestFleet } from '../helpers/fleet';
import { assertInvariants, awaitFinal } from '../helpers/invariants';
import { drainQueue, publishRaw, queueDepths } from '../helpers/raw-amqp';
import { waitFor } from '../helpers/wait';

const valid = (orderId: string, extra: Record<string, unknown> = {}) => ({
  eventType: 'OrderPlaced',
  orderId,
  items: [{ productId: 'POISON-OK', quantity: 1 }],
  totalAmount: 10,
  timestamp: new Date().toISOString(),
  ...extra,
});

const QUEUES = ['warren.inventory', 'warren.payment', 'warren.order'];

describe('poison messages (real broker): each kind is dead-lettered with its reason while valid ones flow', function () {
  this.timeout(120_000);
  let fleet: TestFleet;

  before(async () => {
    fleet = await startTestFleet();
  });
  after(async () => fleet?.stop());

  it('dead-letters every kind of poison at once, with reason headers, without blocking or restarting anything', async () => {
    const { amqpUrl, eventsExchange } = fleet.config;
    await http('PUT', `${fleet.urls.ops.inventory}/stock/POISON-OK`, { available: 100 });
    const poison: { code: string; body: string | Buffer; props?: Record<string, unknown> }[] = [
      { code: 'MALFORMED_JSON', body: '{"eventType": "OrderPlaced", "orderId": ' },
      { code: 'UNSUPPORTED_CONTENT_TYPE', body: JSON.stringify(valid('p-ct')), props: { contentType: 'text/xml' } },
      { code: 'SCHEMA_VIOLATION', body: JSON.stringify(valid('p-schema', { items: [{ productId: 'X', quantity: -4 }] })) },
      { code: 'UNKNOWN_EVENT', body: JSON.stringify(valid('p-type', { eventType: 'OrderTeleported' })) },
      { code: 'UNKNOWN_EVENT', body: JSON.stringify(valid('p-version', { version: 99 })) },
      { code: 'MESSAGE_TOO_LARGE', body: JSON.stringify(valid('p-big', { padding: 'x'.repeat(70 * 1024) })) },
    ];
    const validIds: string[] = [];
    for (const [i, p] of poison.entries()) {
      await publishRaw(amqpUrl, eventsExchange, 'order.placed', p.body, {
        messageId: `poison-${i}`,
        correlationId: `corr-${i}`,
        ...p.props,
      });
      const id = `valid-${Date.now()}-${i}`;
      validIds.push(id);
      await publishRaw(amqpUrl, eventsExchange, 'order.placed', JSON.stringify(valid(id)), {
        messageId: id,
        contentType: 'application/json',
      });
    }
    const apiOrder = await http('POST', `${fleet.urls.api}/orders`, orderRequest({ items: [{ productId: 'POISON-OK', quantity: 1 }] }));
    const outcomes = await awaitFinal(fleet.urls.api, [...validIds, apiOrder.body.orderId]);
    for (const o of outcomes.values()) assert.equal(o.status, 'CONFIRMED');
    await assertInvariants(
      { api: fleet.urls.api, inventory: fleet.urls.ops.inventory, payment: fleet.urls.ops.payment },
      { 'POISON-OK': 100 },
      outcomes,
    );

    await waitFor('every poison message in every DLQ', async () => {
      const depths = await queueDepths(
        amqpUrl,
        QUEUES.map((q) => `${q}.dlq`),
      );
      return Object.values(depths).every((n) => n === poison.length) || undefined;
    });
    for (const queue of QUEUES) {
      const dead = await drainQueue(amqpUrl, `${queue}.dlq`);
      assert.equal(dead.length, poison.length, queue);
      const byId = new Map(dead.map((m) => [m.properties.messageId as string, m]));
      poison.forEach((p, i) => {
        const m = byId.get(`poison-${i}`);
        assert.ok(m, `${queue}: poison-${i} is in the DLQ`);
        const h = m.properties.headers!;
        assert.equal(h['x-warren-reason-code'], p.code, `${queue} poison-${i}`);
        assert.equal(typeof h['x-warren-reason'], 'string');
        assert.ok((h['x-warren-reason'] as string).length > 0);
        assert.match(String(h['x-warren-error-class']), /Error$/);
        assert.equal(h['x-warren-attempt'], 1, 'a permanent failure is not retried');
        assert.equal(h['x-warren-queue'], queue);
        assert.equal(h['x-warren-original-exchange'], eventsExchange);
        assert.equal(h['x-warren-original-routing-key'], 'order.placed');
        assert.equal(h['x-warren-service'], queue.replace('warren.', ''));
        assert.equal(h['x-warren-correlation-id'], `corr-${i}`);
        assert.ok(!Number.isNaN(Date.parse(String(h['x-warren-first-failure-at']))));
        assert.ok(!Number.isNaN(Date.parse(String(h['x-warren-last-failure-at']))));
        const sent = Buffer.isBuffer(p.body) ? p.body : Buffer.from(p.body);
        if (p.code === 'MESSAGE_TOO_LARGE') {
          // An oversized body is kept as its head, with its size and digest (failure-copy.ts), not whole.
          assert.equal(Buffer.compare(m.content, sent.subarray(0, DEAD_LETTER_BODY_PREFIX_BYTES)), 0, 'the head of the body');
          assert.equal(h[TRUNCATED_BODY_HEADERS.bytes], sent.length);
          assert.equal(h[TRUNCATED_BODY_HEADERS.sha256], createHash('sha256').update(sent).digest('hex'));
        } else assert.equal(Buffer.compare(m.content, sent), 0, 'the body is kept as it came');
      });
    }
    for (const ops of Object.values(fleet.urls.ops)) assert.equal((await http('GET', `${ops}/readyz`)).status, 200);
    const metrics = await (await fetch(`${fleet.urls.ops.inventory}/metrics`)).text();
    assert.match(metrics, /warren_messages_consumed_total\{[^}]*outcome="dead_letter"[^}]*\} 6/);
  });

  it('retries a transient failure in the failing queue only, then dead-letters it as exhausted', async () => {
    // Payment's gateway fails every call: payment retries through its own tiers; inventory sees the event once.
    const failing = await startTestFleet({ PAYMENT_GATEWAY_FAILURE_RATE: '1', RETRY_DELAYS_MS: '50,100' });
    try {
      await http('PUT', `${failing.urls.ops.inventory}/stock/RETRY-1`, { available: 5 });
      const orderId = `retry-${Date.now()}`;
      await publishRaw(
        failing.config.amqpUrl,
        failing.config.eventsExchange,
        'order.placed',
        JSON.stringify({ ...valid(orderId), items: [{ productId: 'RETRY-1', quantity: 1 }] }),
        { messageId: orderId },
      );
      await waitFor(
        'the exhausted message in payment DLQ',
        async () => (await queueDepths(failing.config.amqpUrl, ['warren.payment.dlq']))['warren.payment.dlq'] === 1 || undefined,
      );
      const [dead] = await drainQueue(failing.config.amqpUrl, 'warren.payment.dlq');
      const h = dead!.properties.headers!;
      assert.equal(h['x-warren-reason-code'], 'RETRIES_EXHAUSTED');
      assert.equal(h['x-warren-error-class'], 'GatewayUnavailableError');
      assert.equal(h['x-warren-attempt'], 3, 'attempts = tiers + 1');
      assert.notEqual(h['x-warren-first-failure-at'], h['x-warren-last-failure-at']);
      const inv = await (await fetch(`${failing.urls.ops.inventory}/metrics`)).text();
      const pay = await (await fetch(`${failing.urls.ops.payment}/metrics`)).text();
      assert.match(inv, /warren_messages_consumed_total\{[^}]*event_type="OrderPlaced",outcome="ack"[^}]*\} 1\n/);
      assert.doesNotMatch(inv, /outcome="retry"/, 'the retries never reached inventory');
      assert.match(pay, /warren_messages_consumed_total\{[^}]*event_type="OrderPlaced",outcome="retry"[^}]*\} 2\n/);
      assert.equal((await http('GET', `${failing.urls.ops.inventory}/stock/RETRY-1`)).body.available, 4, 'reserved once');
    } finally {
      await failing.stop();
    }
  });
});
