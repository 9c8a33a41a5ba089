import assert from 'node:assert/strict';
import { routingKeyOf, type AnyEvent } from '../../shared/events/catalog';
import { PublishError } from '../../shared/errors/errors';
import { RECOVERY_FIRST_DELAY_MS } from '../../shared/messaging/recovery-backoff';
import { publisherWith } from './fakes/publisher-harness';
import { capturedLog, paymentDeclined, sleep, until, valueOf } from './fakes/fixtures';

const bytes = (n: number) => Buffer.alloc(n, 'x');
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
const isPublishError = (outcome: PublishError['outcome'], message?: RegExp) => (e: unknown) =>
  e instanceof PublishError && e.outcome === outcome && (!message || message.test(e.message));

/** Settles and records a publish's outcome without an unhandled rejection while the test looks elsewhere. */
function watch(promise: Promise<void>) {
  const state = { outcome: 'pending' as string };
  void promise.then(
    () => (state.outcome = 'resolved'),
    (e: PublishError) => (state.outcome = e.outcome),
  );
  return state;
}

describe('Publisher (fake broker)', () => {
  it('declares the topology and listens for returns when its channel is set up', async () => {
    const { broker } = await publisherWith();
    assert.ok(broker.calls.includes('assertExchange test.events topic'));
    assert.ok(broker.calls.includes('bindQueue q test.events #'));
    assert.equal(broker.listenerCount('return'), 1);
  });

  it('resolves only once the broker confirms, with a persistent, mandatory message', async () => {
    const { publisher, broker, metrics } = await publisherWith();
    broker.confirm = 'never';
    const state = watch(publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1', type: 'PaymentDeclined' }));
    await until('the publish', () => broker.published.length === 1);
    await sleep(10);
    assert.equal(state.outcome, 'pending', 'no confirm, no resolve');
    assert.equal(publisher.depth, 1);
    broker.published[0]!.settle('ack');
    await until('the confirm', () => state.outcome !== 'pending');
    assert.equal(state.outcome, 'resolved');
    const { options } = broker.published[0]!;
    assert.deepEqual(
      {
        persistent: options.persistent,
        mandatory: options.mandatory,
        contentType: options.contentType,
        appId: options.appId,
        messageId: options.messageId,
      },
      { persistent: true, mandatory: true, contentType: 'application/json', appId: 'test-app', messageId: 'm-1' },
    );
    assert.equal('timeout' in options, false, 'the wrapper option is not an AMQP property');
    assert.equal(publisher.depth, 0);
    assert.equal(await valueOf(metrics.published, { outcome: 'confirmed', event_type: 'PaymentDeclined' }), 1);
  });

  it('rejects with PublishError(nacked) when the broker nacks', async () => {
    const { publisher, broker, metrics } = await publisherWith();
    broker.confirm = 'nack';
    await assert.rejects(publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' }), isPublishError('nacked', /message nacked/));
    assert.equal(await valueOf(metrics.published, { outcome: 'nacked' }), 1);
    assert.equal(publisher.depth, 0);
  });

  it('rejects with PublishError(returned) when the broker returns a mandatory message, although it confirms it', async () => {
    const { publisher, broker, metrics } = await publisherWith();
    broker.confirm = (p) => (p.options.messageId === 'lost' ? 'return' : 'ack');
    await assert.rejects(
      publisher.publish('test.events', 'nowhere', bytes(3), { messageId: 'lost' }),
      isPublishError('returned', /unroutable.*nowhere/),
    );
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'found' });
    assert.equal(await valueOf(metrics.published, { outcome: 'returned' }), 1);
    assert.equal(await valueOf(metrics.published, { outcome: 'confirmed' }), 1);
  });

  it('rejects with PublishError(timeout) when no confirm comes in time, and frees its buffer slot', async () => {
    const { publisher, broker, metrics } = await publisherWith({ timeoutMs: 30 });
    broker.confirm = 'never';
    const started = Date.now();
    await assert.rejects(publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' }), isPublishError('timeout'));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 25 && elapsed < 500, `timed out after ${elapsed} ms`);
    assert.equal(publisher.depth, 0);
    assert.equal(await valueOf(metrics.published, { outcome: 'timeout' }), 1);
    assert.equal(await valueOf(metrics.publishBuffer), 0);
  });

  it('refuses a publish past the buffer count with PublishError(buffer_full), without sending it', async () => {
    const { publisher, broker, metrics } = await publisherWith({ bufferLimit: 2 });
    broker.confirm = 'never';
    const first = watch(publisher.publish('test.events', 'k', bytes(1), { messageId: 'm-1' }));
    watch(publisher.publish('test.events', 'k', bytes(1), { messageId: 'm-2' }));
    await assert.rejects(
      publisher.publish('test.events', 'k', bytes(1), { messageId: 'm-3' }),
      isPublishError('buffer_full', /2 messages/),
    );
    await until('two publishes', () => broker.published.length === 2);
    assert.equal(await valueOf(metrics.publishBuffer), 2);
    assert.equal(await valueOf(metrics.published, { outcome: 'buffer_full' }), 1);
    broker.published[0]!.settle('ack');
    await until('the first confirm', () => first.outcome === 'resolved');
    watch(publisher.publish('test.events', 'k', bytes(1), { messageId: 'm-4' }));
    await until('a slot to free up', () => broker.published.length === 3);
    assert.deepEqual(
      broker.published.map((p) => p.options.messageId),
      ['m-1', 'm-2', 'm-4'],
    );
  });

  it('refuses a publish past the byte bound, but always lets one through when nothing is pending', async () => {
    const { publisher, broker } = await publisherWith({ bufferBytes: 100 });
    broker.confirm = 'never';
    const big = watch(publisher.publish('test.events', 'k', bytes(150), { messageId: 'big' }));
    await assert.rejects(
      publisher.publish('test.events', 'k', bytes(10), { messageId: 'small' }),
      isPublishError('buffer_full', /150 bytes/),
    );
    await until('the big publish', () => broker.published.length === 1);
    broker.published[0]!.settle('ack');
    await until('its confirm', () => big.outcome === 'resolved');
    watch(publisher.publish('test.events', 'k', bytes(60), { messageId: 'a' }));
    watch(publisher.publish('test.events', 'k', bytes(40), { messageId: 'b' }));
    await assert.rejects(publisher.publish('test.events', 'k', bytes(1), { messageId: 'c' }), isPublishError('buffer_full', /bytes/));
    assert.equal(publisher.depth, 2);
  });

  it('publishes again when a confirm is lost to a closed channel, and resolves on the next confirm', async () => {
    const { publisher, broker } = await publisherWith();
    let publishes = 0;
    broker.confirm = () => (++publishes === 1 ? 'closed' : 'ack');
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' });
    assert.deepEqual(
      broker.published.map((p) => p.options.messageId),
      ['m-1', 'm-1'],
    );
  });

  it('publishes straight onto the open channel; while its socket is full, through the manager’s queue until drain', async () => {
    const { publisher, broker, wrapper } = await publisherWith();
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'direct' });
    assert.equal(wrapper.queued, 0, 'no detour through the manager while the channel has room');
    broker.socketFull = true;
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'fills-the-socket' });
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'queued' });
    assert.equal(wrapper.queued, 1, 'past the high-water mark, the next publish waits in the manager’s queue');
    broker.socketFull = false;
    broker.emit('drain');
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'direct-again' });
    assert.equal(wrapper.queued, 1);
    assert.deepEqual(
      broker.published.map((p) => p.options.messageId),
      ['direct', 'fills-the-socket', 'queued', 'direct-again'],
    );
  });

  it('keeps publishing straight onto the channel after amqplib refuses one message it cannot encode', async () => {
    const { publisher, broker, wrapper } = await publisherWith();
    broker.refusePublish = new TypeError('header value cannot be encoded');
    await assert.rejects(publisher.publish('test.events', 'k', bytes(3), { messageId: 'bad' }), PublishError);
    broker.refusePublish = undefined;
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'good' });
    assert.equal(wrapper.queued, 0, 'one bad message does not send the rest through the manager');
    assert.deepEqual(
      broker.published.map((p) => p.options.messageId),
      ['good'],
    );
  });

  it('times each publish out at its own deadline, and ignores a confirm that comes after it', async () => {
    const { publisher, broker, metrics } = await publisherWith({ timeoutMs: 60 });
    broker.confirm = 'never';
    const first = watch(publisher.publish('test.events', 'k', bytes(1), { messageId: 'first' }));
    await sleep(40);
    const second = watch(publisher.publish('test.events', 'k', bytes(1), { messageId: 'second' }));
    await until('the first deadline', () => first.outcome !== 'pending');
    assert.equal(first.outcome, 'timeout');
    assert.equal(second.outcome, 'pending', 'the second has time left');
    broker.published[1]!.settle('ack');
    await until('the second confirm', () => second.outcome !== 'pending');
    assert.equal(second.outcome, 'resolved');
    broker.published[0]!.settle('ack'); // too late: already failed
    await sleep(10);
    assert.equal(first.outcome, 'timeout');
    assert.equal(publisher.depth, 0);
    assert.equal(await valueOf(metrics.published, { outcome: 'timeout' }), 1);
    assert.equal(await valueOf(metrics.published, { outcome: 'confirmed' }), 1);
  });

  it('publishes an event under its routing key, with properties mirroring its metadata', async () => {
    const { publisher, broker } = await publisherWith();
    const event = paymentDeclined('o-7');
    await publisher.publishEvent(event, { traceparent: 'tp' });
    const [sent] = broker.published;
    assert.equal(sent!.routingKey, routingKeyOf('PaymentDeclined'));
    assert.deepEqual(JSON.parse(sent!.content.toString()), event);
    assert.equal(sent!.options.messageId, event.eventId);
    assert.equal(sent!.options.type, 'PaymentDeclined');
    assert.equal(sent!.options.correlationId, 'o-7');
    assert.deepEqual(sent!.options.headers, { traceparent: 'tp' });
  });

  it('opens its channel in confirm mode: a plain channel would never confirm a publish', async () => {
    const { publisher, wrapper } = await publisherWith({ timeoutMs: 200 });
    assert.equal(wrapper.options.confirm, true);
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' });
  });

  it('logs an error of its channel rather than letting it end the process', async () => {
    const { log, lines } = capturedLog();
    const { wrapper } = await publisherWith({ log });
    assert.doesNotThrow(() => wrapper.emit('error', new Error('setup refused: 403')));
    assert.deepEqual(
      lines.filter((l) => l['level'] === 'error').map((l) => l['err']),
      ['setup refused: 403'],
    );
  });

  it("stamps an event's message with its timestamp in seconds, as AMQP counts them", async () => {
    const { publisher, broker } = await publisherWith();
    const event = { ...paymentDeclined(), timestamp: '2026-01-01T00:00:01.900Z' } as AnyEvent;
    await publisher.publishEvent(event);
    assert.equal(broker.published[0]!.options.timestamp, Date.parse('2026-01-01T00:00:01Z') / 1000);
  });

  it('measures how long the broker took to confirm', async () => {
    const { publisher, broker, metrics } = await publisherWith();
    broker.confirm = 'never';
    const publishing = publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' });
    await until('the publish', () => broker.published.length === 1);
    await sleep(30);
    broker.published[0]!.settle('ack');
    await publishing;
    const { values } = await metrics.publishConfirmSeconds.get();
    const sum = values.find((v) => v.metricName?.endsWith('_sum') && v.labels['routing_key'] === 'k')?.value ?? 0;
    assert.ok(sum >= 0.025 && sum < 5, `a confirm after 30 ms measured as ${sum} s`);
  });

  it('remembers a return only for the publish it answered: the same message published again is confirmed', async () => {
    const { publisher, broker } = await publisherWith();
    broker.confirm = 'never';
    const first = watch(publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' }));
    await until('the publish', () => broker.published.length === 1);
    broker.emit('return', { content: bytes(3), fields: { routingKey: 'k' }, properties: { messageId: 'm-1' } });
    broker.published[0]!.settle('nack');
    await until('the nack', () => first.outcome !== 'pending');
    assert.equal(first.outcome, 'nacked');
    broker.confirm = 'ack';
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' });
  });

  it('takes the manager’s queue after amqplib refused a write on a channel closing under it, and publishes it there', async () => {
    const { publisher, broker, wrapper } = await publisherWith();
    broker.refusePublish = new Error('Channel closed');
    const publishing = publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' });
    broker.refusePublish = undefined;
    await publishing;
    assert.equal(wrapper.queued, 1, 'the retry waits in the manager’s queue, not on the dead channel');
    assert.deepEqual(
      broker.published.map((p) => p.options.messageId),
      ['m-1'],
    );
  });

  it('stops writing straight onto its channel once it closed, even if a drain comes after', async () => {
    const { publisher, broker, wrapper } = await publisherWith();
    broker.emit('close');
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'after-close' });
    broker.emit('drain');
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'after-drain' });
    assert.equal(wrapper.queued, 2, 'both through the manager, which opens the next channel');
  });

  it('on close, waits for outstanding confirms up to its timeout, then closes its channel and leaves the buffer gauge', async () => {
    const { publisher, broker, wrapper } = await publisherWith();
    broker.confirm = 'never';
    watch(publisher.publish('test.events', 'k', bytes(3), { messageId: 'confirmed-late' }));
    await until('the publish', () => broker.published.length === 1);
    setTimeout(() => broker.published[0]!.settle('ack'), 30);
    let started = Date.now();
    await publisher.close(1000);
    assert.ok(Date.now() - started < 500, 'closed once the confirm came, not at the timeout');
    assert.equal(wrapper.closed, true);

    const second = await publisherWith();
    second.broker.confirm = 'never';
    watch(second.publisher.publish('test.events', 'k', bytes(3), { messageId: 'never-confirmed' }));
    await until('the publish', () => second.broker.published.length === 1);
    assert.equal(await valueOf(second.metrics.publishBuffer), 1);
    started = Date.now();
    await second.publisher.close(60);
    const waited = Date.now() - started;
    assert.ok(waited >= 50 && waited < 1000, `gave up after ${waited} ms`);
    assert.equal(second.wrapper.closed, true);
    assert.equal(await valueOf(second.metrics.publishBuffer), 0, 'a closed publisher is no longer counted');
  });

  it('leaves no timer behind once every publish is confirmed', async () => {
    const { publisher } = await publisherWith({ timeoutMs: 60_000 });
    await new Promise(setImmediate); // mocha arms its own test timer after the test starts
    const before = timers();
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' });
    assert.equal(timers(), before);
  });

  it('times out every unconfirmed publish at its own deadline, the later ones after the first expired', async () => {
    const { publisher, broker } = await publisherWith({ timeoutMs: 40 });
    broker.confirm = 'never';
    const started = Date.now();
    const ended: number[] = [];
    const timedOut = () => ended.push(Date.now() - started);
    void publisher.publish('test.events', 'k', bytes(1), { messageId: 'first' }).catch(timedOut);
    await sleep(20);
    void publisher.publish('test.events', 'k', bytes(1), { messageId: 'second' }).catch(timedOut);
    await until('both timeouts', () => ended.length === 2, 1000);
    assert.ok(ended[1]! < 1000, `the second timed out after ${ended[1]} ms`);
  });

  it('asks for a reconnect when the broker closes its channel under a live connection (a publish to a deleted exchange), not once closed', async () => {
    const { broker, amqp, publisher } = await publisherWith();
    broker.closeByBroker();
    await until('a reconnect', () => amqp.reconnects === 1, 2000);
    const second = await publisherWith();
    await second.publisher.close(100);
    second.broker.closeByBroker();
    await sleep(RECOVERY_FIRST_DELAY_MS + 100);
    assert.equal(second.amqp.reconnects, 0, 'a publisher that is closing asks for nothing');
    await publisher.close(100);
  });
});
