import assert from 'node:assert/strict';
import type { ConfirmChannel } from 'amqplib';
import { register } from 'tsx/esm/api';
import { PublishError } from '../../shared/errors/errors';
import { Publisher } from '../../shared/messaging/publisher';
import { RECOVERY_FIRST_DELAY_MS } from '../../shared/messaging/recovery-backoff';
import { MissingTopology } from '../../shared/messaging/topology-check';
import { parseTraceparent } from '../../shared/observability/trace';
import { startTracing, stopTracing } from '../../shared/observability/tracing';
import { FakeChannel } from './fakes/fake-channel';
import { FakeConnectionManager } from './fakes/fake-connection-manager';
import { publisherWith, PUBLISHER_TOPOLOGY as topology } from './fakes/publisher-harness';
import { capturedLog, paymentDeclined, sleep, testMetrics, until } from './fakes/fixtures';

// What an operator reads in a failed publish, what a consumer of the message receives, and what the confirm
// deadlines cost while publishes wait: the edges the other publisher-*.spec.ts leave open
// (docs/mutation/messaging-delivery.md).

const bytes = (n: number) => Buffer.alloc(n, 'x');
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
const failure = (promise: Promise<void>) =>
  promise.then(
    () => assert.fail('the publish resolved'),
    (e: unknown) => {
      assert.ok(e instanceof PublishError, String(e));
      return e;
    },
  );

