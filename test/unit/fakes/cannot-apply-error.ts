import { PermanentError } from '../../../shared/errors/errors';

/**
 * A handler's own permanent failure, shared by the consumer specs: its class and code must travel to the dead letter,
 * so they differ from every class and code Warren defines itself.
 */
export class CannotApplyError extends PermanentError {
  override readonly name = 'CannotApplyError';
  override readonly code = 'CANNOT_APPLY';
}
