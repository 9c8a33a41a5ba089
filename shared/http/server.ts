import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { traceRequests } from '../observability/tracing-http';
import type { Logger } from '../observability/logger';
import { clientErrorHandler } from './client-errors';
import { frameworkErrorHandler, notFoundHandler, problemErrorHandler, problemOf, sendProblem } from './problem';
import { requestIdOf } from './request-id';

/** Request bodies over this are refused with 413. */
export const BODY_LIMIT_BYTES = 64 * 1024;
/** URLs over this are refused with 414: every route's ids are short. (Over 16 KiB Node refuses them with 431.) */
export const MAX_URL_LENGTH = 2048;
/** How long an idle keep-alive connection stays open. */
const KEEP_ALIVE_TIMEOUT_MS = 5000;

export interface HttpServerOptions {
  /** Where 500s are logged, each with its request id. @defaultValue none: nothing is logged */
  log?: Logger;
  /**
   * A request whose headers and body have not all arrived by then is answered 408 and its connection closed, so
   * slow-body clients cannot hold connections open. @defaultValue 10000
   */
  requestTimeoutMs?: number;
}

/**
 * A Fastify instance with Warren's HTTP conventions: strict schema validation (no type coercion, no silent
 * stripping, so a wrong type is a 400 naming the field), a 64 KiB body limit, request deadlines, a request id per
 * request (`X-Request-Id`, echoed), and problem+json for every error, including those met before routing.
 */
export function createHttpServer(options: HttpServerOptions = {}): FastifyInstance {
  const requestTimeout = options.requestTimeoutMs ?? 10_000;
  const app = Fastify({
    ...(options.log ? { loggerInstance: options.log } : { logger: false }),
    // No line per request (the metrics count them); errors are logged by problemErrorHandler.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId: requestIdOf,
    bodyLimit: BODY_LIMIT_BYTES,
    requestTimeout,
    // Idle sockets (no request in progress) are closed too; keep-alive ones sooner.
    connectionTimeout: requestTimeout + KEEP_ALIVE_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // Node enforces requestTimeout only when it checks, every 30 s by default: a slow body would outlive it.
    http: { headersTimeout: requestTimeout, connectionsCheckingInterval: Math.min(1000, requestTimeout) },
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  }) as unknown as FastifyInstance;
  // First of the hooks, so that a request refused by another (a 414) is traced too. Nothing while tracing is off.
  traceRequests(app);
  app.setErrorHandler(problemErrorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    if (req.url.length > MAX_URL_LENGTH) return sendProblem(reply, problemOf(414, `the URL is longer than ${MAX_URL_LENGTH} characters`));
    return undefined;
  });
  // JSON only: Fastify would otherwise parse text/plain bodies and answer a misleading 400 instead of 415.
  app.removeContentTypeParser('text/plain');
  return app;
}
