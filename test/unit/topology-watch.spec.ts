import assert from 'node:assert/strict';
import { mock } from 'node:test';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel } from 'amqplib';
import { planTopology, type Topology } from '../../shared/messaging/topology';
import { MissingTopology } from '../../shared/messaging/topology-check';
import { TopologyWatch } from '../../shared/messaging/topology-watch';
import { FakeChannel } from './fakes/fake-channel';
import { capturedLog } from './fakes/fixtures';

const topology: Topology = { exchange: 'ex', queues: [{ name: 'q', bindings: ['a.b'] }], retryDelaysMs: [10], queueType: 'quorum' };
const REFUSED = Object.assign(new Error('Operation failed: ExchangeDeclare; 403 (ACCESS-REFUSED)'), { code: 403 });

/**
 * A watch over a fake broker that has the whole topology: `broker` holds what exists, `connected` whether the
 * manager has a connection, `channels` every channel the watch opened (its look's own ones come from `openChannel`).
 */
function watching(intervalMs = 1000) {
  const broker = new FakeChannel();
  broker.exchanges.add('ex').add('q.failures');
  for (const d of planTopology(topology)) broker.queues.add(d.name);
  const state = { connected: true, refuseChannel: false, refuseDeclare: undefined as Error | undefined };
  const channels: FakeChannel[] = [];
  const opened = () => {
    const channel = Object.assign(new FakeChannel(), { exchanges: broker.exchanges, queues: broker.queues, refuse: state.refuseDeclare });
    // The fake's assertExchange never refuses: a service user's would (no configure permission).
    if (state.refuseDeclare) channel.assertExchange = () => Promise.reject(state.refuseDeclare);
    channels.push(channel);
    return channel;
  };
  const model = {
    createChannel: async () => {
      if (state.refuseChannel) throw new Error('channel_max reached');
      return opened() as unknown as Channel;
    },
  };
  const connection = {
    get connection() {
      return state.connected ? model : undefined;
    },
  } as unknown as AmqpConnectionManager;
  const missing = new MissingTopology();
  const look = { openChannel: async () => opened() as unknown as Channel, missing };
  const { log, lines } = capturedLog('debug');
  const watch = new TopologyWatch(connection, topology, look, log, intervalMs);
  return { watch, broker, state, channels, missing, lines };
}

const turns = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

describe('TopologyWatch', () => {
  it('names an exchange deleted under a live connection, and clears it once the operator declared it again', async () => {
    const { watch, broker, state, missing, lines } = watching();
    await watch.once();
    assert.deepEqual(missing.list(), []);
    broker.exchanges.delete('ex');
    state.refuseDeclare = REFUSED;
    await watch.once();
    assert.deepEqual(missing.list(), ['exchange ex']);
    assert.deepEqual(lines.find((l) => l.msg === 'topology missing')?.missing, ['exchange ex']);
    broker.exchanges.add('ex');
    await watch.once();
    assert.deepEqual(missing.list(), []);
  });

  it('closes the channel it looked on, and keeps its channel errors to itself', async () => {
    const { watch, channels } = watching();
    await watch.once();
    assert.ok(channels[0]!.calls.includes('close'), 'the first channel is the watch’s own');
    assert.doesNotThrow(() => channels[0]!.emit('error', new Error('NOT_FOUND')));
  });

  it('says nothing about the topology while the broker is away or refuses it a channel', async () => {
    const { watch, state, missing, lines, channels } = watching();
    state.connected = false;
    await watch.once();
    state.connected = true;
    state.refuseChannel = true;
    await watch.once();
    assert.equal(channels.length, 0);
    assert.deepEqual(missing.list(), []);
    assert.deepEqual(lines, []);
  });

  it('logs a look that failed otherwise at debug, closes its channel, and reports nothing missing', async () => {
    const { watch, state, channels, missing, lines } = watching();
    state.refuseDeclare = undefined;
    const failing = new Error('connection closed');
    const original = channels.length;
    // The look's own channel fails on its first check with something other than a 404 or a 403.
    (watch as unknown as { look: { openChannel: () => Promise<Channel> } }).look.openChannel = async () => {
      const channel = new FakeChannel();
      channel.checkExchange = () => Promise.reject(failing);
      return channel as unknown as Channel;
    };
    await watch.once();
    assert.equal(channels.length, original + 1);
    assert.ok(channels.at(-1)!.calls.includes('close'));
    const line = lines.find((l) => l.msg === 'topology look failed');
    assert.equal(line?.err, 'connection closed');
    assert.equal(line?.level, 'debug', 'debug: the connection reports its own loss');
    assert.deepEqual(missing.list(), []);
  });

  describe('on its interval (mocked clock)', () => {
    beforeEach(() => mock.timers.enable({ apis: ['setInterval'] }));
    afterEach(() => mock.timers.reset());

    it('looks once per interval, and no more once stopped', async () => {
      const { watch, channels } = watching(1000);
      watch.start();
      mock.timers.tick(999);
      await turns();
      assert.equal(channels.length, 0, 'not before the interval');
      mock.timers.tick(1);
      await turns();
      const perLook = channels.length;
      assert.ok(perLook > 0);
      mock.timers.tick(1000);
      await turns();
      assert.equal(channels.length, 2 * perLook);
      await watch.stop();
      mock.timers.tick(5000);
      await turns();
      assert.equal(channels.length, 2 * perLook);
    });

    it('skips a tick while a look is still running, and stop waits for it', async () => {
      const { watch } = watching(1000);
      let release!: () => void;
      let looks = 0;
      const model = { createChannel: () => (looks++, new Promise<never>((_, reject) => (release = () => reject(new Error('gone'))))) };
      Object.defineProperty(watch as unknown as object, 'connection', { value: { connection: model } });
      watch.start();
      mock.timers.tick(1000);
      mock.timers.tick(1000);
      mock.timers.tick(1000);
      await turns();
      assert.equal(looks, 1, 'one look at a time');
      let stopped = false;
      const stopping = watch.stop().then(() => (stopped = true));
      await turns();
      assert.equal(stopped, false, 'stop waits for the running look');
      release();
      await stopping;
      mock.timers.tick(1000);
      await turns();
      assert.equal(looks, 1);
    });
  });

  it('does not hold the process open', async () => {
    const { watch } = watching(60_000);
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    watch.start();
    assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, before);
    await watch.stop();
  });
});
