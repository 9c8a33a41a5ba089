import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mock } from 'node:test';
import type { Channel, Message } from 'amqplib';
import type { AckBatcher } from '../../shared/messaging/ack-batcher';
import { RECOVERY_FIRST_DELAY_MS } from '../../shared/messaging/recovery-backoff';
import { Subscription, type SubscriptionOptions } from '../../shared/messaging/subscription';
import { planTopology, type Topology } from '../../shared/messaging/topology';
import { MissingTopology } from '../../shared/messaging/topology-check';
import { FakeChannel } from './fakes/fake-channel';
import { FakeConnectionManager } from './fakes/fake-connection-manager';
import { capturedLog, testMetrics, valueOf } from './fakes/fixtures';

// Subscription on its own, against the fake broker, with every timer and clock mocked: a recovery attempt, a
// deadline and a log's `downMs` happen at the tick the test names, never at a time a loaded machine chooses.

const topology: Topology = {
  exchange: 'test.events',
  queues: [
    { name: 'q', bindings: ['payment.#'] },
    { name: 'other', bindings: ['order.#'] },
  ],
  retryDelaysMs: [10],
  queueType: 'quorum',
};
const DEADLINE_MS = 1000;
const ACCESS_REFUSED = (): Error => Object.assign(new Error('Operation failed: QueueDeclare; 403 (ACCESS-REFUSED)'), { code: 403 });
const DRIFT = (): Error =>
  Object.assign(
    new Error(
      `Operation failed: QueueDeclare; 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received 'quorum' but current is 'classic'"`,
    ),
    { code: 406 },
  );
const CONSUME_REFUSED = (): Error => Object.assign(new Error('Operation failed: BasicConsume; 403 (ACCESS-REFUSED)'), { code: 403 });

/** Lets every promise and setImmediate queued so far run (timers stay mocked). */
async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
}

/** Moves the mocked clock on by `ms`, a step at a time, letting what each step woke run (and set timers of its own). */
async function advance(ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 50) {
    mock.timers.tick(Math.min(left, 50));
    await settle();
  }
}

/** A Subscription of queue `q` on a fake connection whose connectivity the test controls. */
function subscribe(options: Partial<SubscriptionOptions> = {}) {
  const amqp = new FakeConnectionManager();
  const events = new EventEmitter();
  const link = { connected: true };
  Object.assign(amqp.manager, {
    isConnected: () => link.connected,
    on: (event: string, listener: (...args: unknown[]) => void) => events.on(event, listener),
  });
  const metrics = testMetrics();
  const { log, lines } = capturedLog();
  const received: { acks: AckBatcher; msg: Message }[] = [];
  const subscription = new Subscription(amqp.manager, {
    queue: 'q',
    topology,
    prefetch: 8,
    recoveryDeadlineMs: DEADLINE_MS,
    log,
    metrics,
    onMessage: (acks, msg) => received.push({ acks, msg }),
    ...options,
  });
  const up = () => valueOf(metrics.consumerUp, { queue: 'q' });
  const recoveries = () => valueOf(metrics.consumerRecoveries, { queue: 'q' });
  const channel = () => amqp.channel('consumer:q');
  const said = (text: string) => lines.filter((l) => String(l.msg).includes(text));
  return { subscription, amqp, events, link, metrics, lines, said, received, up, recoveries, channel };
}

/** A look on channels of its own over `broker`'s exchanges and queues, refused as `refuse` says at the time. */
function lookOver(broker: FakeChannel, refuse: { now?: Error }) {
  const missing = new MissingTopology();
  const openChannel = async () => {
    const channel = new FakeChannel();
    Object.assign(channel, { exchanges: broker.exchanges, queues: broker.queues, refuse: refuse.now });
    return channel as unknown as Channel;
  };
  return { openChannel, missing };
}

