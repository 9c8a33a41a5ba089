import assert from 'node:assert/strict';
import { MalformedMessageError, TransientError } from '../../shared/messaging/errors';
import { decideFailure, describeFailure } from '../../shared/messaging/retry-policy';

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
