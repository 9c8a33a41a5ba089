import assert from 'node:assert/strict';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel, Options } from 'amqplib';
import { planTopology, type Topology } from '../../shared/messaging/topology';
import { ensureTopology, MissingTopology, TopologyMissingError } from '../../shared/messaging/topology-check';
import { topologyLook } from '../../shared/messaging/topology-probe';
import { createMetrics } from '../../shared/observability/metrics';
import { registerTopologyMissingGauge } from '../../shared/observability/topology-metric';
import { startConsumer } from './fakes/consumer-harness';
import { FakeChannel } from './fakes/fake-channel';
import { sleep, until } from './fakes/fixtures';

const topology: Topology = { exchange: 'ex', queues: [{ name: 'q', bindings: ['a.b'] }], retryDelaysMs: [10], queueType: 'quorum' };
const REFUSED = Object.assign(new Error('Operation failed: QueueDeclare; 403 (ACCESS-REFUSED)'), { code: 403 });

/** A broker that already has `topology` whole, as the operator's `topology apply` left it. */
function declaredBroker(): FakeChannel {
  const broker = new FakeChannel();
  broker.exchanges.add('ex').add('q.failures');
  for (const d of planTopology(topology)) broker.queues.add(d.name);
  return broker;
}

/** Each look on a channel of its own, as the runtime does (`opened` lists them). */
function lookOn(broker: FakeChannel) {
  const opened: FakeChannel[] = [];
  const missing = new MissingTopology();
  const openChannel = async () => {
    const channel = Object.assign(new FakeChannel(), { exchanges: broker.exchanges, queues: broker.queues, refuse: broker.refuse });
    opened.push(channel);
    return channel as unknown as Channel;
  };
  return { look: { openChannel, missing }, opened, missing };
}