describe('Publisher: what a failure says, and what waiting costs (fake broker)', () => {
  it('names the exchange and routing key an unroutable publish went to, the default exchange as "(default)"', async () => {
    const { publisher, broker } = await publisherWith();
    broker.confirm = 'return';
    const named = await failure(publisher.publish('test.events', 'nowhere', bytes(3), { messageId: 'm-1' }));
    assert.equal(named.outcome, 'returned');
    assert.equal(named.message, 'unroutable: no queue bound for test.events/nowhere');
    const byQueue = await failure(publisher.publish('', 'no-such-queue', bytes(3), { messageId: 'm-2' }));
    assert.equal(byQueue.message, 'unroutable: no queue bound for (default)/no-such-queue');
  });

  it('names the exchange, routing key and the broker\'s reason of a nacked publish, the default exchange as "(default)"', async () => {
    const { publisher, broker } = await publisherWith();
    broker.confirm = 'nack';
    const named = await failure(publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' }));
    assert.equal(named.message, 'publish to test.events/k nacked: message nacked');
    const byQueue = await failure(publisher.publish('', 'q', bytes(3), { messageId: 'm-2' }));
    assert.equal(byQueue.message, 'publish to (default)/q nacked: message nacked');
  });

  it('re-publishes a message whose confirms keep being lost to closed channels only until its deadline, then fails it as a timeout', async () => {
    const { publisher, broker } = await publisherWith({ timeoutMs: 60 });
    const sentAt: number[] = [];
    broker.confirm = () => (sentAt.push(Date.now()), 'closed');
    const publishing = publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' });
    const deadline = Date.now() + 60; // the publisher's own deadline is at most this
    const error = await failure(publishing);
    assert.equal(error.outcome, 'timeout', error.message);
    assert.ok(sentAt.length >= 1);
    assert.ok(
      sentAt.every((t) => t <= deadline),
      'no copy goes out once its deadline has passed (the caller is told it failed)',
    );
    const sent = broker.published.length;
    await sleep(50);
    assert.equal(broker.published.length, sent, 'nor after it failed');
    assert.equal(publisher.depth, 0);
  });

  it('publishes an event without a headers table when it has no headers', async () => {
    const { publisher, broker } = await publisherWith();
    await publisher.publishEvent(paymentDeclined());
    assert.equal(broker.published[0]!.options.headers, undefined);
  });

  it('with tracing on, still publishes, under a span of its own in the trace the caller named', async () => {
    const { publisher, broker } = await publisherWith();
    // startTracing imports the SDK as `./tracing-sdk.js` (the build's name): tsx's ESM hooks find the .ts under mocha.
    const unregister = register();
    // Never sampled: no span is exported (no collector is asked), but each publish still gets its own span id.
    await startTracing(
      { tracesUrl: 'http://127.0.0.1:9/v1/traces', headers: {}, resourceAttributes: {}, sampler: 'always_off', samplerRatio: 1 },
      'test',
    );
    try {
      const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      await publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1', headers: { traceparent: parent } });
      assert.equal(broker.published.length, 1);
      const sent = parseTraceparent(broker.published[0]!.options.headers?.['traceparent']);
      assert.equal(sent?.traceId, '0af7651916cd43dd8448eb211c80319c');
      assert.notEqual(sent?.spanId, 'b7ad6b7169203331', 'the publish is a child span, not the caller’s');
    } finally {
      await stopTracing();
      await unregister();
    }
  });

  it('measures a confirm as the time it took, never more', async () => {
    const { publisher, broker, metrics } = await publisherWith();
    broker.confirm = 'never';
    const started = performance.now();
    const publishing = publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' });
    await until('the publish', () => broker.published.length === 1);
    await sleep(20);
    broker.published[0]!.settle('ack');
    await publishing;
    const took = (performance.now() - started) / 1000;
    const { values } = await metrics.publishConfirmSeconds.get();
    const sum = values.find((v) => v.metricName?.endsWith('_sum') && v.labels['routing_key'] === 'k')?.value ?? -1;
    assert.ok(sum >= 0.015 && sum <= took, `a confirm within ${took} s measured as ${sum} s`);
  });

  it('logs a returned message as a warning naming its routing key and id, and a channel error with its reason', async () => {
    const { log, lines } = capturedLog();
    const { publisher, broker, wrapper } = await publisherWith({ log });
    broker.confirm = 'return';
    await failure(publisher.publish('test.events', 'nowhere', bytes(3), { messageId: 'lost-1' }));
    wrapper.emit('error', new Error('setup refused: 403'));
    const seen = lines.map(({ level, msg, routingKey, messageId, err }) => ({ level, msg, routingKey, messageId, err }));
    assert.deepEqual(seen, [
      { level: 'warn', msg: 'message returned unroutable', routingKey: 'nowhere', messageId: 'lost-1', err: undefined },
      { level: 'error', msg: 'publisher channel error', routingKey: undefined, messageId: undefined, err: 'setup refused: 403' },
    ]);
  });

  it('while the manager’s queue still holds publishes, queues a new one behind them rather than overtaking them', async () => {
    const { publisher, broker, wrapper } = await publisherWith();
    wrapper.queueLength = () => 1; // e.g. written before a drain, or just after a reconnect
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'behind' });
    assert.equal(wrapper.queued, 1);
    assert.equal(broker.published.length, 1);
  });

  it('keeps publishing straight onto a new channel when the old one reports its close late, and asks for no reconnect', async () => {
    const { publisher, broker, wrapper, amqp } = await publisherWith();
    const next = new FakeChannel();
    const setup = wrapper.options.setup as (channel: ConfirmChannel) => Promise<void>;
    await setup(next as unknown as ConfirmChannel); // the reconnect's channel
    broker.emit('close'); // the old channel's close, after the new one is up
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'on-the-new-channel' });
    assert.equal(wrapper.queued, 0, 'not sent back through the manager');
    assert.deepEqual(
      next.published.map((p) => p.options.messageId),
      ['on-the-new-channel'],
    );
    await sleep(RECOVERY_FIRST_DELAY_MS + 50);
    assert.equal(amqp.reconnects, 0, 'the new channel is open: nothing to reconnect for');
    await publisher.close(100);
  });

  it('asks for one reconnect however many closes come before it, says so, and never holds the process open meanwhile', async () => {
    const { log, lines } = capturedLog();
    const { publisher, broker, amqp } = await publisherWith({ log });
    await new Promise(setImmediate); // mocha arms its own test timer after the test starts
    const before = timers();
    broker.closeByBroker();
    broker.closeByBroker();
    assert.equal(timers(), before, 'the wait before reconnecting is unref’d');
    await until('a reconnect', () => amqp.reconnects === 1, 2000);
    await sleep(50);
    assert.equal(amqp.reconnects, 1);
    const asked = lines.filter((l) => l['msg'] === 'publisher channel closed by the broker; reconnecting');
    assert.deepEqual(
      asked.map((l) => [l['level'], l['reopens']]),
      [['warn', 1]],
    );
    await publisher.close(100);
  });

  it('asks for no reconnect once it is closing, even when the broker closed its channel just before', async () => {
    const { publisher, broker, amqp } = await publisherWith();
    broker.closeByBroker();
    await publisher.close(100);
    await sleep(RECOVERY_FIRST_DELAY_MS + 50);
    assert.equal(amqp.reconnects, 0);
  });

  it('reports topology it could not declare under its own name, logs it, and still opens its channel', async () => {
    const { log, lines } = capturedLog();
    const amqp = new FakeConnectionManager();
    amqp.refuse = new Error('ACCESS_REFUSED - configure access to queue q refused');
    const missing = new MissingTopology();
    const owners: string[] = [];
    const record = missing.record.bind(missing);
    missing.record = (owner, ...rest) => (owners.push(owner), record(owner, ...rest));
    const publisher = new Publisher(amqp.manager, {
      exchange: 'test.events',
      topology,
      look: { missing },
      timeoutMs: 2000,
      bufferLimit: 100,
      bufferBytes: 1 << 20,
      appId: 'test-app',
      log,
      metrics: testMetrics(),
    });
    await publisher.ready();
    assert.deepEqual(owners, ['publisher']);
    assert.ok(missing.list().length > 0, 'what is missing is reported');
    const warned = lines.find((l) => l['msg'] === 'publisher topology check');
    assert.equal(warned?.['level'], 'warn');
    assert.match(String(warned?.['err']), /q/);
    await publisher.close(100);
  });

  it('leaves no timer behind for a publish amqplib refused outright', async () => {
    const { publisher, broker } = await publisherWith({ timeoutMs: 60_000 });
    await new Promise(setImmediate);
    const before = timers();
    broker.refusePublish = new TypeError('header value cannot be encoded');
    assert.equal((await failure(publisher.publish('test.events', 'k', bytes(3), { messageId: 'bad' }))).outcome, 'nacked');
    assert.equal(timers(), before);
  });

  describe('confirm deadlines: one timer, asleep until the earliest', () => {
    it('does not wake before a waiting publish’s deadline', async () => {
      const { publisher, broker } = await publisherWith({ timeoutMs: 60_000 });
      broker.confirm = 'never';
      const real = globalThis.setTimeout;
      let armed = 0;
      // Only the publisher's own (confirm-deadlines.ts): a timer another spec left behind may fire and re-arm meanwhile.
      globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
        if (new Error().stack?.split('\n')[2]?.includes('confirm-deadlines.ts')) armed++; // the publisher's deadline timer
        return real(...args);
      }) as typeof setTimeout;
      let publishing: Promise<void>;
      try {
        publishing = publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' });
        await new Promise((resolve) => real(resolve, 40));
      } finally {
        globalThis.setTimeout = real;
      }
      assert.equal(armed, 1, 'one timer for the deadline, not a poll');
      broker.published[0]!.settle('ack');
      await publishing;
    });

    it('leaves no timer behind after a publish timed out and the next one was confirmed', async () => {
      const { publisher, broker } = await publisherWith({ timeoutMs: 40 });
      await new Promise(setImmediate); // mocha arms its own test timer after the test starts
      const before = timers();
      broker.confirm = 'never';
      assert.equal((await failure(publisher.publish('test.events', 'k', bytes(1), { messageId: 'late' }))).outcome, 'timeout');
      broker.confirm = 'ack';
      await publisher.publish('test.events', 'k', bytes(1), { messageId: 'on-time' });
      assert.equal(timers(), before);
    });

    it('leaves no timer behind when a re-published message’s earlier deadline overtook a later publish’s', async () => {
      const { publisher, broker } = await publisherWith({ timeoutMs: 60_000 });
      await new Promise(setImmediate);
      const before = timers();
      let first = 0;
      broker.confirm = (p) => (p.options.messageId === 'first' ? (++first === 1 ? 'closed' : 'ack') : 'never');
      const firstDone = publisher.publish('test.events', 'k', bytes(1), { messageId: 'first' });
      await until('the first publish', () => broker.published.length === 1);
      await sleep(5); // its confirm lost: it waits to go again, keeping its deadline
      const second = publisher.publish('test.events', 'k', bytes(1), { messageId: 'second' });
      await firstDone; // re-published with the earlier deadline, and confirmed
      broker.published.find((p) => p.options.messageId === 'second')!.settle('ack');
      await second;
      assert.equal(timers(), before);
    });
  });
});
