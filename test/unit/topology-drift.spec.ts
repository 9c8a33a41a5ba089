import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel } from 'amqplib';
import { formatPlan } from '../../shared/cli/topology';
import { createOpsServer } from '../../shared/http/ops-server';
import { assertTopology, type QueueDeclaration, type Topology } from '../../shared/messaging/topology';
import { DriftTracker, parseInequivalentArg, ProbeSession } from '../../shared/messaging/topology-drift';
import { topologyProbe } from '../../shared/messaging/topology-probe';
import { createMetrics } from '../../shared/observability/metrics';
import { registerTopologyDriftGauge } from '../../shared/observability/topology-metric';
import { FakeChannel } from './fakes/fake-channel';

describe('topology drift', () => {
  describe('parseInequivalentArg (RabbitMQ 3.10 / 4.x refusal texts)', () => {
    const reply = (text: string) =>
      `Operation failed: QueueDeclare; 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - ${text}"`;

    it('reads a changed value', () => {
      assert.deepEqual(
        parseInequivalentArg(
          reply("inequivalent arg 'x-delivery-limit' for queue 'warren.payment' in vhost 'v': received '9' but current is '8'"),
        ),
        { queue: 'warren.payment', argument: 'x-delivery-limit', declared: '9', actual: '8' },
      );
    });

    it('reads an argument the code no longer sets, with its type', () => {
      assert.deepEqual(
        parseInequivalentArg(
          reply(
            "inequivalent arg 'x-delivery-limit' for queue 'q' in vhost '/': received none but current is the value '8' of type 'byte'",
          ),
        ),
        { queue: 'q', argument: 'x-delivery-limit', declared: 'none', actual: '8' },
      );
    });

    it('is undefined for any other failure', () => {
      assert.equal(parseInequivalentArg('Operation failed: QueueDeclare; 403 (ACCESS-REFUSED)'), undefined);
    });
  });

  it('tracks one drift per queue, cleared when a declaration is accepted; the gauge reads 0 once cleared', async () => {
    const tracker = new DriftTracker();
    const metrics = createMetrics('t');
    registerTopologyDriftGauge(metrics.registry, () => tracker.list());
    tracker.record('b', { queue: 'b', argument: 'x-queue-type', declared: 'quorum', actual: 'classic' });
    tracker.record('a', { queue: 'a', argument: 'x-delivery-limit', declared: '9', actual: '8' });
    assert.deepEqual(
      tracker.list().map((d) => d.queue),
      ['a', 'b'],
    );
    assert.match(await metrics.registry.metrics(), /^warren_topology_drift\{queue="a",argument="x-delivery-limit",service="t"\} 1$/m);
    tracker.record('a', undefined);
    const text = await metrics.registry.metrics();
    assert.match(text, /^warren_topology_drift\{queue="a",argument="x-delivery-limit",service="t"\} 0$/m);
    assert.match(text, /^warren_topology_drift\{queue="b",argument="x-queue-type",service="t"\} 1$/m);
  });

  it('/readyz names the drift but stays 200: the topology check is advisory, and not in warren_readiness_check', async () => {
    const metrics = createMetrics('t');
    const drift = [{ queue: 'q', argument: 'x-delivery-limit', declared: '9', actual: '8' }];
    const app = createOpsServer(metrics.registry, [
      { name: 'redis', ok: () => true },
      { name: 'topology', ok: () => false, detail: () => ({ drift }), advisory: true },
    ]);
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { status: 'ready', checks: { redis: true, topology: false }, details: { topology: { drift } } });
    assert.doesNotMatch(await metrics.registry.metrics(), /warren_readiness_check\{check="topology"/);
    await app.close();
  });

  it('the plan says what to run', () => {
    const text = formatPlan([
      { queue: 'q', service: 's', status: 'drift', argument: 'x-delivery-limit', declared: '9', actual: '8', messages: 3, consumers: 0 },
      { queue: 'q.retry.800', service: 's', status: 'missing' },
      { queue: 'q.dlq', service: 's', status: 'ok', messages: 0, consumers: 0 },
    ]);
    assert.match(text, /^q\s+s\s+drift\s+3\s+x-delivery-limit: 8 -> 9 \(migrate\)$/m);
    assert.match(text, /1 queue\(s\) missing: npm run topology -- apply/);
    assert.match(text, /1 queue\(s\) drift: .*migrate/);
    assert.match(formatPlan([{ queue: 'q', service: 's', status: 'ok', messages: 0 }]), /The broker matches the code\./);
  });

  describe('declaring through a probe: a refused declaration is drift, never a failed set-up', () => {
    const INEQUIVALENT =
      'Operation failed: QueueDeclare; 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - ' +
      "inequivalent arg 'x-delivery-limit' for queue 'q' in vhost '/': received '7' but current is '5'\"";
    const declaration = (name: string): QueueDeclaration => ({
      name,
      options: { durable: true },
      bindings: [],
      failureBinding: { exchange: 'q.failures', routingKey: 'return' },
    });

    /** Opens probe channels on a broker that refuses, lacks or cannot look up the queues named, recording every call in `log`. */
    function broker(refused: Record<string, string> = {}, missing: string[] = [], unreadable: Record<string, string> = {}) {
      const log: string[] = [];
      const opened: EventEmitter[] = [];
      const open = async (): Promise<Channel> => {
        const channel = Object.assign(new EventEmitter(), {
          assertQueue: async (queue: string) => {
            log.push(`assertQueue ${queue}`);
            if (refused[queue]) throw new Error(refused[queue]);
            return { queue, messageCount: 0, consumerCount: 0 };
          },
          checkQueue: async (queue: string) => {
            log.push(`checkQueue ${queue}`);
            if (missing.includes(queue))
              throw new Error(`Operation failed: QueueDeclare; 404 (NOT-FOUND) with message "NOT_FOUND - no queue '${queue}'"`);
            if (unreadable[queue]) throw new Error(unreadable[queue]);
            return { queue, messageCount: 0, consumerCount: 0 };
          },
          close: async () => void log.push(`close channel ${opened.indexOf(channel) + 1}`),
        });
        opened.push(channel);
        log.push(`open channel ${opened.length}`);
        return channel as unknown as Channel;
      };
      return { log, opened, open };
    }

    it('declares on one channel of its own, and opens another only after a refusal closed it', async () => {
      const { log, open } = broker({ q: INEQUIVALENT });
      const session = new ProbeSession(open);
      assert.deepEqual(await session.declare(declaration('q.dlq')), { kind: 'declared' });
      assert.deepEqual(await session.declare(declaration('q')), {
        kind: 'drift',
        drift: { queue: 'q', argument: 'x-delivery-limit', declared: '7', actual: '5' },
      });
      assert.deepEqual(await session.declare(declaration('q.retry.10')), { kind: 'declared' });
      await session.close();
      await session.close();
      assert.deepEqual(log, [
        'open channel 1',
        'assertQueue q.dlq',
        'assertQueue q',
        'open channel 2',
        'assertQueue q.retry.10',
        'close channel 2',
      ]);
    });

    it('fails on any other refusal (no permission), and declares on a fresh channel after it', async () => {
      const refusal = 'Operation failed: QueueDeclare; 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - access to queue \'q\' refused"';
      const { log, open } = broker({ q: refusal, 'q.odd': 'PRECONDITION_FAILED - exclusive queue owned by another connection' });
      const session = new ProbeSession(open);
      await assert.rejects(session.declare(declaration('q')), { message: refusal });
      await assert.rejects(session.declare(declaration('q.odd')), /exclusive queue/, 'a 406 that names no argument is no drift');
      assert.deepEqual(await session.declare(declaration('q.dlq')), { kind: 'declared' });
      assert.deepEqual(
        log.filter((l) => l.startsWith('open')),
        ['open channel 1', 'open channel 2', 'open channel 3'],
      );
    });

    it('only looks when passive: a missing queue is reported, never created; an existing one is compared', async () => {
      const { log, open } = broker({ q: INEQUIVALENT }, ['q.retry.10']);
      const session = new ProbeSession(open);
      assert.deepEqual(await session.declare(declaration('q.retry.10'), true), { kind: 'missing' });
      assert.equal((await session.declare(declaration('q'), true)).kind, 'drift');
      assert.equal(await session.exists('q.dlq'), true);
      assert.ok(!log.includes('assertQueue q.retry.10'), 'the plan creates nothing');
      await assert.rejects(new ProbeSession(broker({}, [], { q: 'Channel closed' }).open).exists('q'), /Channel closed/);
    });

    it("keeps the broker's channel error for itself (an unheard 'error' event would end the process)", async () => {
      const { opened, open } = broker({ q: INEQUIVALENT });
      const session = new ProbeSession(open);
      await session.declare(declaration('q'));
      assert.doesNotThrow(() => opened[0]!.emit('error', new Error('PRECONDITION_FAILED')));
    });

    it('closes quietly a channel the broker has closed already', async () => {
      const session = new ProbeSession(
        async () =>
          Object.assign(new EventEmitter(), {
            assertQueue: async () => ({}),
            close: async () => Promise.reject(new Error('Channel closed')),
          }) as unknown as Channel,
      );
      await session.declare(declaration('q'));
      await session.close();
    });

    it('records drift in the topology and still binds and consumes the queue as it is', async () => {
      const { log, open } = broker({ q: INEQUIVALENT });
      const drift = new DriftTracker();
      drift.record('q.dlq', { queue: 'q.dlq', argument: 'x-queue-type', declared: 'quorum', actual: 'classic' });
      const channel = new FakeChannel();
      const topology: Topology = {
        exchange: 'ex',
        queues: [{ name: 'q', bindings: ['a.b'] }],
        retryDelaysMs: [10],
        queueType: 'quorum',
        probe: { drift, openChannel: async (beside) => (assert.equal(beside, channel), open()) },
      };
      await assertTopology(channel as unknown as Channel, topology);
      assert.deepEqual(
        drift.list().map((d) => `${d.queue} ${d.argument}`),
        ['q x-delivery-limit'],
        'the drifted queue is recorded; one declared as planned now is cleared',
      );
      assert.equal(channel.calls.filter((c) => c.startsWith('assertQueue')).length, 0, 'declared through the probe only');
      assert.ok(channel.calls.includes('bindQueue q ex a.b'), 'the drifted queue is still bound');
      assert.ok(channel.calls.includes('bindQueue q q.failures return'));
      assert.equal(log.at(-1), 'close channel 2', "the probe's channel is closed at the end");
    });
  });

  describe('topologyProbe: the channel to declare on', () => {
    const model = (connection: object, name: string) => ({ connection, createChannel: async () => name });
    const [a, b] = [{ id: 'a' }, { id: 'b' }];
    const managers = (...models: (ReturnType<typeof model> | undefined)[]) =>
      models.map((connection) => ({ connection })) as unknown as AmqpConnectionManager[];

    it('opens it on the connection of the channel being set up, else on any connected one', async () => {
      const probe = topologyProbe(managers(undefined, model(a, 'on a'), model(b, 'on b')));
      assert.equal(await probe.openChannel({ connection: b } as unknown as Channel), 'on b');
      assert.equal(await probe.openChannel({ connection: { id: 'gone' } } as unknown as Channel), 'on a');
    });

    it('fails while no connection is up, and records drift where it is told', async () => {
      await assert.rejects(topologyProbe(managers(undefined)).openChannel({} as Channel), /no broker connection/);
      const drift = new DriftTracker();
      assert.equal(topologyProbe([], drift).drift, drift);
    });
  });
});
