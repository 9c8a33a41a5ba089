import assert from 'node:assert/strict';
import type { MessageProperties } from 'amqplib';
import { createEvent } from '../../shared/events/codec';
import { H } from '../../shared/messaging/retry-policy';
import { assertBrokersSawNoViolation, headersOf, startConsumer } from './fakes/consumer-harness';
import { body, paymentDeclined, until, valueOf } from './fakes/fixtures';

// Deliveries the consumer will not hand to a handler (a route Warren never binds, a body it cannot or may not read):
// each is dead-lettered unread under its own reason code, and everything it can read still is.
describe('Consumer (fake broker)', () => {
  afterEach(assertBrokersSawNoViolation);

  it('dead-letters a delivery through an exchange Warren never binds its queue to, and believes none of its headers', async () => {
    const handled: string[] = [];
    const { deliver, broker, copies, metrics } = await startConsumer({
      PaymentDeclined: async (ctx) => void handled.push(ctx.event.orderId),
    });
    // An exchange-to-exchange binding or another queue's failures exchange: the names a forger would pick.
    const routes = [
      { exchange: 'rogue.failures', routingKey: 'return' },
      { exchange: 'warren.inventory.failures', routingKey: 'return' },
      { exchange: 'amq.topic', routingKey: 'payment.declined' },
    ];
    const msgs = routes.map((from) => deliver(body(paymentDeclined()), { headers: { [H.attempt]: 3, 'x-warren-replay-count': 7 } }, from));
    await until('every ack', () => msgs.every((m) => broker.settlement(m) === 'ack'));
    assert.deepEqual(handled, [], 'no handler ran');
    assert.deepEqual(
      copies.published.map((c) => [
        c.routingKey,
        headersOf(c)[H.reasonCode],
        headersOf(c)[H.attempt],
        headersOf(c)['x-warren-replay-count'],
      ]),
      routes.map(() => ['dlq', 'UNEXPECTED_ROUTE', 1, undefined]),
    );
    assert.equal(await valueOf(metrics.deadLettered, { event_type: 'unknown', reason_code: 'UNEXPECTED_ROUTE' }), 3);
  });

  const tooLarge = Buffer.concat([body(paymentDeclined()), Buffer.alloc(2048, 32)]);
  const unreadable: [string, Buffer, Partial<MessageProperties>, string][] = [
    ['a body that is not JSON', Buffer.from('{"eventType": "PaymentDecl'), {}, 'MALFORMED_JSON'],
    ['a body over maxBodyBytes', tooLarge, {}, 'MESSAGE_TOO_LARGE'],
    ['a declared content type that is not JSON', body(paymentDeclined()), { contentType: 'text/plain' }, 'UNSUPPORTED_CONTENT_TYPE'],
    ['an unknown event type', body({ ...paymentDeclined(), eventType: 'OrderShipped' }), {}, 'UNKNOWN_EVENT'],
    ['an unknown event version', body({ ...paymentDeclined(), version: 99 }), {}, 'UNKNOWN_EVENT'],
    [
      'an event this queue has no handler for',
      body(createEvent('InventoryReleased', { orderId: 'o-9', items: [{ productId: 'P', quantity: 1 }] }, { correlationId: 'o-9' })),
      {},
      'UNKNOWN_EVENT',
    ],
    ['an event that breaks its schema', body({ ...paymentDeclined(), reason: 42 }), {}, 'SCHEMA_VIOLATION'],
  ];
  for (const [what, content, props, reasonCode] of unreadable) {
    it(`dead-letters ${what} unread, as ${reasonCode}`, async () => {
      let calls = 0;
      const { deliver, broker, copies } = await startConsumer({ PaymentDeclined: async () => void calls++ }, { maxBodyBytes: 1024 });
      const msg = deliver(content, { correlationId: 'o-9', ...props });
      await until('the ack', () => broker.settlement(msg) === 'ack');
      assert.equal(calls, 0, 'the handler never sees it');
      assert.equal(copies.published.length, 1);
      const [copy] = copies.published;
      assert.equal(copy!.routingKey, 'dlq');
      assert.ok(copy!.content.equals(content));
      assert.equal(headersOf(copy)[H.reasonCode], reasonCode);
      assert.equal(headersOf(copy)[H.attempt], 1);
      assert.equal(headersOf(copy)[H.correlationId], 'o-9', 'the correlation id travels with the dead letter');
    });
  }

  it('reads a body of exactly maxBodyBytes', async () => {
    let runs = 0;
    const { deliver, broker, copies } = await startConsumer({ PaymentDeclined: async () => void runs++ }, { maxBodyBytes: 1024 });
    const json = body(paymentDeclined());
    const msg = deliver(Buffer.concat([json, Buffer.alloc(1024 - json.length, 32)]));
    await until('the ack', () => broker.settlement(msg) === 'ack');
    assert.equal(runs, 1);
    assert.equal(copies.published.length, 0);
  });

  it('reads JSON under any JSON content type, and refuses every other', async () => {
    const accepted = [
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON',
      'application/cloudevents+json',
      'application/vnd.warren.event+json',
    ];
    const refused = ['text/plain', 'application/jsonp', 'text/plain; profile=application/json'];
    const ran: string[] = [];
    const { deliver, broker, copies } = await startConsumer({ PaymentDeclined: async (ctx) => void ran.push(ctx.event.orderId) });
    const msgs = [...accepted, ...refused].map((contentType, i) => deliver(body(paymentDeclined(`o-${i}`)), { contentType }));
    await until('every ack', () => msgs.every((m) => broker.settlement(m) === 'ack'));
    assert.deepEqual(
      ran.sort(),
      accepted.map((_, i) => `o-${i}`),
    );
    assert.deepEqual(
      copies.published.map((c) => headersOf(c)[H.reasonCode]),
      refused.map(() => 'UNSUPPORTED_CONTENT_TYPE'),
    );
  });
});
