import Fastify, { type FastifyInstance } from 'fastify';
import { traceRequests } from '../observability/tracing-http';
import { problemErrorHandler } from './problem';

/** Request bodies over this are refused with 413. */
export const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * A Fastify instance with Warren's HTTP conventions: strict schema validation (no type coercion, no silent
 * stripping, so a wrong type is a 400 naming the field), a 64 KiB body limit, and problem+json errors.
 */
export function createHttpServer(): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });
  // First of the hooks, so that a request refused by another (a 414) is traced too. Nothing while tracing is off.
  traceRequests(app);
  app.setErrorHandler(problemErrorHandler);
  // JSON only: Fastify would otherwise parse text/plain bodies and answer a misleading 400 instead of 415.
  app.removeContentTypeParser('text/plain');
  return app;
}
