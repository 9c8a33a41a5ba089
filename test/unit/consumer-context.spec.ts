import assert from 'node:assert/strict';
import type { AnyEvent } from '../../shared/events/catalog';
import type { MessageContext } from '../../shared/messaging/context';
import { H } from '../../shared/messaging/retry-policy';
import { parseTraceparent } from '../../shared/observability/trace';
import { assertBrokersSawNoViolation, eventProps, FROM_RETRY_TIER, headersOf, startConsumer } from './fakes/consumer-harness';
import { body, capturedLog, paymentDeclined, until } from './fakes/fixtures';

// What a handler sees of its delivery (the event, attempt, delivery count, a logger and a publisher that carry its
// correlation and trace), and how far the consumer trusts the headers those come from.
describe('Consumer (fake broker)', () => {
  afterEach(assertBrokersSawNoViolation);

  it('gives the handler the event and its metadata, never the transport delivery', async () => {
    let seen: MessageContext | undefined;
    const { deliver, broker } = await startConsumer({ PaymentDeclined: async (ctx) => void (seen = ctx) });
    const event = paymentDeclined('o-7');
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    // A third attempt: a copy of the consumer's own, handed back by its retry tier (the only path it counts from).
    const msg = deliver(
      body(event),
      { ...eventProps(event), headers: { traceparent, 'x-delivery-count': 2, [H.attempt]: 3 } },
      FROM_RETRY_TIER,
    );
    await until('the ack', () => broker.settlement(msg) === 'ack');
    const { queue, attempt, redelivered, deliveryCount } = seen!;
    assert.deepEqual(seen!.event, event);
    assert.deepEqual({ queue, attempt, redelivered, deliveryCount }, { queue: 'q', attempt: 3, redelivered: false, deliveryCount: 2 });
    // The delivery's own span, in the trace the event arrived with: the parent of what the handler causes later.
    const own = parseTraceparent(seen!.traceparent);
    assert.equal(own?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.notEqual(own?.spanId, '00f067aa0ba902b7');
    assert.deepEqual(
      Object.keys(seen!).filter((key) => ['message', 'fields', 'properties', 'content'].includes(key)),
      [],
      'no amqplib message in the context',
    );
  });

  it('gives the handler a logger naming the delivery, and logs an unreadable message under its queue and trace', async () => {
    const { log, lines } = capturedLog();
    const { deliver, broker } = await startConsumer({ PaymentDeclined: async (ctx) => ctx.log.info('applied') }, { log });
    const event = paymentDeclined('o-5');
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const msg = deliver(body(event), { ...eventProps(event), headers: { traceparent } });
    const unreadable = deliver(Buffer.from('{"eventType'), {
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    await until('both acks', () => broker.settlement(msg) === 'ack' && broker.settlement(unreadable) === 'ack');
    const applied = lines.find((l) => l['msg'] === 'applied');
    assert.deepEqual(
      {
        queue: applied?.['queue'],
        orderId: applied?.['orderId'],
        correlationId: applied?.['correlationId'],
        eventId: applied?.['eventId'],
        eventType: applied?.['eventType'],
        traceId: applied?.['traceId'],
      },
      {
        queue: 'q',
        orderId: 'o-5',
        correlationId: 'o-5',
        eventId: event.eventId,
        eventType: 'PaymentDeclined',
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      },
    );
    const deadLettered = lines.find((l) => l['level'] === 'error');
    assert.equal(deadLettered?.['queue'], 'q');
    assert.equal(deadLettered?.['traceId'], '0af7651916cd43dd8448eb211c80319c', 'an unreadable message is still logged under its trace');
  });

  it('publishes what a handler causes with the correlation, causation and trace of the delivery, under the eventId it chose', async () => {
    const caused: AnyEvent[] = [];
    let own: string | undefined;
    const { deliver, broker, copies } = await startConsumer({
      PaymentDeclined: async (ctx) => {
        own = ctx.traceparent;
        const items = [{ productId: 'P', quantity: 1 }];
        caused.push(await ctx.publish('InventoryReleased', { orderId: ctx.event.orderId, items }, { eventId: 'InventoryReleased:o-6' }));
        caused.push(await ctx.publish('InventoryReleased', { orderId: ctx.event.orderId, items }));
      },
    });
    const event = paymentDeclined('o-6');
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const msg = deliver(body(event), { ...eventProps(event), headers: { traceparent } });
    await until('the ack', () => broker.settlement(msg) === 'ack');
    assert.deepEqual(
      copies.published.map((p) => JSON.parse(p.content.toString())),
      caused,
      'what was published is what publish returned',
    );
    assert.equal(caused[0]!.eventId, 'InventoryReleased:o-6');
    assert.notEqual(caused[1]!.eventId, 'InventoryReleased:o-6');
    for (const [i, sent] of copies.published.entries()) {
      assert.equal(sent.routingKey, 'inventory.released');
      assert.equal(caused[i]!.correlationId, 'o-6');
      assert.equal(caused[i]!.causationId, event.eventId);
      assert.equal(headersOf(sent)['traceparent'], own, "published under the delivery's own span");
    }
  });

  it('reads a delivery count the broker did not set, or one that is not a count, as 0', async () => {
    const counts: number[] = [];
    const { deliver, broker } = await startConsumer({ PaymentDeclined: async (ctx) => void counts.push(ctx.deliveryCount) });
    const msgs = [undefined, 'two', -1, 2.5, 0, 3].map((count, i) => {
      const event = paymentDeclined(`o-${i}`);
      return deliver(body(event), { ...eventProps(event), headers: count === undefined ? {} : { 'x-delivery-count': count } });
    });
    await until('every ack', () => msgs.every((m) => broker.settlement(m) === 'ack'));
    assert.deepEqual(counts, [0, 0, 0, 0, 0, 3]);
  });

  it('counts an attempt only from a whole number of at least 1 in its own header', async () => {
    const attempts: number[] = [];
    const { deliver, broker } = await startConsumer({ PaymentDeclined: async (ctx) => void attempts.push(ctx.attempt) });
    const msgs = [0, -2, 2.5, 'three', 2].map((attempt) =>
      deliver(body(paymentDeclined()), { headers: { [H.attempt]: attempt } }, FROM_RETRY_TIER),
    );
    await until('every ack', () => msgs.every((m) => broker.settlement(m) === 'ack'));
    assert.deepEqual(attempts, [1, 1, 1, 1, 2]);
  });
});
