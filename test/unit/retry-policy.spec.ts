import assert from 'node:assert/strict';
import type { Message } from 'amqplib';
import { requeueProperties } from '../../shared/dlq/replay-properties';
import {
  ConflictingEventError,
  DeferredError,
  MalformedMessageError,
  MessageTooLargeError,
  PermanentError,
  PublishError,
  SchemaViolationError,
  TransientError,
  UnknownEventError,
  UnsupportedContentTypeError,
} from '../../shared/errors/errors';
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

  it('redacts the whole token, not its first letter, and bounds a reason to 500 characters', () => {
    assert.equal(describeFailure(new Error('gateway refused tok_visa_4242 for order')).reason, 'gateway refused tok_[redacted] for order');
    assert.equal(describeFailure(new Error('x'.repeat(2000))).reason.length, 500);
  });

  it('defers without spending an attempt, in the longest tier within the wait (tiers in any order)', () => {
    const held = new DeferredError('claim held', 450, 60_000);
    assert.deepEqual(decideFailure(held, 4, [2000, 100, 500]), { kind: 'retry', delayMs: 100, nextAttempt: 4, deferred: true });
    // A wait shorter than every tier: the shortest.
    assert.deepEqual(decideFailure(new DeferredError('held', 50, 60_000), 1, tiers), {
      kind: 'retry',
      delayMs: 100,
      nextAttempt: 1,
      deferred: true,
    });
    // Longer than every tier: the longest, again and again while the wait can be legitimate.
    assert.deepEqual(decideFailure(new DeferredError('held', 9000, 60_000), 1, tiers), {
      kind: 'retry',
      delayMs: 2000,
      nextAttempt: 1,
      deferred: true,
    });
  });

  it('picks the deferral tier by delay, whatever order the tiers are configured in, a tier equal to the wait included', () => {
    const unsorted = [2000, 100, 500];
    const deferredFor = (retryAfterMs: number) =>
      (decideFailure(new DeferredError('held', retryAfterMs, 60_000), 1, unsorted) as { delayMs: number }).delayMs;
    assert.deepEqual([50, 500, 600, 9000].map(deferredFor), [100, 500, 500, 2000]);
  });

  it('with no tiers, puts a deferral back on the queue after a pause instead of dead-lettering it', () => {
    assert.deepEqual(decideFailure(new DeferredError('held', 5000, 60_000), 1, []), { kind: 'requeue', delayMs: 1000 });
  });

  it('past its limit, a deferral is an ordinary transient failure', () => {
    const held = new DeferredError('held', 100, 60_000);
    assert.deepEqual(decideFailure(held, 1, tiers, 60_000), { kind: 'retry', delayMs: 100, nextAttempt: 2 });
    assert.deepEqual(decideFailure(held, 4, tiers, 61_000), { kind: 'dead-letter', reasonCode: 'RETRIES_EXHAUSTED' });
  });

  it('names a failure by its class for the dead letter: every one of its own, an unnamed subclass, a named error, a non-error', () => {
    const own = [
      new PermanentError('x'),
      new TransientError('x'),
      new DeferredError('x', 1, 1),
      new MalformedMessageError('x'),
      new UnsupportedContentTypeError('x'),
      new MessageTooLargeError('x'),
      new SchemaViolationError('x', '/f'),
      new UnknownEventError('x'),
      new ConflictingEventError('x'),
      new PublishError('x', 'nacked'),
    ];
    for (const error of own) assert.equal(describeFailure(error).errorClass, error.constructor.name);
    class GatewayDown extends Error {}
    assert.equal(describeFailure(new GatewayDown('503')).errorClass, 'GatewayDown');
    assert.equal(describeFailure(Object.assign(new Error('aborted'), { name: 'AbortError' })).errorClass, 'AbortError');
    assert.equal(describeFailure(new Error('plain')).errorClass, 'Error');
    assert.deepEqual(describeFailure('a thrown string'), { reason: 'a thrown string', errorClass: 'string' });
  });

  it('dead-letters a permanent failure under its own reason code', () => {
    const codes = [new PermanentError('x'), new ConflictingEventError('x'), new UnknownEventError('x')].map(
      (error) => (decideFailure(error, 1, tiers) as { reasonCode: string }).reasonCode,
    );
    assert.deepEqual(codes, ['PERMANENT', 'CONFLICTING_EVENT', 'UNKNOWN_EVENT']);
  });

  it("puts a dead letter back at the DLQ's tail with its own headers, but not the counts the queue kept of its deliveries", () => {
    const headers = { 'x-delivery-count': 4, 'x-acquired-count': 5, 'x-warren-reason': 'down', traceparent: 'tp' };
    const msg = { content: Buffer.from('{}'), fields: { exchange: '', routingKey: 'q.dlq' }, properties: { messageId: 'm-1', headers } };
    assert.deepEqual(requeueProperties(msg as unknown as Message).headers, { 'x-warren-reason': 'down', traceparent: 'tp' });
  });
});
