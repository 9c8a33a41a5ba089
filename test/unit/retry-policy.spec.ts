import assert from 'node:assert/strict';
import { MalformedMessageError, TransientError } from '../../shared/messaging/errors';
import { decideFailure, describeFailure } from '../../shared/messaging/retry-policy';
import { deadLetterQueueName, deliveryLimit, failuresExchangeName, planTopology, retryQueueName } from '../../shared/messaging/topology';

describe('retry policy', () => {
  const tiers = [100, 500, 2000];

  it('walks a transient failure through every tier, then dead-letters it as exhausted', () => {
    assert.deepEqual(decideFailure(new TransientError('x'), 1, tiers), { kind: 'retry', delayMs: 100, nextAttempt: 2 });
    assert.deepEqual(decideFailure(new TransientError('x'), 3, tiers), { kind: 'retry', delayMs: 2000, nextAttempt: 4 });
    assert.deepEqual(decideFailure(new TransientError('x'), 4, tiers), { kind: 'dead-letter', reasonCode: 'RETRIES_EXHAUSTED' });
  });

  it('treats an unknown error as transient', () => {
    assert.equal(decideFailure(new Error('boom'), 1, tiers).kind, 'retry');
  });

  it('dead-letters a permanent failure at once, with its code', () => {
    assert.deepEqual(decideFailure(new MalformedMessageError('bad'), 1, tiers), { kind: 'dead-letter', reasonCode: 'MALFORMED_JSON' });
  });

  it('with no tiers, dead-letters on the first transient failure', () => {
    assert.equal(decideFailure(new TransientError('x'), 1, []).kind, 'dead-letter');
  });

  it('never puts a payment token into a reason', () => {
    const { reason, errorClass } = describeFailure(new TransientError('gateway refused tok_visa_4242 for order'));
    assert.ok(!reason.includes('tok_visa_4242'));
    assert.equal(errorClass, 'TransientError');
  });
});

describe('topology plan', () => {
  it('gives each queue one TTL retry queue per tier, dead-lettering back to that queue only, and a DLQ', () => {
    const plan = planTopology({ exchange: 'ex', queues: [{ name: 'q', bindings: ['a.b'] }], retryDelaysMs: [100, 500], queueType: 'quorum' });
    assert.deepEqual(plan.map((d) => d.name), ['q', retryQueueName('q', 100), retryQueueName('q', 500), deadLetterQueueName('q')]);
    const main = plan[0]!;
    assert.deepEqual(main.bindings, ['a.b']);
    assert.equal(main.options.arguments!['x-queue-type'], 'quorum');
    assert.equal(main.options.arguments!['x-delivery-limit'], deliveryLimit([100, 500]));
    assert.ok(deliveryLimit([100, 500]) > 3, 'the broker limit sits above our retry budget');
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

  it('declares classic queues without quorum-only arguments', () => {
    const plan = planTopology({ exchange: 'ex', queues: [{ name: 'q', bindings: [] }], retryDelaysMs: [100], queueType: 'classic' });
    assert.equal(plan[0]!.options.arguments!['x-delivery-limit'], undefined);
    assert.equal(plan[0]!.options.arguments!['x-dead-letter-strategy'], undefined);
  });
});
