import assert from 'node:assert/strict';
import type { MessageProperties } from 'amqplib';
import type { AnyEvent } from '../../shared/events/catalog';
import { createEvent } from '../../shared/events/codec';
import type { MessageContext } from '../../shared/messaging/context';
import { DeferredError, PermanentError, TransientError } from '../../shared/errors/errors';
import { RECOVERY_FIRST_DELAY_MS } from '../../shared/messaging/recovery-backoff';
import { H } from '../../shared/messaging/retry-policy';
import { parseTraceparent } from '../../shared/observability/trace';
import { assertBrokersSawNoViolation, eventProps, FROM_RETRY_TIER, headersOf, startConsumer, xDeath } from './fakes/consumer-harness';
import { body, capturedLog, paymentDeclined, sleep, until, valueOf } from './fakes/fixtures';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** A handler's own permanent failure: its class and code travel to the dead letter. */
class CannotApplyError extends PermanentError {
  override readonly name = 'CannotApplyError';
  override readonly code = 'CANNOT_APPLY';
}

describe('Consumer (fake broker)', () => {
  afterEach(assertBrokersSawNoViolation);

  it('without a channel of its own to look on, declares its whole topology, then consumes with manual acks under its prefetch', async () => {
    const { broker } = await startConsumer({});
    assert.equal(broker.calls[0], 'assertExchange test.events topic');
    assert.ok(broker.calls.includes('assertExchange q.failures direct'));
    assert.ok(broker.calls.includes('bindQueue q test.events payment.#'));
    assert.ok(broker.calls.includes('assertQueue q.retry.10 ttl=10'));
    assert.ok(broker.calls.includes('bindQueue q.dlq q.failures dlq'));
    assert.deepEqual(broker.calls.slice(-2), ['prefetch 4', 'consume q'], 'consumes only once the topology is in place, never with noAck');
  });

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

  it('on stop, cancels its broker consumer, lets the running handler finish, acks it, then closes its channel', async () => {
    let release!: () => void;
    const { consumer, deliver, broker, wrapper } = await startConsumer({ PaymentDeclined: () => new Promise<void>((r) => (release = r)) });
    const event = paymentDeclined();
    const msg = deliver(body(event), eventProps(event));
    assert.equal(consumer.consuming, true);
    const stopped = consumer.stop(1000);
    await until('the cancel', () => broker.calls.includes('cancel ctag-1'));
    assert.equal(consumer.consuming, false);
    assert.throws(() => deliver(body(event)), /no consumer on q/, 'the broker sends it nothing more');
    assert.equal(wrapper.closed, false, 'not closed under a running handler');
    release();
    await stopped;
    assert.equal(broker.settlement(msg), 'ack');
    assert.equal(wrapper.closed, true);
  });

  it('acks a delivery once its handler returns, and publishes nothing', async () => {
    let release!: () => void;
    const seen: string[] = [];
    const { deliver, broker, copies, metrics } = await startConsumer({
      PaymentDeclined: async (ctx) => {
        seen.push(`${ctx.event.orderId} attempt ${ctx.attempt}`);
        await new Promise<void>((r) => (release = r));
      },
    });
    const event = paymentDeclined('o-1');
    const msg = deliver(body(event), eventProps(event));
    await until('the handler', () => seen.length === 1);
    await sleep(15);
    assert.equal(broker.settlement(msg), undefined, 'not acked while the handler runs');
    release();
    await until('the ack', () => broker.settlement(msg) === 'ack');
    assert.deepEqual(seen, ['o-1 attempt 1']);
    assert.equal(copies.published.length, 0);
    assert.equal(await valueOf(metrics.consumed, { queue: 'q', event_type: 'PaymentDeclined', outcome: 'ack' }), 1);
  });

  it("acks a handler's 'duplicate' outcome and counts it as a duplicate, not as handled", async () => {
    const { deliver, broker, copies, metrics } = await startConsumer({ PaymentDeclined: async () => 'duplicate' });
    const event = paymentDeclined();
    const msg = deliver(body(event), eventProps(event));
    await until('the ack', () => broker.settlement(msg) === 'ack');
    assert.equal(copies.published.length, 0);
    assert.equal(await valueOf(metrics.consumed, { queue: 'q', event_type: 'PaymentDeclined', outcome: 'duplicate' }), 1);
    assert.equal(await valueOf(metrics.consumed, { outcome: 'ack' }), 0);
  });

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

  it('dead-letters a permanent failure at once, with the reason headers, then acks the original', async () => {
    let calls = 0;
    const { deliver, broker, copies, metrics } = await startConsumer({
      PaymentDeclined: async () => {
        calls++;
        throw new CannotApplyError('order o-1 cannot be declined twice');
      },
    });
    const event = paymentDeclined('o-1');
    const content = body(event);
    const msg = deliver(content, {
      ...eventProps(event),
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    });
    await until('the ack', () => broker.settlement(msg) === 'ack');
    assert.equal(calls, 1, 'a permanent failure is not retried');
    assert.equal(copies.published.length, 1);
    const [copy] = copies.published;
    assert.equal(copy!.exchange, 'q.failures');
    assert.equal(copy!.routingKey, 'dlq');
    assert.ok(copy!.content.equals(content), 'the body is copied byte for byte');
    assert.equal(copy!.options.messageId, event.eventId);
    const headers = headersOf(copy);
    assert.equal(headers[H.reason], 'order o-1 cannot be declined twice');
    assert.equal(headers[H.reasonCode], 'CANNOT_APPLY');
    assert.equal(headers[H.errorClass], 'CannotApplyError');
    assert.equal(headers[H.attempt], 1);
    assert.equal(headers[H.queue], 'q');
    assert.equal(headers[H.service], 'payment');
    assert.equal(headers[H.originalExchange], 'test.events');
    assert.equal(headers[H.originalRoutingKey], 'payment.declined');
    assert.equal(headers[H.correlationId], 'o-1');
    for (const key of [H.deadLetteredAt, H.firstFailureAt, H.lastFailureAt]) assert.match(String(headers[key]), ISO, key);
    assert.equal(headers['traceparent'], '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'its own headers travel with it');
    assert.equal(await valueOf(metrics.deadLettered, { reason_code: 'CANNOT_APPLY' }), 1);
    assert.equal(await valueOf(metrics.consumed, { outcome: 'dead_letter' }), 1);
  });

  it('takes a transient failure through every retry tier with a growing attempt, then dead-letters it as RETRIES_EXHAUSTED', async () => {
    const attempts: number[] = [];
    const { deliver, returnFromTier, broker, copies } = await startConsumer({
      PaymentDeclined: async (ctx) => {
        attempts.push(ctx.attempt);
        throw new TransientError('gateway answered 503');
      },
    });
    const event = paymentDeclined('o-2');
    const first = deliver(body(event), eventProps(event));
    await until('the first retry copy', () => copies.published.length === 1);
    const second = returnFromTier(copies.published[0]!);
    await until('the second retry copy', () => copies.published.length === 2);
    const third = returnFromTier(copies.published[1]!);
    await until('the dead-letter copy', () => copies.published.length === 3);
    await until('every original acked', () => [first, second, third].every((m) => broker.settlement(m) === 'ack'));
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.deepEqual(
      copies.published.map((c) => `${c.exchange}/${c.routingKey}`),
      ['q.failures/retry.10', 'q.failures/retry.20', 'q.failures/dlq'],
    );
    assert.deepEqual(
      copies.published.map((c) => headersOf(c)[H.attempt]),
      [2, 3, 3],
    );
    const [retry1, retry2, dead] = copies.published.map(headersOf);
    assert.equal(retry1![H.reasonCode], undefined, 'a retry copy carries no dead-letter reason');
    assert.equal(retry2![H.firstFailureAt], retry1![H.firstFailureAt], 'the first failure is remembered across tiers');
    assert.equal(dead![H.originalRoutingKey], 'payment.declined', 'the original route survives the trip through the tiers');
    assert.equal(dead![H.reasonCode], 'RETRIES_EXHAUSTED');
    assert.equal(dead![H.errorClass], 'TransientError');
    assert.equal(dead![H.reason], 'gateway answered 503');
  });

  it('never copies the headers the broker set (x-death, x-first-death-*, x-last-death-*, x-delivery-count, x-acquired-count)', async () => {
    const { deliver, copies } = await startConsumer({
      PaymentDeclined: async (ctx) => {
        throw ctx.event.orderId === 'o-retry' ? new TransientError('later') : new CannotApplyError('never');
      },
    });
    const brokerHeaders = {
      'x-death': [xDeath(10)],
      'x-first-death-queue': 'q',
      'x-first-death-reason': 'expired',
      'x-last-death-queue': 'q.retry.10',
      'x-delivery-count': 3,
      // RabbitMQ 4.3's count of every hand-out of the message.
      'x-acquired-count': 4,
    };
    for (const orderId of ['o-retry', 'o-dead']) {
      const event = paymentDeclined(orderId);
      deliver(body(event), { ...eventProps(event), headers: { ...brokerHeaders, 'x-tenant': 'kept' } });
    }
    await until('both copies', () => copies.published.length === 2);
    for (const copy of copies.published) {
      const headers = headersOf(copy);
      assert.deepEqual(
        Object.keys(headers).filter((k) => k in brokerHeaders),
        [],
        copy.routingKey,
      );
      assert.equal(headers['x-tenant'], 'kept');
    }
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

  it('acks the original only after the broker confirmed its copy', async () => {
    const { deliver, broker, copies } = await startConsumer({ PaymentDeclined: async () => Promise.reject(new CannotApplyError('no')) });
    copies.confirm = 'never';
    const event = paymentDeclined();
    const msg = deliver(body(event), eventProps(event));
    await until('the copy', () => copies.published.length === 1);
    await sleep(20);
    assert.equal(broker.settlement(msg), undefined, 'no ack while the copy is unconfirmed');
    copies.published[0]!.settle('ack');
    await until('the ack', () => broker.settlement(msg) === 'ack');
  });

  it('hands the original back to the broker (requeue, after a pause) when its copy is nacked, returned or never confirmed', async () => {
    const { log, lines } = capturedLog();
    const { deliver, broker, copies } = await startConsumer(
      { PaymentDeclined: async () => Promise.reject(new CannotApplyError('no')) },
      { confirmTimeoutMs: 50, log },
    );
    const outcomes = { 'o-nack': 'nack', 'o-return': 'return', 'o-late': 'never' } as const;
    copies.confirm = (p) => outcomes[JSON.parse(p.content.toString()).orderId as keyof typeof outcomes];
    const msgs = Object.keys(outcomes).map((orderId) => deliver(body(paymentDeclined(orderId))));
    await until('three copies', () => copies.published.length === 3);
    await sleep(300);
    assert.deepEqual(
      msgs.map((m) => broker.settlement(m)),
      [undefined, undefined, undefined],
      'not requeued at once: a broker refusing copies is not hammered',
    );
    await until('three requeues', () => msgs.every((m) => broker.settlement(m) === 'requeue'), 2000);
    assert.deepEqual(
      broker.frames.filter((f) => f.startsWith('ack')),
      [],
      'never acked',
    );
    const couldNotRoute = lines.filter((l) => l['msg'] === 'could not route failed message; requeueing');
    assert.deepEqual(couldNotRoute.map((l) => [l['level'], l['orderId']]).sort(), [
      ['error', 'o-late'],
      ['error', 'o-nack'],
      ['error', 'o-return'],
    ]);
    assert.match(String(couldNotRoute.find((l) => l['orderId'] === 'o-nack')?.['err']), /nacked/);
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

  it('counts a failed event under its own event type', async () => {
    const { deliver, broker, metrics } = await startConsumer({ PaymentDeclined: async () => Promise.reject(new CannotApplyError('no')) });
    const event = paymentDeclined();
    const msg = deliver(body(event), eventProps(event));
    await until('the ack', () => broker.settlement(msg) === 'ack');
    assert.equal(await valueOf(metrics.consumed, { event_type: 'PaymentDeclined', outcome: 'dead_letter' }), 1);
    assert.equal(await valueOf(metrics.deadLettered, { event_type: 'PaymentDeclined', reason_code: 'CANNOT_APPLY' }), 1);
  });

  it('is ready while it consumes, and not while the broker has cancelled it nor once stopped', async () => {
    const { consumer, broker } = await startConsumer({});
    assert.equal(consumer.isReady, true);
    broker.cancelByBroker('q');
    assert.equal(consumer.isReady, false);
    await until('the new subscription', () => consumer.consuming, 2000);
    await consumer.stop(100);
    assert.equal(consumer.isReady, false);
  });

  it('counts its running handlers, and on stop waits for them no longer than its timeout, warning of those it leaves', async () => {
    const { log, lines } = capturedLog();
    const warnings = () => lines.filter((l) => l['level'] === 'warn').map((l) => l['inFlight']);
    let release: (() => void) | undefined;
    const first = await startConsumer({ PaymentDeclined: () => new Promise<void>((r) => (release = r)) }, { log });
    const inFlight = () => valueOf(first.metrics.inFlight, { queue: 'q' });
    const quick = first.deliver(body(paymentDeclined()));
    await until('the handler', () => release !== undefined);
    assert.equal(await inFlight(), 1);
    setTimeout(() => release!(), 30);
    let started = Date.now();
    await first.consumer.stop(1000);
    assert.ok(Date.now() - started < 500, 'stopped once the handler was done, not at the timeout');
    assert.equal(first.broker.settlement(quick), 'ack');
    assert.equal(await inFlight(), 0);
    assert.equal(first.wrapper.closed, true);
    assert.deepEqual(warnings(), [], 'nothing left behind');

    let running = false;
    const second = await startConsumer(
      {
        PaymentDeclined: () => {
          running = true;
          return new Promise<void>(() => undefined);
        },
      },
      { log },
    );
    const stuck = second.deliver(body(paymentDeclined()));
    await until('the stuck handler', () => running);
    started = Date.now();
    await second.consumer.stop(60);
    const waited = Date.now() - started;
    assert.ok(waited >= 50 && waited < 1000, `gave up after ${waited} ms`);
    assert.equal(second.broker.settlement(stuck), undefined, 'left to the broker to redeliver');
    assert.equal(second.wrapper.closed, true);
    assert.deepEqual(warnings(), [1]);
  });

  it('does not recover a channel lost while it drains: stopping is final', async () => {
    const { consumer, deliver, broker, amqp } = await startConsumer({ PaymentDeclined: () => sleep(RECOVERY_FIRST_DELAY_MS * 3) });
    deliver(body(paymentDeclined()));
    const stopped = consumer.stop(2000);
    await until('the cancel', () => broker.calls.includes('cancel ctag-1'));
    broker.closeByBroker();
    await stopped;
    assert.equal(amqp.channel('consumer:q'), broker, 'no channel opened to subscribe again');
  });

  it('with no retry tiers, hands a deferral back to the queue after a pause, unspent, and counts it as deferred', async () => {
    const { deliver, broker, copies, metrics } = await startConsumer(
      { PaymentDeclined: async () => Promise.reject(new DeferredError('claim held elsewhere', 200, 60_000)) },
      { topology: { exchange: 'test.events', queues: [{ name: 'q', bindings: ['payment.#'] }], retryDelaysMs: [], queueType: 'quorum' } },
    );
    const msg = deliver(body(paymentDeclined()));
    await sleep(50);
    assert.equal(broker.settlement(msg), undefined, 'not handed back at once');
    await until('the requeue', () => broker.settlement(msg) === 'requeue', 2000);
    assert.equal(copies.published.length, 0, 'no copy: it waits in its own queue');
    assert.equal(await valueOf(metrics.consumed, { event_type: 'PaymentDeclined', outcome: 'deferred' }), 1);
  });

  it("copies the original's own properties onto its failure copies, and names a copy by its event when the message had no id", async () => {
    const { deliver, copies } = await startConsumer({ PaymentDeclined: async () => Promise.reject(new TransientError('down')) });
    const event = paymentDeclined();
    const own = {
      type: 'PaymentDeclined',
      correlationId: 'o-1',
      timestamp: 1_767_225_600,
      contentType: 'application/cloudevents+json',
      appId: 'payment',
    };
    deliver(body(event), { ...own, messageId: 'm-own' });
    deliver(body(event), own);
    await until('both copies', () => copies.published.length === 2);
    const [withId, withoutId] = copies.published.map((c) => c.options);
    for (const options of [withId!, withoutId!]) {
      assert.deepEqual(
        {
          type: options.type,
          correlationId: options.correlationId,
          timestamp: options.timestamp,
          contentType: options.contentType,
          appId: options.appId,
        },
        own,
      );
    }
    assert.equal(withId!.messageId, 'm-own');
    assert.equal(withoutId!.messageId, event.eventId);
  });

  it('counts retries, deferrals and dead letters each under its own outcome, and dates only a deferral', async () => {
    const failures: Record<string, Error> = {
      'o-retry': new TransientError('down'),
      'o-deferred': new DeferredError('claim held elsewhere', 15, 60_000),
      'o-dead': new CannotApplyError('no'),
    };
    const { deliver, broker, copies, metrics } = await startConsumer({
      PaymentDeclined: async (ctx) => Promise.reject(failures[ctx.event.orderId]),
    });
    const msgs = Object.keys(failures).map((orderId) => deliver(body(paymentDeclined(orderId))));
    await until('every ack', () => msgs.every((m) => broker.settlement(m) === 'ack'));
    const counted = async (outcome: string) => valueOf(metrics.consumed, { event_type: 'PaymentDeclined', outcome });
    assert.deepEqual([await counted('retry'), await counted('deferred'), await counted('dead_letter')], [1, 1, 1]);
    assert.equal(await valueOf(metrics.deadLettered, { event_type: 'PaymentDeclined', reason_code: 'CANNOT_APPLY' }), 1);
    assert.equal((await metrics.deadLettered.get()).values.length, 1, 'only the dead letter is counted as one');
    const deferredSince = Object.fromEntries(
      copies.published.map((c) => [JSON.parse(c.content.toString()).orderId as string, headersOf(c)[H.deferredSince]]),
    );
    assert.match(String(deferredSince['o-deferred']), /^\d{4}-\d\d-\d\dT/);
    assert.equal(deferredSince['o-retry'], undefined);
    assert.equal(deferredSince['o-dead'], undefined);
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