describe('topology check: a service only looks, and declares only where the broker lets it', () => {
  it('with the topology in place, only looks: no declaration, no binding, nothing missing', async () => {
    const broker = declaredBroker();
    const { look, opened, missing } = lookOn(broker);
    await ensureTopology(broker as unknown as Channel, topology, look, 'consumer:q');
    const calls = opened.flatMap((c) => c.calls);
    assert.deepEqual(
      calls.filter((c) => !c.startsWith('check') && c !== 'close'),
      [],
    );
    assert.deepEqual(calls, [
      'checkExchange ex',
      'checkExchange q.failures',
      'checkQueue q',
      'checkQueue q.retry.10',
      'checkQueue q.dlq',
      'close',
    ]);
    assert.deepEqual(missing.list(), []);
    assert.deepEqual(broker.calls, [], 'nothing on the channel being set up');
  });

  it("declares and binds what is missing where permitted (a developer's guest), and leaves the rest alone", async () => {
    const broker = declaredBroker();
    broker.queues.delete('q.retry.10');
    const { look, opened } = lookOn(broker);
    await ensureTopology(broker as unknown as Channel, topology, look, 'consumer:q');
    const declared = opened.flatMap((c) => c.calls).filter((c) => !c.startsWith('check') && c !== 'close');
    assert.deepEqual(declared, ['assertQueue q.retry.10 ttl=10', 'bindQueue q.retry.10 q.failures retry.10']);
  });

  it('refused (a service user has no configure permission): names everything missing, tries only once, and throws', async () => {
    const broker = new FakeChannel();
    broker.exchanges.add('ex');
    broker.refuse = REFUSED;
    const { look, opened, missing } = lookOn(broker);
    // The fake refuses queue declarations only: make the exchange one refused too.
    look.openChannel = async () => {
      const channel = Object.assign(new FakeChannel(), { exchanges: broker.exchanges, queues: broker.queues });
      channel.assertExchange = async () => Promise.reject(REFUSED);
      opened.push(channel);
      return channel as unknown as Channel;
    };
    const error = await ensureTopology(broker as unknown as Channel, topology, look, 'consumer:q').catch((e: unknown) => e);
    assert.ok(error instanceof TopologyMissingError, String(error));
    const expected = ['exchange q.failures', 'queue q', 'queue q.retry.10', 'queue q.dlq'];
    assert.deepEqual(error.missing, expected);
    assert.match(error.message, /npm run topology -- apply/);
    assert.deepEqual(missing.list(), [...expected].sort());
    assert.equal(opened.flatMap((c) => c.calls).filter((c) => c.startsWith('assert')).length, 0, 'one refusal, then only looks');
  });

  it('keeps what each owner found missing until that owner looks again and finds it; the gauge reads 0 once declared', async () => {
    const missing = new MissingTopology();
    const metrics = createMetrics('t');
    registerTopologyMissingGauge(metrics.registry, () => missing.list());
    missing.record('consumer:q', ['queue q', 'exchange ex']);
    missing.record('watch', ['exchange ex']);
    assert.deepEqual(missing.list(), ['exchange ex', 'queue q']);
    assert.match(await metrics.registry.metrics(), /^warren_topology_missing\{kind="queue",name="q",service="t"\} 1$/m);
    missing.record('consumer:q', []);
    assert.deepEqual(missing.list(), ['exchange ex']);
    missing.record('watch', []);
    assert.match(await metrics.registry.metrics(), /^warren_topology_missing\{kind="exchange",name="ex",service="t"\} 0$/m);
    // A later look that finds a resource clears it from every owner's report, not only its own.
    missing.record('watch', ['queue q', 'exchange ex']);
    missing.record('consumer:q', [], ['queue q']);
    assert.deepEqual(missing.list(), ['exchange ex']);
  });

  it('a consumer refused its topology does not consume, and consumes once the operator has declared it', async () => {
    const missing = new MissingTopology();
    let operatorDone = false;
    // The consumer's own channel: a fresh broker per channel; before the operator ran, every declaration is refused.
    const look = {
      missing,
      openChannel: async (beside: Channel) => {
        const channel = beside as unknown as FakeChannel;
        const probe = Object.assign(new FakeChannel(), { exchanges: channel.exchanges, queues: channel.queues });
        if (!operatorDone) {
          probe.refuse = REFUSED;
          probe.assertExchange = async () => Promise.reject(REFUSED);
        }
        return probe as unknown as Channel;
      },
    };
    let consuming = false;
    // Resolves only once the consumer first consumes (Consumer.ready).
    const started = startConsumer({}, { look }).then((started) => ((consuming = true), started));
    await until('the refusal reported', () => missing.list().includes('queue q'), 2000);
    await sleep(300);
    assert.equal(consuming, false, 'not consuming without its queue');
    operatorDone = true;
    const { consumer, broker } = await started;
    assert.deepEqual(broker.calls.slice(-2), ['prefetch 4', 'consume q']);
    assert.deepEqual(missing.list(), []);
    await consumer.stop(100);
  });

  it('a look that finds everything clears what another owner reported missing: the newest look wins', async () => {
    const broker = declaredBroker();
    const { look, missing } = lookOn(broker);
    missing.record('consumer:q', ['queue q', 'exchange ex']);
    await ensureTopology(broker as unknown as Channel, topology, look, 'watch');
    assert.deepEqual(missing.list(), []);
  });

  it("keeps the broker's channel errors on its look channels to itself (an unheard 'error' event would end the process)", async () => {
    const broker = new FakeChannel();
    const { look, opened } = lookOn(broker);
    await ensureTopology(broker as unknown as Channel, topology, look, 'consumer:q');
    assert.ok(opened.length > 0);
    for (const channel of opened) assert.doesNotThrow(() => channel.emit('error', new Error('NOT_FOUND')));
  });

  it('a look that fails otherwise (the connection dropped) is that failure, not a missing topology', async () => {
    const broker = new FakeChannel();
    const { look, missing } = lookOn(broker);
    const dropped = new Error('Channel closed by server: 320 (CONNECTION-FORCED)');
    look.openChannel = async () => {
      const channel = new FakeChannel();
      channel.assertExchange = async () => Promise.reject(dropped);
      return channel as unknown as Channel;
    };
    await assert.rejects(ensureTopology(broker as unknown as Channel, topology, look, 'consumer:q'), (e) => e === dropped);
    assert.deepEqual(missing.list(), []);
  });

  describe('without a channel of its own to look on (a test vhost of its own): declares everything on the channel', () => {
    /** The declarations' options, as the broker received them. */
    function recording(broker: FakeChannel) {
      const options: Record<string, unknown> = {};
      const [assertExchange, assertQueue] = [broker.assertExchange.bind(broker), broker.assertQueue.bind(broker)];
      broker.assertExchange = async (name: string, type: string, opts?: unknown) => ((options[name] = opts), assertExchange(name, type));
      broker.assertQueue = async (name = '', opts?: Options.AssertQueue) => ((options[name] = opts), assertQueue(name, opts));
      return options;
    }

    it("declares durable exchanges and queues with the plan for the broker's version", async () => {
      const broker = new FakeChannel();
      const options = recording(broker);
      await ensureTopology(broker as unknown as Channel, topology, undefined, 'consumer:q');
      assert.deepEqual(options.ex, { durable: true });
      assert.deepEqual(options['q.failures'], { durable: true });
      const plan = planTopology(topology, { version: broker.connection.serverProperties.version });
      assert.deepEqual(options['q.dlq'], plan.find((d) => d.name === 'q.dlq')!.options);
      assert.equal((options['q.dlq'] as Options.AssertQueue).arguments?.['x-delivery-limit'], -1, 'the fake broker is a 4.x');
    });

    it('refused, names only what it could not declare, with a named error', async () => {
      const broker = new FakeChannel();
      broker.refuse = REFUSED;
      const missing = new MissingTopology();
      const error = await ensureTopology(broker as unknown as Channel, topology, { missing }, 'consumer:q').catch((e: unknown) => e);
      assert.ok(error instanceof TopologyMissingError, String(error));
      assert.equal(error.name, 'TopologyMissingError');
      assert.deepEqual(error.missing, ['queue q', 'queue q.retry.10', 'queue q.dlq'], 'the exchanges were declared');
      assert.deepEqual(missing.list(), ['queue q', 'queue q.dlq', 'queue q.retry.10']);
    });
  });

  describe('topologyLook: the channel to look on', () => {
    const model = (connection: object, name: string) => ({ connection, createChannel: async () => name });
    const [a, b] = [{ id: 'a' }, { id: 'b' }];
    const managers = (...models: (ReturnType<typeof model> | undefined)[]) =>
      models.map((connection) => ({ connection })) as unknown as AmqpConnectionManager[];

    it('opens it on the connection of the channel being set up, else on any connected one', async () => {
      const look = topologyLook(managers(undefined, model(a, 'on a'), model(b, 'on b')));
      assert.equal(await look.openChannel({ connection: b } as unknown as Channel), 'on b');
      assert.equal(await look.openChannel({ connection: { id: 'gone' } } as unknown as Channel), 'on a');
    });

    it('fails while no connection is up, and reports where it is told', async () => {
      await assert.rejects(topologyLook(managers(undefined)).openChannel({} as Channel), /no broker connection/);
      const missing = new MissingTopology();
      assert.equal(topologyLook([], missing).missing, missing);
    });
  });
});
