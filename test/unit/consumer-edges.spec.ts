import assert from 'node:assert/strict';
import type { MessageProperties } from 'amqplib';
import { register } from 'tsx/esm/api';
import { DeferredError, PermanentError, TransientError } from '../../shared/errors/errors';
import { createEvent } from '../../shared/events/codec';
import { ClaimHeldError } from '../../shared/idempotency/claims';
import { compose } from '../../shared/messaging/context';
import { idempotencyMiddleware } from '../../shared/messaging/middleware/idempotency';
import { loggingMiddleware } from '../../shared/messaging/middleware/logging';
import { timeoutMiddleware } from '../../shared/messaging/middleware/timeout';
import { describeFailure, H } from '../../shared/messaging/retry-policy';
import { parseTraceparent } from '../../shared/observability/trace';
import { startTracing, stopTracing } from '../../shared/observability/tracing';
import { assertBrokersSawNoViolation, eventProps, headersOf, startConsumer } from './fakes/consumer-harness';
import { body, capturedLog, contextFor, paymentDeclined, sleep, until } from './fakes/fixtures';
import { MemoryClaimStore } from './fakes/memory-claim-store';

// What an operator reads of a failed delivery (the dead letter's reason, the log line of each outcome), the
// delivery path with tracing on, and the middleware's own edges: what the other consumer-*.spec.ts and the middleware specs
// leave open (docs/mutation/messaging-delivery.md).

class CannotApplyError extends PermanentError {
  override readonly name = 'CannotApplyError';
  override readonly code = 'CANNOT_APPLY';
}

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
const fields = (line: Record<string, unknown> | undefined, ...names: string[]) =>
  Object.fromEntries(names.map((name) => [name, line?.[name]]));

