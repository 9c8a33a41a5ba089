import assert from 'node:assert/strict';
import { RECOVERY_FIRST_DELAY_MS } from '../../shared/messaging/recovery-backoff';
import { capturedLog, sleep, until, valueOf } from './fakes/fixtures';
import { bytes, watch } from './fakes/publish-outcomes';
import { publisherWith } from './fakes/publisher-harness';

// The publisher's channel from set-up to close: topology and return listener declared, confirm mode, its errors logged
// rather than thrown, outstanding confirms awaited on close, and a reconnect asked for when the broker closes it.
describe('Publisher (fake broker)', () => {
  it('declares the topology and listens for returns when its channel is set up', async () => {
    const { broker } = await publisherWith();
    assert.ok(broker.calls.includes('assertExchange test.events topic'));
    assert.ok(broker.calls.includes('bindQueue q test.events #'));
    assert.equal(broker.listenerCount('return'), 1);
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
