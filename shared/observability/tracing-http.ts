import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { childSpan, parseTraceparent, type TraceContext } from './trace';
import { traceContextOf, tracer } from './tracing';
import { remoteParent } from './tracing-context';

const spans = new WeakMap<FastifyRequest, Span>();

/**
 * With tracing on, every request to this server gets a SERVER span `<METHOD> <route>`, child of the client's
 * `traceparent` if it sent one, and its handler runs under it (so the order's Redis write and its `OrderPlaced`
 * publish are its children). Nothing is added while tracing is off.
 */
export function traceRequests(app: FastifyInstance): void {
  const active = tracer;
  if (!active) return;
  app.addHook('onRequest', (req, _reply, done) => {
    const route = req.routeOptions.url;
    const span = active.startSpan(
      route ? `${req.method} ${route}` : req.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: req.method,
          [ATTR_URL_PATH]: req.url.split('?', 1)[0]!,
          ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}),
        },
      },
      remoteParent(req.headers.traceparent),
    );
    spans.set(req, span);
    done();
  });
  // The last hook before the handler: the body is read by now, and the handler (and all it awaits) runs under the span.
  app.addHook('preHandler', (req, _reply, done) => {
    const span = spans.get(req);
    if (span) context.with(trace.setSpan(context.active(), span), done);
    else done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    const span = spans.get(req);
    if (span) {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
}

/**
 * The trace context a request's work is done under: its SERVER span with tracing on; otherwise a new span id in
 * the client's trace (or a new trace), for the log lines and the outbox entry.
 */
export function requestSpan(req: FastifyRequest): TraceContext {
  const span = spans.get(req);
  return span ? traceContextOf(span) : childSpan(parseTraceparent(req.headers.traceparent));
}
