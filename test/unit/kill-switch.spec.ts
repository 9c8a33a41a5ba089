import assert from 'node:assert/strict';
import { mock } from 'node:test';
import { DeferredError, SchemaViolationError, TransientError } from '../../shared/errors/errors';
import { KillSwitch, type DeliveryOutcome, type Switchable } from '../../shared/messaging/kill-switch';
import { assertBrokersSawNoViolation, eventProps, startConsumer } from './fakes/consumer-harness';
import { body, capturedLog, paymentDeclined, quietLog, sleep, until, valueOf } from './fakes/fixtures';

const SETTINGS = { threshold: 3, windowMs: 10_000, cooldownMs: 60 };

/** A consumer whose handler fails transiently while `down.now` holds. */
async function consumerBehindDownstream() {
  const down = { now: true };
  const harness = await startConsumer(
    {
      PaymentDeclined: async () => {
        if (down.now) throw new TransientError('gateway 503');
      },
    },
    { killSwitch: SETTINGS },
  );
  const send = (orderId: string) => {
    const event = paymentDeclined(orderId);
    return harness.deliver(body(event), eventProps(event));
  };
  const enqueue = (orderId: string) => {
    const event = paymentDeclined(orderId);
    harness.broker.waiting.set('q', [...(harness.broker.waiting.get('q') ?? []), { content: body(event), props: eventProps(event) }]);
  };
  return { ...harness, down, send, enqueue };
}

