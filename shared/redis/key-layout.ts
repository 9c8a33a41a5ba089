import { createHash } from 'node:crypto';
import { isId } from '../events/common';
import { PermanentError } from '../errors/errors';

/** An id that breaks the id rule reached a key builder: refused, never written (a schema missed it). */
export class InvalidIdError extends PermanentError {
  override readonly name = 'InvalidIdError';
  override readonly code = 'INVALID_ID';
}

/**
 * Warren's Redis key layout, so that no value from outside can name a key the services use for something else.
 * Every key is `<prefix><kind>:<rest>`, and:
 * - a record of one id is `<kind>:<id>`, the id obeying the id rule (shared/events/common.ts): no `:`, so it is
 *   one segment and cannot reach into another kind (`order:x:y` is no order's key), and never a leading `_`;
 * - a service's own structures under a kind that holds ids are `<kind>:_<name>` (`order:_deadlines`): no id
 *   starts with `_`, so none is ever one of them;
 * - a value from outside that is not an id (an Idempotency-Key, a gateway's idempotency key) is hashed into its
 *   own kind: `<kind>:<sha256 hex>`.
 * Each builder refuses what breaks the rule, so a path that forgot to validate cannot write a colliding key.
 */
export function idKey(prefix: string, kind: string, id: string): string {
  if (!isId(id)) throw new InvalidIdError(`${kind} id ${JSON.stringify(id.slice(0, 80))} breaks the id rule`);
  return `${prefix}${kind}:${id}`;
}

/** A structure of the service's own beside the records of `kind` (see {@link idKey}). */
export function internalKey(prefix: string, kind: string, name: string): string {
  return `${prefix}${kind}:_${name}`;
}

/** A key for any string from outside: its SHA-256, so its length and alphabet are fixed whatever it holds. */
export function hashedKey(prefix: string, kind: string, value: string): string {
  return `${prefix}${kind}:${createHash('sha256').update(value).digest('hex')}`;
}