describe('Subscription (fake broker, mocked clock)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('reports down until it consumes, then consumes its own queue only, with manual acks at its prefetch', async () => {
    const { subscription, amqp, up, channel, said, metrics } = subscribe();
    const series = (await metrics.consumerUp.get()).values.filter((v) => v.labels.queue === 'q');
    assert.deepEqual(
      series.map((v) => v.value),
      [0],
      'a consumer that never comes up shows as 0, not as no series at all (an alert on 0 must see it)',
    );
    assert.equal(subscription.consuming, false);
    await subscription.ready();
    assert.equal(subscription.consuming, true);
    assert.equal(await up(), 1);
    const wrapper = amqp.wrappers.get('consumer:q')!;
    assert.equal(wrapper.options.confirm, false, 'a consumer channel publishes nothing to confirm');
    const calls = channel().calls;
    assert.ok(calls.includes('assertQueue q'));
    assert.ok(!calls.some((c) => c.includes('other')), `nothing of another queue's topology: ${calls.join(', ')}`);
    assert.deepEqual(calls.slice(-2), ['prefetch 8', 'consume q'], 'not noAck');
    assert.equal(said('consuming')[0]?.prefetch, 8);
    assert.equal(subscription.healthy, true);
    await subscription.close();
  });

  it("hands each delivery to onMessage with its channel's ack batcher, whose acks reach the broker on close", async () => {
    const { subscription, received, channel, up, amqp } = subscribe();
    await subscription.ready();
    const msg = channel().deliver('q', Buffer.from('{}'));
    assert.equal(received.length, 1);
    assert.equal(received[0]!.msg, msg);
    received[0]!.acks.track(msg);
    received[0]!.acks.ack(msg);
    channel().deliver('q', Buffer.from('{}'));
    await subscription.close();
    assert.deepEqual(channel().frames, [`ack ${msg.fields.deliveryTag} multiple`], 'the batched ack is sent before the channel closes');
    assert.equal(await up(), 0);
    assert.equal(amqp.wrappers.get('consumer:q')!.closed, true);
    assert.equal(subscription.consuming, false);
  });

  it('logs an ack on a closed channel at debug and drops it: the broker redelivers', async () => {
    const { subscription, received, channel, said } = subscribe();
    await subscription.ready();
    const msg = channel().deliver('q', Buffer.from('{}'));
    channel().ack = () => {
      throw new Error('Channel closed');
    };
    received[0]!.acks.track(msg);
    received[0]!.acks.ack(msg);
    received[0]!.acks.flush();
    assert.equal(said('settle on a closed channel')[0]?.err, 'Channel closed');
    await subscription.close();
  });

  it('logs a channel error instead of throwing it', async () => {
    const { subscription, amqp, said } = subscribe();
    await subscription.ready();
    amqp.wrappers.get('consumer:q')!.emit('error', new Error('PRECONDITION_FAILED'));
    assert.equal(said('consumer channel error')[0]?.err, 'PRECONDITION_FAILED');
    await subscription.close();
  });

  it('after a broker cancel, subscribes again once the first recovery delay has passed, and counts the recovery', async () => {
    const { subscription, channel, up, recoveries, said } = subscribe();
    await subscription.ready();
    channel().cancelByBroker('q');
    assert.equal(subscription.consuming, false);
    assert.equal(await up(), 0);
    assert.match(String(said('recovering')[0]?.msg), /consumer cancelled by the broker/);
    await advance(RECOVERY_FIRST_DELAY_MS - 1);
    assert.equal(channel().calls.filter((c) => c === 'consume q').length, 1, 'not before the delay');
    await advance(1);
    assert.equal(subscription.consuming, true);
    assert.equal(channel().calls.filter((c) => c === 'consume q').length, 2);
    assert.equal(await up(), 1);
    assert.equal(await recoveries(), 1);
    assert.equal(said('consumer recovered')[0]?.downMs, RECOVERY_FIRST_DELAY_MS);
    await subscription.close();
  });

  it('after the broker closed its channel, replaces the channel wrapper; a late close of the old channel changes nothing', async () => {
    const { subscription, amqp, channel, recoveries, said } = subscribe();
    await subscription.ready();
    const old = channel();
    const oldWrapper = amqp.wrappers.get('consumer:q')!;
    old.closeByBroker();
    assert.match(String(said('recovering')[0]?.msg), /consumer channel closed/);
    await advance(RECOVERY_FIRST_DELAY_MS);
    assert.notEqual(channel(), old);
    assert.equal(oldWrapper.closed, true);
    assert.equal(subscription.consuming, true);
    old.emit('close');
    await advance(RECOVERY_FIRST_DELAY_MS * 4);
    assert.equal(subscription.consuming, true, 'the close of a channel it no longer uses is not a loss');
    assert.equal(await recoveries(), 1);
    assert.equal(said('recovering').length, 1);
    await subscription.close();
  });

  it('turns unhealthy exactly when a loss has lasted its deadline while the broker answers, and healthy once it consumes', async () => {
    const { subscription, amqp, channel } = subscribe();
    await subscription.ready();
    amqp.refuseConsume = CONSUME_REFUSED();
    channel().closeByBroker();
    await advance(DEADLINE_MS - 1);
    assert.equal(subscription.healthy, true, 'inside the deadline');
    await advance(1);
    assert.equal(subscription.healthy, false, 'the deadline has passed');
    assert.equal(subscription.consuming, false);
    amqp.refuseConsume = undefined;
    await advance(5000);
    assert.equal(subscription.consuming, true);
    assert.equal(subscription.healthy, true);
    await subscription.close();
  });

  it('a broker outage does not count toward the deadline: it counts from when the broker is back', async () => {
    // A deadline above the longest recovery delay (5 s): the outage is looked at once per attempt.
    const { subscription, channel, link, events } = subscribe({ recoveryDeadlineMs: 10_000 });
    await subscription.ready();
    link.connected = false;
    channel().cancelByBroker('q');
    await advance(60_000);
    assert.equal(subscription.healthy, true, 'a restart cannot mend an outage');
    assert.equal(subscription.consuming, false);
    // The broker is back, its queue not yet consumable: the outage's length is not held against the subscription.
    channel().refuseConsume = CONSUME_REFUSED();
    link.connected = true;
    events.emit('connect');
    await advance(50);
    assert.equal(subscription.healthy, true, 'the deadline counts from the broker being back, not from the loss');
    await subscription.close();
  });

  it('a broker that answers but drops the connection on every setup still counts toward the deadline', async () => {
    const { subscription, channel, link, events } = subscribe();
    await subscription.ready();
    link.connected = false;
    channel().cancelByBroker('q');
    await advance(1);
    // amqp-connection-manager connects again every second and drops it on the refused setup: down at most instants.
    // Looked at just after the recovery attempt of 1750 ms, which must not restart the deadline.
    for (let t = 0; t < 1800; t += 450) {
      events.emit('connect');
      await advance(450);
    }
    assert.equal(subscription.healthy, false);
    await subscription.close();
  });

  it('stays healthy past its deadline while its deleted queue may not be declared, and consumes once it is back', async () => {
    const broker = new FakeChannel();
    const refuse: { now?: Error } = {};
    const look = lookOver(broker, refuse);
    const { subscription, channel } = subscribe({ look });
    await subscription.ready();
    assert.deepEqual(look.missing.list(), []);
    // The operator's queue is deleted; this service's user may not declare it.
    refuse.now = ACCESS_REFUSED();
    broker.queues.delete('q');
    channel().cancelByBroker('q');
    await advance(DEADLINE_MS * 10);
    assert.equal(subscription.consuming, false);
    assert.deepEqual(look.missing.list(), ['queue q']);
    assert.equal(subscription.healthy, true, 'a restart would not declare it: liveness stays green');
    // The operator declares it again.
    for (const d of planTopology(topology)) broker.queues.add(d.name);
    await advance(5000);
    assert.equal(subscription.consuming, true);
    assert.deepEqual(look.missing.list(), []);
    await subscription.close();
  });

  it('with its topology missing at start, waits for the operator without a restart, then consumes', async () => {
    const broker = new FakeChannel();
    const refuse: { now?: Error } = { now: ACCESS_REFUSED() };
    const look = lookOver(broker, refuse);
    const { subscription, said } = subscribe({ look });
    let ready = false;
    const started = subscription.ready().then(() => (ready = true));
    await advance(DEADLINE_MS * 10);
    assert.equal(ready, false);
    assert.equal(subscription.healthy, true);
    assert.match(String(said('recovering')[0]?.msg), /topology missing: queue q, /);
    refuse.now = undefined;
    await advance(5000);
    await started;
    assert.equal(ready, true);
    assert.equal(subscription.consuming, true);
    await subscription.close();
  });

  it('pause cancels the broker consumer and is no loss; resume consumes again at the full prefetch', async () => {
    const { subscription, channel, recoveries, up } = subscribe();
    await subscription.ready();
    await subscription.pause();
    assert.ok(channel().calls.includes('cancel ctag-1'));
    assert.equal(subscription.consuming, false);
    await advance(DEADLINE_MS * 5);
    assert.equal(subscription.healthy, true);
    assert.equal(channel().calls.filter((c) => c === 'consume q').length, 1, 'a pause is not recovered from');
    await subscription.resume();
    assert.equal(subscription.consuming, true);
    assert.deepEqual(channel().calls.slice(-2), ['prefetch 8', 'consume q']);
    assert.equal(await recoveries(), 0);
    assert.equal(await up(), 1);
    await subscription.close();
  });

  it('paused, it takes one message by basic.get with a manual ack, and none once its channel is gone', async () => {
    const { subscription, channel } = subscribe();
    await subscription.ready();
    await subscription.pause();
    assert.equal(await subscription.getOne(), undefined, 'an empty queue');
    const broker = channel();
    const options: unknown[] = [];
    const get = broker.get.bind(broker);
    broker.get = (queue: string, opts?: unknown) => (options.push(opts), get(queue));
    broker.waiting.set('q', [{ content: Buffer.from('{"a":1}'), props: {} }]);
    const got = await subscription.getOne();
    assert.equal(got?.msg.content.toString(), '{"a":1}');
    assert.deepEqual(options, [{ noAck: false }]);
    got!.acks.track(got!.msg);
    got!.acks.ack(got!.msg);
    got!.acks.flush();
    assert.deepEqual(broker.frames, [`ack ${got!.msg.fields.deliveryTag} multiple`], 'acked on the channel it came from');
    broker.waiting.set('q', [{ content: Buffer.from('{}'), props: {} }]);
    broker.closeByBroker();
    assert.equal(await subscription.getOne(), undefined, 'no channel, no message');
    await subscription.close();
  });

  it('a channel lost while paused is replaced, and stays paused: nothing consumes until resume', async () => {
    const { subscription, channel, up, recoveries } = subscribe();
    await subscription.ready();
    await subscription.pause();
    const old = channel();
    old.closeByBroker();
    assert.equal(await up(), 0);
    await advance(RECOVERY_FIRST_DELAY_MS);
    assert.notEqual(channel(), old, 'a new channel, for the probe to get on');
    assert.ok(!channel().calls.includes('consume q'), 'still paused');
    assert.equal(await up(), 1, 'its channel is back');
    assert.equal(await recoveries(), 1);
    await advance(DEADLINE_MS * 5);
    assert.equal(subscription.healthy, true);
    await subscription.resume();
    assert.equal(subscription.consuming, true);
    await subscription.close();
  });

  it('resume on a channel that refuses the consumer recovers by itself', async () => {
    const { subscription, channel, said } = subscribe();
    await subscription.ready();
    await subscription.pause();
    channel().refuseConsume = CONSUME_REFUSED();
    await subscription.resume();
    assert.match(String(said('recovering')[0]?.msg), /subscribe failed: .*ACCESS-REFUSED/);
    await advance(5000);
    assert.equal(subscription.consuming, true, 'on a new channel');
    await subscription.close();
  });

  for (const how of ['pause', 'stop'] as const) {
    it(`a ${how} that comes while basic.consume is on the wire takes the consumer back off`, async () => {
      const { subscription, channel, up } = subscribe();
      const broker = channel();
      let answer!: () => void;
      const consume = broker.consume.bind(broker);
      broker.consume = (...args: Parameters<FakeChannel['consume']>) =>
        new Promise((resolve) => (answer = () => resolve(consume(...args))));
      await settle();
      assert.equal(typeof answer, 'function', 'consume is on the wire');
      if (how === 'pause') await subscription.pause();
      else subscription.stop();
      answer();
      await settle();
      assert.ok(broker.calls.includes('cancel ctag-1'), broker.calls.join(', '));
      assert.equal(subscription.consuming, false);
      assert.equal(await up(), 0, 'never reported up');
      await subscription.close();
    });
  }

  it('once stopping, a broker cancel starts no recovery', async () => {
    const { subscription, channel, said } = subscribe();
    await subscription.ready();
    subscription.stop();
    assert.equal(subscription.consuming, false);
    channel().cancelByBroker('q');
    await advance(DEADLINE_MS * 5);
    assert.equal(channel().calls.filter((c) => c === 'consume q').length, 1);
    assert.equal(said('recovering').length, 0);
    await subscription.close();
  });

  it('a stop during the recovery delay ends the recovery without another subscribe', async () => {
    const { subscription, channel } = subscribe();
    await subscription.ready();
    channel().cancelByBroker('q');
    await advance(RECOVERY_FIRST_DELAY_MS - 1);
    subscription.stop();
    await advance(DEADLINE_MS * 5);
    assert.equal(channel().calls.filter((c) => c === 'consume q').length, 1);
    assert.ok(!channel().calls.some((c) => c.startsWith('cancel')));
  });

  it('waits longer after each failed attempt', async () => {
    const { subscription, amqp, channel } = subscribe();
    await subscription.ready();
    amqp.refuseConsume = CONSUME_REFUSED();
    channel().closeByBroker();
    const attempts: number[] = [];
    let before = channel();
    for (let t = 0; t < 1750; t += 50) {
      await advance(50);
      if (channel() !== before) attempts.push(t + 50);
      before = channel();
    }
    // Each failed attempt's new channel is closed by the refusal at once, so each delay shows as one replacement.
    assert.deepEqual(attempts, [250, 750, 1750]);
    amqp.refuseConsume = undefined;
    await subscription.close();
  });

  it('recovers from every loss, not only the first, and stops trying once it consumes', async () => {
    const { subscription, channel, recoveries } = subscribe();
    await subscription.ready();
    for (const loss of [1, 2, 3]) {
      channel().cancelByBroker('q');
      await advance(RECOVERY_FIRST_DELAY_MS);
      assert.equal(subscription.consuming, true, `loss ${loss}`);
    }
    assert.equal(await recoveries(), 3);
    const calls = channel().calls.length;
    await advance(30_000);
    assert.equal(channel().calls.length, calls, 'no look, no declaration once it consumes');
    await subscription.close();
  });

  it('a stop while a closed channel waits to be replaced opens no new channel', async () => {
    const { subscription, channel, amqp } = subscribe();
    await subscription.ready();
    const old = channel();
    old.closeByBroker();
    await advance(RECOVERY_FIRST_DELAY_MS - 50);
    await subscription.close();
    await advance(DEADLINE_MS * 5);
    assert.equal(channel(), old);
    assert.equal(amqp.wrappers.size, 1);
  });

  it('a queue the broker refuses for other arguments (406) is no missing topology: the deadline applies', async () => {
    const { subscription, amqp, channel, said } = subscribe();
    await subscription.ready();
    // Someone redeclared the queue with other arguments: a restart (with a fixed deploy) can mend it.
    channel().refuse = DRIFT();
    amqp.refuse = DRIFT();
    channel().cancelByBroker('q');
    await advance(DEADLINE_MS);
    assert.equal(subscription.healthy, false);
    const failed = said('consumer recovery attempt failed')[0];
    assert.match(String(failed?.err), /PRECONDITION_FAILED/);
    assert.equal(failed?.attempt, 0);
    await subscription.close();
  });

  it('refused its queue for other arguments from the start, turns unhealthy past its deadline', async () => {
    const amqp = new FakeConnectionManager();
    amqp.refuse = DRIFT();
    const subscription = new Subscription(amqp.manager, {
      queue: 'q',
      topology,
      prefetch: 8,
      recoveryDeadlineMs: DEADLINE_MS,
      log: capturedLog().log,
      metrics: testMetrics(),
      onMessage: () => undefined,
    });
    await advance(DEADLINE_MS - 50);
    assert.equal(subscription.healthy, true);
    await advance(100);
    assert.equal(subscription.healthy, false);
    await subscription.close();
  });

  it('two consumers sharing one report each name what they miss', async () => {
    const broker = new FakeChannel();
    const look = lookOver(broker, { now: ACCESS_REFUSED() });
    broker.exchanges.add('test.events').add('q.failures').add('other.failures');
    const first = subscribe({ look });
    const second = subscribe({ look, queue: 'other' });
    await advance(50);
    assert.deepEqual(look.missing.list(), [
      'queue other',
      'queue other.dlq',
      'queue other.retry.10',
      'queue q',
      'queue q.dlq',
      'queue q.retry.10',
    ]);
    await first.subscription.close();
    await second.subscription.close();
  });

  it('resume while consuming adds no second consumer; resume while its channel is replaced waits for the new one', async () => {
    const { subscription, channel, said } = subscribe();
    await subscription.ready();
    await settle();
    await subscription.resume();
    assert.equal(channel().calls.filter((c) => c === 'consume q').length, 1);
    await subscription.pause();
    const old = channel();
    old.closeByBroker();
    await subscription.resume();
    assert.equal(said('subscribe failed').length, 0, 'nothing to subscribe on yet: not a failure');
    await advance(RECOVERY_FIRST_DELAY_MS);
    assert.notEqual(channel(), old);
    assert.equal(subscription.consuming, true);
    assert.equal(channel().calls.filter((c) => c === 'consume q').length, 1);
    await subscription.close();
  });
});