describe('Kill switch', () => {
  afterEach(assertBrokersSawNoViolation);

  it('pauses the consumer after N consecutive transient failures: the failing ones take their retry tier', async () => {
    const { consumer, broker, copies, metrics, send } = await consumerBehindDownstream();
    const sent = [send('o-1'), send('o-2')];
    await until('two retries', () => copies.published.length === 2);
    assert.equal(consumer.consuming, true, 'two failures are below the threshold');
    sent.push(send('o-3'));
    await until('the pause', () => broker.calls.includes('cancel ctag-1'));
    assert.equal(await valueOf(metrics.consumerPaused, { queue: 'q' }), 1);
    assert.equal(consumer.consuming, false);
    assert.equal(consumer.isReady, true, 'a pause on purpose is not a readiness failure');
    await until('every settle', () => sent.every((m) => broker.settlement(m) === 'ack'));
    assert.deepEqual(
      copies.published.map((c) => c.routingKey),
      ['retry.10', 'retry.10', 'retry.10'],
      'no dead letter',
    );
    await consumer.stop(100);
  });

  it('probes with one message after the cool-down, stays paused while it fails, and resumes once one succeeds', async () => {
    const { consumer, broker, metrics, send, enqueue, down } = await consumerBehindDownstream();
    for (const id of ['o-1', 'o-2', 'o-3']) send(id);
    await until('the pause', () => broker.calls.includes('cancel ctag-1'));
    enqueue('o-4');
    enqueue('o-5');
    await until('a first probe', () => broker.calls.includes('get q'), 1000);
    await sleep(20);
    assert.equal(consumer.consuming, false, 'a failed probe keeps it paused');
    assert.equal(broker.calls.filter((c) => c === 'get q').length, 1, 'one message per cool-down');
    down.now = false;
    await until('the resume', () => consumer.consuming, 1000);
    assert.equal(broker.calls.filter((c) => c === 'get q').length, 2);
    assert.deepEqual(broker.calls.slice(-2), ['prefetch 4', 'consume q'], 'back at the full prefetch');
    assert.equal(await valueOf(metrics.consumerPaused, { queue: 'q' }), 0);
    await consumer.stop(100);
  });

  it('a success resets the run, and permanent failures neither count nor reset it', () => {
    const calls: string[] = [];
    const target = { pause: async () => void calls.push('pause'), resume: async () => undefined, probe: async () => 'empty' as const };
    const paused = { set: (v: number) => calls.push(`paused=${v}`) };
    const ks = new KillSwitch(SETTINGS, target, quietLog, paused);
    const feed = (outcomes: DeliveryOutcome[]) => outcomes.forEach((o) => ks.record(o, 1000));
    feed(['transient', 'transient', 'success', 'transient', 'transient', 'permanent']);
    assert.equal(ks.isOpen, false);
    feed(['transient']);
    assert.equal(ks.isOpen, true);
    assert.deepEqual(calls, ['paused=0', 'paused=1', 'pause']);
    ks.stop();
  });

  /** A switch over a target that records its calls, whose probes answer what `answers` holds next (one promise each). */
  function switched(answers: (() => Promise<DeliveryOutcome | 'empty'>)[]) {
    const calls: string[] = [];
    const target = {
      pause: async () => void calls.push('pause'),
      resume: async () => void calls.push('resume'),
      probe: () => {
        calls.push('probe');
        return (answers.shift() ?? (async () => 'empty' as const))();
      },
    };
    const ks = new KillSwitch({ threshold: 2, windowMs: 10_000, cooldownMs: 10 }, target, quietLog, { set: () => undefined });
    const fail = (times: number) => Array.from({ length: times }, () => ks.record('transient'));
    return { ks, calls, fail };
  }

  it('ignores the outcomes of deliveries that finish while it is paused', async () => {
    const { ks, calls, fail } = switched([() => new Promise(() => undefined)]);
    fail(2);
    fail(4);
    await until('the probe', () => calls.includes('probe'));
    assert.deepEqual(calls, ['pause', 'probe'], 'paused once, one probe');
    ks.stop();
  });

  it('stays paused when a probe cannot run, and probes again after another cool-down', async () => {
    const { ks, calls, fail } = switched([() => Promise.reject(new Error('channel closed')), async () => 'success']);
    fail(2);
    await until('the resume', () => calls.includes('resume'));
    assert.deepEqual(calls, ['pause', 'probe', 'probe', 'resume']);
    assert.equal(ks.isOpen, false);
    ks.stop();
  });

  it('after a passed probe, pauses again on a new run of failures', async () => {
    const { ks, calls, fail } = switched([async () => 'success']);
    fail(2);
    await until('the resume', () => calls.includes('resume'));
    fail(2);
    assert.equal(ks.isOpen, true);
    assert.deepEqual(calls, ['pause', 'probe', 'resume', 'pause']);
    ks.stop();
  });

  it('once stopped, never resumes, even from a probe that was running, and counts nothing more', async () => {
    let answer!: (outcome: DeliveryOutcome) => void;
    const { ks, calls, fail } = switched([() => new Promise((resolve) => (answer = resolve))]);
    fail(2);
    await until('the probe', () => calls.includes('probe'));
    ks.stop();
    answer('success');
    await sleep(30);
    fail(4);
    assert.deepEqual(calls, ['pause', 'probe'], 'a consumer being stopped is not resumed');
  });

  it('only counts failures that fall within its window', () => {
    const target = { pause: async () => undefined, resume: async () => undefined, probe: async () => 'empty' as const };
    const ks = new KillSwitch(SETTINGS, target, quietLog, { set: () => undefined });
    ks.record('transient', 0);
    ks.record('transient', 5_000);
    ks.record('transient', 10_001);
    assert.equal(ks.isOpen, false, 'the first failure fell out of the window');
    ks.record('transient', 10_002);
    assert.equal(ks.isOpen, true);
    ks.stop();
  });

  it('a failure exactly one window old has left the window', () => {
    const target = { pause: async () => undefined, resume: async () => undefined, probe: async () => 'empty' as const };
    const ks = new KillSwitch(SETTINGS, target, quietLog, { set: () => undefined });
    ks.record('transient', 0);
    ks.record('transient', 5_000);
    ks.record('transient', SETTINGS.windowMs);
    assert.equal(ks.isOpen, false, 'two failures within the last windowMs');
    ks.stop();
  });

  it('is off with a threshold of 0: failures never pause the consumer', async () => {
    const { consumer, copies, deliver, broker } = await startConsumer(
      { PaymentDeclined: async () => Promise.reject(new TransientError('gateway 503')) },
      { killSwitch: { ...SETTINGS, threshold: 0 } },
    );
    const msgs = Array.from({ length: 5 }, (_, i) => deliver(body(paymentDeclined(`o-${i}`))));
    await until('five retries', () => copies.published.length === 5);
    await until('every ack', () => msgs.every((m) => broker.settlement(m) === 'ack'));
    await sleep(20); // the outcomes are counted once each delivery has settled
    assert.equal(consumer.consuming, true);
    assert.ok(!broker.calls.includes('cancel ctag-1'));
    await consumer.stop(100);
  });

  it('through the consumer, counts only transient failures: successes, permanent failures and deferrals never pause it', async () => {
    const outcomes = {
      success: async () => undefined,
      permanent: async () => Promise.reject(new SchemaViolationError('no', '/reason')),
      deferred: async () => Promise.reject(new DeferredError('claim held elsewhere', 5, 60_000)),
    };
    for (const [outcome, handler] of Object.entries(outcomes)) {
      const { consumer, broker, deliver } = await startConsumer({ PaymentDeclined: handler }, { killSwitch: SETTINGS });
      const msgs = Array.from({ length: SETTINGS.threshold + 1 }, (_, i) => deliver(body(paymentDeclined(`o-${i}`))));
      await until(`every ${outcome} settled`, () => msgs.every((m) => broker.settlement(m) === 'ack'));
      await sleep(20);
      assert.equal(consumer.consuming, true, outcome);
      assert.ok(!broker.calls.includes('cancel ctag-1'), outcome);
      await consumer.stop(100);
    }
  });

  describe('what it tells the operator (mocked clock)', () => {
    beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
    afterEach(() => mock.timers.reset());
    const turns = async () => {
      for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    };

    /** A switch (threshold 2, cool-down 100 ms) whose target answers as `target` says, logging to `lines`. */
    function logged(target: Partial<Switchable>) {
      const { log, lines } = capturedLog();
      const full: Switchable = { pause: async () => undefined, resume: async () => undefined, probe: async () => 'empty', ...target };
      const ks = new KillSwitch({ threshold: 2, windowMs: 10_000, cooldownMs: 100 }, full, log, { set: () => undefined });
      const line = (msg: string) => lines.find((l) => l.msg === msg);
      return { ks, lines, line, trip: () => (ks.record('transient'), ks.record('transient')) };
    }

    it('logs the trip with its threshold and cool-down, a failed probe, and a passed one with its outcome', async () => {
      const answers: (DeliveryOutcome | 'empty')[] = ['transient', 'success'];
      const { ks, line, lines, trip } = logged({ probe: async () => answers.shift()! });
      trip();
      assert.deepEqual(
        {
          threshold: line('kill switch tripped; consumer paused')?.threshold,
          cooldownMs: line('kill switch tripped; consumer paused')?.cooldownMs,
        },
        { threshold: 2, cooldownMs: 100 },
      );
      mock.timers.tick(99);
      await turns();
      assert.equal(lines.length, 1, 'no probe before the cool-down');
      mock.timers.tick(1);
      await turns();
      assert.ok(line('kill switch probe failed; staying paused'), JSON.stringify(lines));
      assert.equal(ks.isOpen, true);
      mock.timers.tick(100);
      await turns();
      assert.equal(line('kill switch probe passed; consumer resumed')?.probe, 'success');
      assert.equal(ks.isOpen, false);
      ks.stop();
    });

    it('logs a pause, a probe or a resume that failed, with the error, instead of leaving it unhandled', async () => {
      const { ks, line, trip } = logged({
        pause: () => Promise.reject(new Error('channel gone')),
        probe: () => Promise.reject(new Error('no channel')),
      });
      trip();
      await turns();
      assert.equal(line('kill switch could not pause the consumer')?.err, 'channel gone');
      mock.timers.tick(100);
      await turns();
      assert.equal(line('kill switch probe could not run')?.err, 'no channel');
      assert.equal(ks.isOpen, true, 'a probe that cannot run counts as a failed one');
      ks.stop();

      const resumeFails = logged({ resume: () => Promise.reject(new Error('consume refused')) });
      resumeFails.trip();
      mock.timers.tick(100);
      await turns();
      assert.equal(resumeFails.line('kill switch probe failed')?.err, 'consume refused');
      resumeFails.ks.stop();
    });
  });

  it('once stopped, leaves no cool-down timer behind to hold the process open', () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const target = { pause: async () => undefined, resume: async () => undefined, probe: async () => 'empty' as const };
    const ks = new KillSwitch({ threshold: 1, windowMs: 10_000, cooldownMs: 60_000 }, target, quietLog, { set: () => undefined });
    ks.record('transient');
    assert.equal(timers(), before + 1, 'the cool-down is pending');
    ks.stop();
    assert.equal(timers(), before);
  });
});
