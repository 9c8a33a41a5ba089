import assert from 'node:assert/strict';
import {
  deadLetterQueueName,
  deliveryLimit,
  failuresExchangeName,
  planTopology,
  retryQueueName,
  unlimitedDeliveries,
  type Topology,
} from '../../shared/messaging/topology';

const topology = (queueType: Topology['queueType'], retryDelaysMs = [100, 500]): Topology => ({
  exchange: 'ex',
  queues: [{ name: 'q', bindings: ['a.b'] }],
  retryDelaysMs,
  queueType,
});
const RABBITMQ_3 = { version: '3.10.8' };
const RABBITMQ_4 = { version: '4.0.5' };

describe('topology plan', () => {
  it('gives each queue one TTL retry queue per tier, dead-lettering back to that queue only, and a DLQ', () => {
    const plan = planTopology(topology('quorum'), RABBITMQ_3);
    assert.deepEqual(
      plan.map((d) => d.name),
      ['q', retryQueueName('q', 100), retryQueueName('q', 500), deadLetterQueueName('q')],
    );
    const main = plan[0]!;
    assert.deepEqual(main.bindings, ['a.b']);
    assert.equal(main.options.arguments!['x-queue-type'], 'quorum');
    assert.equal(main.options.arguments!['x-dead-letter-strategy'], 'at-least-once');
    const retry = plan[1]!;
    assert.equal(retry.options.arguments!['x-message-ttl'], 100);
    assert.equal(retry.options.arguments!['x-dead-letter-exchange'], 'q.failures');
    assert.equal(retry.options.arguments!['x-dead-letter-routing-key'], 'return');
    assert.deepEqual(main.failureBinding, { exchange: 'q.failures', routingKey: 'return' }, 'only the failing queue takes a retry back');
    assert.equal(main.options.arguments!['x-dead-letter-exchange'], 'q.failures');
    assert.equal(main.options.arguments!['x-dead-letter-routing-key'], 'dlq');
    assert.deepEqual(retry.bindings, [], 'retry queues are not bound to the events exchange: other subscribers never see a retry');
    assert.deepEqual(retry.failureBinding, { exchange: failuresExchangeName('q'), routingKey: 'retry.100' });
    assert.deepEqual(plan[3]!.failureBinding, { exchange: 'q.failures', routingKey: 'dlq' });
  });

  it('caps a main quorum queue above the retry budget, the same on every broker version', () => {
    assert.ok(deliveryLimit([100, 500]) > 3, 'the broker limit sits above our retry budget (attempts = tiers + 1)');
    for (const broker of [RABBITMQ_3, RABBITMQ_4, {}]) {
      assert.equal(
        planTopology(topology('quorum'), broker)[0]!.options.arguments!['x-delivery-limit'],
        deliveryLimit([100, 500]),
        JSON.stringify(broker),
      );
    }
  });

  it("on RabbitMQ 4 declares the retry tiers and the DLQ with an unlimited delivery limit (-1), not 4.x's default of 20", () => {
    const plan = planTopology(topology('quorum'), RABBITMQ_4);
    for (const name of [retryQueueName('q', 100), retryQueueName('q', 500), deadLetterQueueName('q')]) {
      assert.equal(plan.find((d) => d.name === name)!.options.arguments!['x-delivery-limit'], -1, name);
    }
    assert.deepEqual(unlimitedDeliveries({ version: '4.1.0' }), { 'x-delivery-limit': -1 });
    assert.deepEqual(unlimitedDeliveries({ version: '5.0.0-beta.1' }), { 'x-delivery-limit': -1 });
  });

  it('on RabbitMQ 3 sets no limit on them (3.x has none by default, and reads -1 as "drop on the first requeue")', () => {
    const plan = planTopology(topology('quorum'), RABBITMQ_3);
    for (const declaration of plan.slice(1)) assert.equal(declaration.options.arguments!['x-delivery-limit'], undefined, declaration.name);
    assert.deepEqual(unlimitedDeliveries({ version: '3.13.7' }), {});
  });

  it('never sends -1 to a broker whose version it cannot read', () => {
    for (const version of [undefined, '', 'unknown', 'v4']) assert.deepEqual(unlimitedDeliveries({ version }), {}, String(version));
    assert.deepEqual(
      planTopology(topology('quorum'))
        .slice(1)
        .map((d) => d.options.arguments!['x-delivery-limit']),
      [undefined, undefined, undefined],
    );
  });

  it('declares classic queues without quorum-only arguments, on any version', () => {
    for (const broker of [RABBITMQ_3, RABBITMQ_4]) {
      const plan = planTopology(topology('classic', [100]), broker);
      for (const declaration of plan) {
        assert.equal(declaration.options.arguments!['x-queue-type'], 'classic');
        assert.equal(declaration.options.arguments!['x-delivery-limit'], undefined, declaration.name);
        assert.equal(declaration.options.arguments!['x-dead-letter-strategy'], undefined, declaration.name);
      }
    }
  });

  it('declares every queue durable, and binds only the main queue to the events exchange', () => {
    for (const queueType of ['quorum', 'classic'] as const) {
      const plan = planTopology(topology(queueType), RABBITMQ_4);
      for (const declaration of plan) assert.equal(declaration.options.durable, true, declaration.name);
      assert.deepEqual(
        plan.map((d) => d.bindings),
        [['a.b'], [], [], []],
      );
    }
  });

  it('refuses a dead letter beyond a full DLQ rather than dropping its oldest, and a quorum queue refuses a full target', () => {
    for (const queueType of ['quorum', 'classic'] as const) {
      const dlq = planTopology(topology(queueType)).find((d) => d.name === deadLetterQueueName('q'))!;
      assert.equal(dlq.options.arguments!['x-overflow'], 'reject-publish', queueType);
    }
    assert.equal(planTopology(topology('quorum'))[0]!.options.arguments!['x-overflow'], 'reject-publish');
  });

  it('reads the major version whole (a RabbitMQ 10 is past 4), only at the start of the version', () => {
    assert.deepEqual(unlimitedDeliveries({ version: '10.0.0' }), { 'x-delivery-limit': -1 });
    assert.deepEqual(unlimitedDeliveries({ version: 'rc-4.0.0' }), {});
  });
});
