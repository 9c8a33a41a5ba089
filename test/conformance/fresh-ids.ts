import { randomUUID } from 'node:crypto';

/**
 * An id no other test used, under the id rule (shared/events/common.ts): a store shared by a run's tests, such as
 * one Redis key prefix, then sees each test's records apart from the others'.
 */
export const freshId = (name: string): string => `${name}-${randomUUID()}`;

/** What a conformance suite is given: a store for one test, fresh or shared, set up and ready. */
export type MakeStore<S> = () => S | Promise<S>;
