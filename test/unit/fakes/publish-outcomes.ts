/** What the publisher specs use to publish and to look at how a publish settled. */
import { PublishError } from '../../../shared/errors/errors';

/** A body of `n` bytes: the buffer bounds count bytes, not messages' meaning. */
export const bytes = (n: number) => Buffer.alloc(n, 'x');

/** A predicate for assert.rejects: a PublishError of this outcome, its message matching when one is given. */
export const isPublishError = (outcome: PublishError['outcome'], message?: RegExp) => (e: unknown) =>
  e instanceof PublishError && e.outcome === outcome && (!message || message.test(e.message));

/** Settles and records a publish's outcome without an unhandled rejection while the test looks elsewhere. */
export function watch(promise: Promise<void>) {
  const state = { outcome: 'pending' as string };
  void promise.then(
    () => (state.outcome = 'resolved'),
    (e: PublishError) => (state.outcome = e.outcome),
  );
  return state;
}