describe('Consumer: what a failed delivery tells the operator (fake broker)', () => {
  afterEach(assertBrokersSawNoViolation);

  const unreadable: [string, Buffer, Partial<MessageProperties>, RegExp][] = [
    ['a body over maxBodyBytes', Buffer.alloc(1025, 32), {}, /^body of 1025 bytes is over the 1024-byte limit$/],
    [
      'a declared content type that is not JSON',
      body(paymentDeclined()),
      { contentType: 'text/plain' },
      /^content type "text\/plain" is not application\/json$/,
    ],
    ['a body that is not JSON', Buffer.from('{"eventType'), {}, /^body is not valid JSON: \S.*/],
    [
      'an event this queue has no handler for',
      body(createEvent('InventoryReleased', { orderId: 'o-9', items: [{ productId: 'P', quantity: 1 }] }, { correlationId: 'o-9' })),
      {},
      /^queue q has no handler for InventoryReleased$/,
    ],
  ];
  for (const [what, content, props, reason] of unreadable) {
    it(`says why it dead-lettered ${what}`, async () => {
      const { deliver, broker, copies } = await startConsumer({ PaymentDeclined: async () => undefined }, { maxBodyBytes: 1024 });
      const msg = deliver(content, props);
      await until('the ack', () => broker.settlement(msg) === 'ack');
      assert.match(String(headersOf(copies.published[0])[H.reason]), reason);
    });
  }

  it('logs each outcome of a failure at its level, with what an operator needs to follow it', async () => {
    const { log, lines } = capturedLog();
    const failures: Record<string, Error> = {
      'o-retry': new TransientError('gateway down'),
      'o-deferred': new ClaimHeldError('event e is being handled elsewhere', 15, 60_000),
      'o-dead': new CannotApplyError('no such order'),
    };
    const { deliver, broker } = await startConsumer(
      { PaymentDeclined: async (ctx) => Promise.reject(failures[ctx.event.orderId]) },
      { log },
    );
    const msgs = Object.keys(failures).map((orderId) => deliver(body(paymentDeclined(orderId))));
    await until('every ack', () => msgs.every((m) => broker.settlement(m) === 'ack'));
    const of = (orderId: string) => lines.find((l) => l['orderId'] === orderId && l['level'] !== 'debug');
    assert.deepEqual(fields(of('o-retry'), 'level', 'msg', 'attempt', 'delayMs', 'errorClass', 'reason'), {
      level: 'warn',
      msg: 'handler failed; retry scheduled',
      attempt: 1,
      delayMs: 10,
      errorClass: 'TransientError',
      reason: 'gateway down',
    });
    assert.deepEqual(fields(of('o-deferred'), 'level', 'msg', 'attempt', 'delayMs', 'reason'), {
      level: 'info',
      msg: 'deferred: claim held elsewhere; retry scheduled',
      attempt: 1,
      delayMs: 10,
      reason: 'event e is being handled elsewhere',
    });
    assert.deepEqual(fields(of('o-dead'), 'level', 'msg', 'attempt', 'errorClass', 'reason', 'reasonCode'), {
      level: 'error',
      msg: 'message dead-lettered',
      attempt: 1,
      errorClass: 'CannotApplyError',
      reason: 'no such order',
      reasonCode: 'CANNOT_APPLY',
    });
  });

  it('with no retry tiers, logs a deferral it hands back to the queue (at debug)', async () => {
    const { log, lines } = capturedLog();
    const { deliver, broker } = await startConsumer(
      { PaymentDeclined: async () => Promise.reject(new DeferredError('claim held elsewhere', 5, 60_000)) },
      {
        log,
        topology: { exchange: 'test.events', queues: [{ name: 'q', bindings: ['payment.#'] }], retryDelaysMs: [], queueType: 'quorum' },
      },
    );
    const msg = deliver(body(paymentDeclined('o-wait')));
    await until('the requeue', () => broker.settlement(msg) === 'requeue');
    const line = lines.find((l) => l['orderId'] === 'o-wait');
    assert.deepEqual(fields(line, 'level', 'msg', 'attempt', 'delayMs', 'reason'), {
      level: 'debug',
      msg: 'deferred; requeueing',
      attempt: 1,
      delayMs: 5,
      reason: 'claim held elsewhere',
    });
  });

  it('keeps a header of its own that merely contains a broker header’s name on a failure copy', async () => {
    const { deliver, copies } = await startConsumer({ PaymentDeclined: async () => Promise.reject(new TransientError('down')) });
    const own = { 'app-x-death-note': 'kept', 'x-delivery-count': 3 };
    deliver(body(paymentDeclined()), { headers: own });
    await until('the copy', () => copies.published.length === 1);
    assert.equal(headersOf(copies.published[0])['app-x-death-note'], 'kept');
    assert.equal(headersOf(copies.published[0])['x-delivery-count'], undefined);
  });

  it('puts a multi-line failure into one reason line with single spaces', () => {
    assert.equal(
      describeFailure(new Error('payment gateway said:\n\n    503   unavailable')).reason,
      'payment gateway said: 503 unavailable',
    );
  });

  it('with tracing on, handles a delivery under a span of the tracer’s own, in the trace it came with', async () => {
    const unregister = register(); // startTracing imports `./tracing-sdk.js`: tsx's ESM hooks find the .ts under mocha
    // Never sampled: nothing is exported, and the tracer's decision (not sampled) is what travels on.
    await startTracing(
      { tracesUrl: 'http://127.0.0.1:9/v1/traces', headers: {}, resourceAttributes: {}, sampler: 'always_off', samplerRatio: 1 },
      'test',
    );
    try {
      let seen: string | undefined;
      const { deliver, broker } = await startConsumer({ PaymentDeclined: async (ctx) => void (seen = ctx.traceparent) });
      const event = paymentDeclined();
      const msg = deliver(body(event), {
        ...eventProps(event),
        headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      });
      await until('the ack', () => broker.settlement(msg) === 'ack');
      const span = parseTraceparent(seen);
      assert.equal(span?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
      assert.notEqual(span?.spanId, '00f067aa0ba902b7');
      assert.equal(span?.flags, '00', 'the tracer decided: not sampled');
    } finally {
      await stopTracing();
      await unregister();
    }
  });

  it('on stop, says why it leaves a running handler to be redelivered', async () => {
    const { log, lines } = capturedLog();
    let running = false;
    const { consumer, deliver } = await startConsumer(
      {
        PaymentDeclined: () => {
          running = true;
          return new Promise<void>(() => undefined);
        },
      },
      { log },
    );
    deliver(body(paymentDeclined()));
    await until('the handler', () => running);
    await consumer.stop(20);
    assert.deepEqual(
      fields(
        lines.find((l) => l['level'] === 'warn'),
        'msg',
        'inFlight',
      ),
      {
        msg: 'shutdown deadline passed with handlers in flight; they will be redelivered',
        inFlight: 1,
      },
    );
  });

  it('with a kill switch, resumes after a probe that found the queue empty, and says so', async () => {
    const { log, lines } = capturedLog();
    const { deliver, broker, consumer } = await startConsumer(
      { PaymentDeclined: async () => Promise.reject(new TransientError('down')) },
      { log, killSwitch: { threshold: 1, windowMs: 60_000, cooldownMs: 5 } },
    );
    deliver(body(paymentDeclined()));
    const resumed = () => lines.find((l) => l['msg'] === 'kill switch probe passed; consumer resumed');
    await until('the probe', () => resumed() !== undefined);
    assert.equal(resumed()?.['probe'], 'empty');
    assert.ok(broker.calls.includes('get q'));
    await until('consuming again', () => consumer.consuming);
    await consumer.stop(100);
  });
});

describe('middleware edges', () => {
  it('defers a delivery whose claim is held elsewhere, naming the claim: its step, order, event and a short digest', async () => {
    const claims = new MemoryClaimStore();
    const event = paymentDeclined('o-3');
    const ctx = contextFor(event);
    const pipeline = compose([idempotencyMiddleware(claims.asClaimStore())], () => new Promise<void>(() => undefined));
    pipeline(ctx).catch(() => undefined); // never returns: holds the claim
    await until('the claim', () => claims.calls.length === 1);
    const error = await compose(
      [idempotencyMiddleware(claims.asClaimStore())],
      async () => undefined,
    )(ctx).then(
      () => assert.fail('a second copy ran'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ClaimHeldError);
    const id = `PaymentDeclined:o-3:${event.eventId}`;
    assert.match(error.message, new RegExp(`^event ${id}:[A-Za-z0-9_-]{22} is being handled elsewhere$`));
  });

  it('writes its debug lines, with the attempt, when the service logs at debug, and none at info', async () => {
    for (const [level, expected] of [
      ['debug', ['event handled', 'duplicate event acked without effect']],
      ['info', []],
    ] as const) {
      const { log, lines } = capturedLog(level);
      const ctx = { ...contextFor(paymentDeclined()), log, attempt: 2 };
      await compose([loggingMiddleware(log)], async () => undefined)(ctx);
      await compose([loggingMiddleware(log)], async () => 'duplicate')(ctx);
      assert.deepEqual(
        lines.map((l) => [l['msg'], l['attempt']]),
        expected.map((msg) => [msg, 2]),
        `at ${level}`,
      );
    }
  });

  it('handler timeout: wakes once per deadline while handlers run, not in a poll', async () => {
    const pipeline = compose([timeoutMiddleware(40)], () => sleep(500));
    const real = globalThis.setTimeout;
    let armed = 0;
    // Only the middleware's own: the handlers' sleeps, or a timer another spec left behind, are not counted.
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      if (new Error().stack?.split('\n')[2]?.includes('middleware/timeout.ts')) armed++; // called from there
      return real(...args);
    }) as typeof setTimeout;
    const ended: Promise<unknown>[] = [];
    try {
      ended.push(pipeline(contextFor(paymentDeclined())).catch((e: unknown) => e));
      await new Promise((resolve) => real(resolve, 20));
      ended.push(pipeline(contextFor(paymentDeclined())).catch((e: unknown) => e));
      await Promise.all(ended);
    } finally {
      globalThis.setTimeout = real;
    }
    // The first deadline's timer and one re-arm for the second deadline (none if the first timer came so late that
    // both were due).
    assert.ok(armed >= 1 && armed <= 2, `${armed} timers armed`);
  });

  it('handler timeout: leaves no timer behind once a handler timed out and the next one returned', async () => {
    await new Promise(setImmediate); // mocha arms its own test timer after the test starts
    const before = timers();
    const pipeline = compose([timeoutMiddleware(30)], (ctx) =>
      ctx.event.orderId === 'slow' ? new Promise<void>(() => undefined) : sleep(1),
    );
    await pipeline(contextFor(paymentDeclined('slow'))).catch(() => undefined);
    await pipeline(contextFor(paymentDeclined('quick')));
    assert.equal(timers(), before);
  });
});
